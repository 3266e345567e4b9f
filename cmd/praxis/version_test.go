package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	old := [3]string{version, commit, buildDate}
	defer func() { version, commit, buildDate = old[0], old[1], old[2] }()
	version, commit, buildDate = "v1.2.3", "abc123", "2026-12-01T00:00:00Z"
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := "praxis v1.2.3\ncommit:     abc123\nbuilt:      2026-12-01T00:00:00Z\ngo:         " + runtime.Version() +
		"\nplatform:   " + runtime.GOOS + "/" + runtime.GOARCH
	if !strings.HasPrefix(out.String(), want) {
		t.Fatalf("version printed\n%s\nwant\n%s", out.String(), want)
	}
	root = newRootCmd()
	root.SetArgs([]string{"version", "extra"})
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.Execute(); err == nil {
		t.Fatal("version with an argument must fail")
	}
}
