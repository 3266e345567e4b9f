# Praxis: make help lists the targets.
GO       ?= go
BIN      ?= bin/praxis
PKGS     ?= ./...
LDFLAGS  ?= -s -w
DATA     ?= $(CURDIR)/.praxis-data

.PHONY: help build run test test-short bench lint cross clean

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/praxis for this machine
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o $(BIN) ./cmd/praxis

run: build ## the daemon on the simulated SO-101 with the embedded broker and seeded skills
	./scripts/run.sh $(BIN) $(DATA)

test: lint ## the whole suite, with the race detector
	./scripts/deps.sh
	$(GO) test -race -count=1 -timeout 12m $(PKGS)

test-short: ## fast unit tests only
	$(GO) test -short -count=1 $(PKGS)

bench: ## benchmarks with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

cross: ## static binaries for linux/arm64 and linux/arm (v7) in bin/
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/praxis-linux-arm64 ./cmd/praxis
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/praxis-linux-armv7 ./cmd/praxis
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/praxis-linux-amd64 ./cmd/praxis

clean: ## remove build output
	rm -rf bin

.PHONY: firmware
firmware: ## AVR firmware .hex/.elf (gcc-avr, avr-libc) and the simavr test harness (libsimavr-dev)
	$(MAKE) -C firmware-bridge/firmware/avr
	$(MAKE) -C firmware-bridge/simavr
