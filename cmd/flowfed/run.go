package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/flowfed/flowfed/node"
)

const runUsage = `
Usage: flowfed run [--dir D] [--listen ADDR]... [--admin HOST:PORT] [--org NAME]

Runs the node: the libp2p host (TCP with Noise and TLS, yamux), the flowfed
protocols (notify, sync, fetch) with the members listed by 'flowfed peers add',
the anti-entropy pull, dataset fetches, the retention reaper, and the admin API
on loopback that the other commands use while the node runs (bearer token in
D/admin.token, address in D/admin.addr, Prometheus metrics at /metrics).

Settings come from D/config.yaml (written with the defaults on first run; unknown
keys are refused); flags override it. Stop with Ctrl-C or SIGTERM.

Config keys and defaults:
  version: 1                      format version
  org: ""                         this member's organisation
  federation: flowfed             peers of another federation are refused
  listen: [/ip4/127.0.0.1/tcp/0]  libp2p listen addresses
  quic: false                     also listen on QUIC (not with psk_file)
  psk_file: ""                    federation pre-shared key (64 hex digits): private network, TCP only
  admin: 127.0.0.1:0              admin API address (loopback only)
  pseudo_mode: cryptopan          address pseudonymization of ingested captures
  sync_interval: 30s              anti-entropy pull from every member
  retention_interval: 1h          retention reaper period (expired artifacts deleted everywhere)
  key_retention: 0s               crypto-shred epoch keys this long after their epoch (0: keep)
  stream_timeout: 30s             deadline of every protocol stream
  policy_file: ""                 sharing policy (default: members get TLP CLEAR/GREEN/AMBER)
  log_level: info                 debug, info, warn or error

Example:
  flowfed run --dir ./node1 --org ORG-A --listen /ip4/127.0.0.1/tcp/4001
`

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func runRun(ctx context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "run", runUsage)
	var df dataFlags
	df.register(fl, e)
	var listen listFlag
	fl.Var(&listen, "listen", "libp2p listen `multiaddr` (repeatable)")
	admin := fl.String("admin", "", "admin API `address` on loopback")
	org := fl.String("org", "", "organisation `name`")
	logLevel := fl.String("log-level", "", "debug, info, warn or error")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		return usagef("run takes no arguments")
	}
	cfg, err := node.LoadConfig(df.dir)
	if err != nil {
		return err
	}
	if len(listen) > 0 {
		cfg.Listen = listen
	}
	if *admin != "" {
		cfg.Admin = *admin
	}
	if *org != "" {
		cfg.Org = *org
	}
	if *logLevel != "" {
		cfg.LogLevel = *logLevel
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if _, err := node.Dial(df.dir); err == nil {
		return fmt.Errorf("a node is already running on %s", df.dir)
	}
	v, err := openVault(e, &df)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := node.WriteConfig(df.dir, cfg); err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	n, err := node.Open(node.Options{Dir: df.dir, Vault: v, Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "node %s (%s) listening on:\n", n.ID(), cfg.Org)
	for _, a := range n.Addrs() {
		fmt.Fprintf(e.stdout, "  %s\n", a)
	}
	return n.Run(ctx)
}
