//go:build !linux

package clock

import (
	"fmt"
	"runtime"
)

// ThreadsFIFO is Linux-only: it reports ErrUnsupported.
func ThreadsFIFO(priority int) error {
	return fmt.Errorf("clock: SCHED_FIFO on %s: %w", runtime.GOOS, ErrUnsupported)
}
