package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/flowfed/flowfed/testnet"
)

const testnetUsage = `
Usage: flowfed testnet [--nodes N] [--pcap DIR | --packets N] [--keep DIR] [--k K] [-v]

Runs the main job of a federation on this machine: N organisations (default 3),
each a complete node on 127.0.0.1 with its own keys and data directory. Each
ingests its own traffic (synthesized from its own address range, or the real
captures in --pcap DIR split across the organisations), pseudonymizes it under its
own epoch key, builds a labeled flow dataset under the k-threshold, creates
indicators (TLP:AMBER and GREEN to share, one TLP:RED to keep), and publishes.
The others receive over libp2p, verify the signatures and store. A table shows
per organisation what it sent, received and rejected, then a check that no raw
address of one organisation is in another's data directory. The exit status is
non-zero when any of that fails. With --keep, the nodes' data directories stay for
inspection (their vault passphrase is "flowfed testnet node"), for example
'flowfed datasets list --dir DIR/ORG-B'.

Example:
  flowfed testnet
  flowfed testnet --pcap ../shared/data/pcap/dev --keep ./fed
`

func runTestnet(ctx context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "testnet", testnetUsage)
	nodes := fl.Int("nodes", 3, "`N` organisations (2 to 16)")
	pcapDir := fl.String("pcap", "", "`directory` of real captures to split across the organisations")
	keep := fl.String("keep", "", "keep the data directories in `dir` (default: a temporary directory, removed)")
	k := fl.Int("k", 0, "k-threshold of the datasets (default 10; 2 with --pcap)")
	packets := fl.Int("packets", 6000, "`N` packets of synthetic traffic per organisation")
	verbose := fl.Bool("v", false, "print the nodes' logs")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		return usagef("testnet takes no arguments")
	}
	if *nodes < 2 || *nodes > 16 {
		return usagef("--nodes must be between 2 and 16")
	}
	if *keep != "" {
		if ents, err := os.ReadDir(*keep); err == nil && len(ents) > 0 {
			return usagef("--keep %s: the directory is not empty (a testnet kept before?): give a new or empty one", *keep)
		}
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	start := time.Now()
	rep, err := testnet.Scenario{Nodes: *nodes, PcapDir: *pcapDir, Dir: *keep, K: *k, Packets: *packets, Logger: log}.Run(ctx, e.stdout)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errInterrupted
		}
		return err
	}
	fmt.Fprintf(e.stdout, "(%.1f s)\n", time.Since(start).Seconds())
	if *keep != "" {
		fmt.Fprintf(e.stdout, "data directories kept in %s\n", rep.Dir)
	}
	if !rep.OK() {
		return testnet.ErrScenarioFailed
	}
	return nil
}
