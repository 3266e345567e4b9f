# Praxis: make help lists the targets.
GO       ?= go
BIN      ?= bin/praxis
PKGS     ?= ./...
LDFLAGS  ?= -s -w
DATA     ?= $(CURDIR)/.praxis-data

.PHONY: help build run test test-short bench lint cross release deb test-release clean

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The first build downloads the modules and compiles every dependency: minutes on a slow
# board, so it says so and lists each package as it is compiled (go build -v); later
# builds are quick and quiet.
build: ## build bin/praxis for this machine
	@echo "building $(BIN) (the first build downloads modules and compiles dependencies: it may take a few minutes; packages are listed as they compile)"
	@$(GO) mod download -x 2>&1 | sed -n 's|^# get \(https://.*\.zip\)$$|  download \1|p'
	CGO_ENABLED=0 $(GO) build -v -trimpath -ldflags="$(LDFLAGS)" -o $(BIN) ./cmd/praxis
	@echo "built $(BIN)"

run: build ## the daemon on the simulated SO-101 with the embedded broker and seeded skills
	./scripts/run.sh $(BIN) $(DATA)

# Test artefacts (the dashboard's screenshots: artifacts/dashboard/) are kept here; git ignores it.
ARTIFACTS ?= $(CURDIR)/artifacts

test: lint ## the whole suite, with the race detector; screenshots kept in artifacts/
	./scripts/deps.sh
	PRAXIS_ARTIFACTS=$(ARTIFACTS) $(GO) test -race -count=1 -timeout 12m $(PKGS)
	@echo "test artefacts (dashboard screenshots) in $(ARTIFACTS)"

test-short: ## fast unit tests only
	$(GO) test -short -count=1 $(PKGS)

bench: ## benchmarks with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint: ## gofmt check, go vet, and go.mod/go.sum tidy (go mod tidy -diff)
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy (diff: go mod tidy -diff)"; exit 1; }

# Release stamping: praxis version prints these (cmd/praxis/version.go).
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
DIST     ?= dist
STAMP     = -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)
# target list: GOOS/GOARCH[/GOARM] -> dist/praxis-linux-<arch>
RELEASE_TARGETS ?= linux/amd64 linux/arm64 linux/arm/7

release: ## static stamped binaries for linux/amd64, arm64, armv7 in dist/, with SHA256SUMS
	@mkdir -p $(DIST)
	@set -e; for t in $(RELEASE_TARGETS); do \
	  os=$${t%%/*}; rest=$${t#*/}; arch=$${rest%%/*}; arm=; name=$$arch; \
	  case $$rest in */*) arm=$${rest#*/}; name=$${arch}v$$arm;; esac; \
	  echo "release: $(DIST)/praxis-$$os-$$name"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath \
	    -ldflags="$(LDFLAGS) $(STAMP)" -o $(DIST)/praxis-$$os-$$name ./cmd/praxis; \
	done
	cd $(DIST) && sha256sum praxis-linux-* > SHA256SUMS

cross: release ## alias of release: linux/amd64 too, not only the arm boards

deb: release ## Debian packages (amd64, arm64, armhf) from the release binaries, in dist/
	rm -f $(DIST)/praxis_*.deb
	./packaging/build-deb.sh $(DIST) $(VERSION)
	cd $(DIST) && sha256sum praxis-linux-* praxis_*.deb > SHA256SUMS

test-release: release ## run the arm64/armv7 release binaries under qemu-user and compare with amd64
	./scripts/deps.sh
	PRAXIS_DIST=$(CURDIR)/$(DIST) $(GO) test -count=1 -timeout 15m ./packaging/...

clean: ## remove build output
	rm -rf bin $(DIST)

.PHONY: firmware
firmware: ## AVR firmware .hex/.elf (gcc-avr, avr-libc) and the simavr test harness (libsimavr-dev)
	$(MAKE) -C firmware-bridge/firmware/avr
	$(MAKE) -C firmware-bridge/simavr
