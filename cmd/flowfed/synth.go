package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowfed/flowfed/testnet/synth"
)

const synthUsage = `
Usage: flowfed synth [--flows N] OUT.pcap

Writes a synthetic capture to try flowfed on without real traffic: per flow group
a TCP connection (handshake, teardown), a DNS query with its answer, and an IPv6
UDP exchange, all between documentation addresses (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 2001:db8::/32). It never overwrites a file.

Example:
  flowfed synth --flows 50 sample.pcap && flowfed flows --raw sample.pcap
`

func runSynth(_ context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "synth", synthUsage)
	n := fl.Int("flows", 20, "number of flow `groups` (each: TCP, DNS, IPv6 UDP)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return usagef("need exactly one output file")
	}
	if *n < 1 || *n > 20000 {
		return usagef("--flows must be between 1 and 20000")
	}
	out := fl.Arg(0)
	tmp, err := os.CreateTemp(filepath.Dir(out), ".synth-*.pcap")
	if err != nil {
		return fmt.Errorf("creating output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := synth.WriteCapture(tmp, *n); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	// Link, not rename: it fails instead of replacing an existing file.
	if err := os.Link(tmp.Name(), out); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d packets\n", out, *n*9)
	return nil
}
