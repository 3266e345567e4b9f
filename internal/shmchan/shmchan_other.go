//go:build !linux

package shmchan

import (
	"errors"
	"os"
	"time"
)

var errUnsupported = errors.New("shmchan: shared memory channels need Linux")

// Create is Linux-only.
func Create(slots int) (*Chan, error) { return nil, errUnsupported }

// Open is Linux-only.
func Open(f *os.File) (*Chan, error) { return nil, errUnsupported }

// Close does nothing off Linux.
func (c *Chan) Close() error { return nil }

var epoch = time.Now()

// MonoNs returns a monotonic time in ns (this process only, off Linux).
func MonoNs() int64 { return int64(time.Since(epoch)) }
