package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Build stamps, set by the release build through -ldflags "-X main.version=... -X
// main.commit=... -X main.buildDate=..." (see make release). A plain go build leaves the
// defaults, and commit falls back to the VCS revision Go recorded, if any.
var (
	version   = "dev"     // release version, e.g. v0.3.0 (git describe)
	commit    = "unknown" // git commit hash
	buildDate = "unknown" // UTC build time, RFC 3339
)

// buildInfo is what `praxis version` prints.
type buildInfo struct {
	Version, Commit, Date, Go, OS, Arch string
}

// currentBuild returns the stamped build information, filling a missing commit from
// the Go build info.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: buildDate, Go: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH}
	if b.Commit == "unknown" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					b.Commit = s.Value
				}
			}
		}
	}
	if runtime.GOARCH == "arm" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "GOARM" {
					b.Arch += "/v" + s.Value
				}
			}
		}
	}
	return b
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go version and platform",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := currentBuild()
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "praxis %s\ncommit:     %s\nbuilt:      %s\ngo:         %s\nplatform:   %s/%s\n",
				b.Version, b.Commit, b.Date, b.Go, b.OS, b.Arch)
			return err
		},
	}
}
