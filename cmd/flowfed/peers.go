package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/node"
)

const peersUsage = `
Usage:
  flowfed peers list [--dir D]
  flowfed peers add [--dir D] --org NAME [--group G]... PEER-ID|MULTIADDR/p2p/PEER-ID
  flowfed peers remove [--dir D] PEER-ID

Lists, adds and removes the members of the federation. The node refuses every
connection from a peer that is not listed, and confirms each member with a signed
handshake. A member's peer ID is printed by 'flowfed init' and 'flowfed run'.
Who receives what is the sharing policy's business (flowfed policy --help): its
peers and groups decide; --group here is a label for peers list.
While the node runs, the change goes through its admin API and applies at once.

Example:
  flowfed peers add --dir ./node1 --org ORG-B /ip4/127.0.0.1/tcp/4002/p2p/12D3KooW...
`

func runPeers(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fl := newFlagSet(e, "peers", peersUsage)
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		return usagef("want list, add or remove")
	}
	sub, args := args[0], args[1:]
	fl := newFlagSet(e, "peers "+sub, peersUsage)
	var df dataFlags
	df.register(fl, e)
	org := fl.String("org", "", "the member's organisation `name`")
	var groups listFlag
	fl.Var(&groups, "group", "a `group` label shown in peers list (repeatable); sharing groups are set in the policy file")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	client, err := node.Dial(df.dir)
	if err != nil && !errors.Is(err, node.ErrNotRunning) {
		return err
	}
	switch sub {
	case "list":
		ps, err := listPeers(ctx, client, df.dir)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PEER\tORG\tGROUPS\tCONNECTED\tCURSOR\tADDRS")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%s\n", p.ID, p.Org, strings.Join(p.Groups, ","), p.Connected, p.Cursor, strings.Join(p.Addrs, " "))
		}
		return tw.Flush()
	case "add":
		if fl.NArg() != 1 {
			return usagef("need one peer ID or multiaddr ending in /p2p/PEER-ID")
		}
		if *org == "" {
			return usagef("--org is required: name the member's organisation")
		}
		id, addrs, err := parsePeerArg(fl.Arg(0))
		if err != nil {
			return usagef("%v", err)
		}
		req := node.PeerRequest{ID: id.String(), Org: *org, Groups: groups, Addrs: addrs}
		// Say whether this lists a new member or changes one.
		verb := "added"
		known, err := listPeers(ctx, client, df.dir)
		if err != nil {
			return err
		}
		for _, k := range known {
			if k.ID == id.String() {
				verb = "updated"
				if k.Org != *org {
					verb = fmt.Sprintf("updated (organisation was %s)", k.Org)
				}
			}
		}
		if client != nil {
			err = client.AddPeer(ctx, req)
		} else {
			err = withStore(df.dir, func(st *store.Store) error {
				return st.PutPeer(store.Peer{ID: string(id), Org: *org, Groups: groups, Addrs: addrs})
			})
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s %s (%s)\n", verb, id, *org)
		return nil
	case "remove":
		if fl.NArg() != 1 {
			return usagef("need one peer ID")
		}
		id, err := peer.Decode(fl.Arg(0))
		if err != nil {
			return usagef("peer ID %q: %v", fl.Arg(0), err)
		}
		if client != nil {
			err = client.RemovePeer(ctx, id.String())
		} else {
			err = withStore(df.dir, func(st *store.Store) error { return st.DeletePeer(string(id)) })
		}
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s is not a member", id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed %s\n", id)
		return nil
	}
	return usagef("unknown subcommand %q: want list, add or remove", sub)
}

// parsePeerArg reads a peer ID, or a multiaddr ending in /p2p/ID.
func parsePeerArg(s string) (peer.ID, []string, error) {
	if !strings.HasPrefix(s, "/") {
		id, err := peer.Decode(s)
		return id, nil, err
	}
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return "", nil, fmt.Errorf("multiaddr %q: %v", s, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		return "", nil, fmt.Errorf("multiaddr %q must end in /p2p/PEER-ID: %v", s, err)
	}
	var addrs []string
	for _, a := range info.Addrs {
		addrs = append(addrs, a.String())
	}
	return info.ID, addrs, nil
}

// withStore opens the data directory's store (no node running) for fn.
func withStore(dir string, fn func(st *store.Store) error) error {
	if _, err := os.Stat(filepath.Join(dir, node.VaultFile)); err != nil {
		return fmt.Errorf("no node in %s: run 'flowfed init --dir %s' first", dir, dir)
	}
	st, err := store.Open(filepath.Join(dir, node.StoreFile), store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w; if no node runs, another flowfed command holds the store", err)
		}
		return err
	}
	defer st.Close()
	return fn(st)
}

// listPeers lists the members through the running node (client), else
// from the data directory.
func listPeers(ctx context.Context, client *node.Client, dir string) ([]node.PeerStatus, error) {
	if client != nil {
		return client.Peers(ctx)
	}
	var ps []node.PeerStatus
	err := withStore(dir, func(st *store.Store) error {
		members, err := st.Peers()
		for _, m := range members {
			cur, _ := st.Cursor(m.ID)
			ps = append(ps, node.PeerStatus{ID: peer.ID(m.ID).String(), Org: m.Org, Groups: m.Groups, Addrs: m.Addrs, Cursor: cur})
		}
		return err
	})
	return ps, err
}
