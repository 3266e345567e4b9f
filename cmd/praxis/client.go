package main

import "github.com/spf13/cobra"

// STUB: replaced by the real commands that talk to a running daemon over MQTT.
func newClientCmds() []*cobra.Command { return nil }
