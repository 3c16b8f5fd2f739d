package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/node"
)

const initUsage = `
Usage: flowfed init [--dir D] [--org NAME] [--period day|week|month] [--passphrase-file F]

Creates the node's data directory with its key vault: a master key sealed under
your passphrase, the node identity (Ed25519, libp2p format) and the first epoch
key for pseudonyms. Prints the peer ID that other members list you by.
--org names your organisation (kept in D/config.yaml): it is the originator of
the indicators and sightings you create, and what peers see in the handshake.
It refuses to touch an existing vault.

Example:
  FLOWFED_PASSPHRASE='correct horse battery staple' flowfed init --dir ./node1 --org CERT-A --period week
`

func runInit(_ context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "init", initUsage)
	var df dataFlags
	df.register(fl, e)
	period := fl.String("period", keyvault.DefaultPeriod.String(), "epoch `period` of pseudonymization keys: day, week or month")
	org := fl.String("org", "", "your organisation's `name`")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected argument %q", fl.Arg(0))
	}
	p, err := keyvault.ParsePeriod(*period)
	if err != nil {
		return usagef("--period: %v", err)
	}
	if _, err := os.Stat(df.vaultPath()); err == nil {
		return fmt.Errorf("%s already exists: flowfed init never overwrites it (use another --dir)", df.vaultPath())
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", df.vaultPath(), err)
	}
	pass, err := passphraseSource{file: df.passphraseFile, envVar: "FLOWFED_PASSPHRASE", label: "New vault passphrase", confirm: true}.read(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(df.dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	if *org != "" {
		cfg, err := node.LoadConfig(df.dir)
		if err != nil {
			return err
		}
		cfg.Org = *org
		if err := cfg.Validate(); err != nil {
			return usagef("--org: %v", err)
		}
		if err := node.WriteConfig(df.dir, cfg); err != nil {
			return err
		}
	}
	v, err := keyvault.Create(df.vaultPath(), pass, keyvault.Options{Period: p})
	if err != nil {
		return err
	}
	defer v.Close()
	id, err := v.PeerID()
	if err != nil {
		return err
	}
	ek, err := v.EpochFor(time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s\npeer ID     %s\nepoch key   %s (%s, until %s)\n",
		df.vaultPath(), id, ek.ID(), v.Period(), ek.End().UTC().Format(time.RFC3339))
	return recordKey(df.dir, "created", fmt.Sprintf("node identity %s and epoch key %s created", id, ek.ID()))
}
