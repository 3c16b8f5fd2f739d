package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/protocol"
)

// fastKDF keeps vault creation quick for throw-away nodes; real nodes use the
// default Argon2id parameters.
var fastKDF = keyvault.KDFParams{MemoryKiB: 64, Time: 1, Threads: 1}

// passphrase of every testnet vault: the nodes are throw-away.
var passphrase = []byte("flowfed testnet node")

// Options shape a testnet.
type Options struct {
	// Nodes is the number of nodes (default 3).
	Nodes int
	// Dir holds one data directory per node; empty means a new temporary
	// directory, removed by Close.
	Dir string
	// Orgs names the nodes' organisations (default ORG-A, ORG-B, ...).
	Orgs []string
	// Groups lists, per node, its sharing groups.
	Groups [][]string
	// Logger receives every node's log, tagged with its org.
	Logger *slog.Logger
	// Configure adjusts a node's config before it starts.
	Configure func(i int, cfg *node.Config)
	// Decider, when set, returns the egress policy hook of node i.
	Decider func(i int) protocol.Decider
	// Now is the nodes' clock (default time.Now).
	Now func() time.Time
	// Isolated skips the introductions: the nodes know no members.
	Isolated bool
}

// Net is a running testnet.
type Net struct {
	Nodes []*Node
	dir   string
	temp  bool
	opts  Options
}

// Node is one member of a testnet.
type Node struct {
	*node.Node
	Index int
	Org   string
	Dir   string
	Vault *keyvault.Vault
	cfg   node.Config

	cancel context.CancelFunc
	done   chan error
}

// Start creates and starts the nodes, lists every node as a member of every
// other, connects them and confirms membership with the handshake.
func Start(ctx context.Context, opts Options) (*Net, error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Nodes < 1 || opts.Nodes > 64 {
		return nil, fmt.Errorf("testnet: %d nodes (want 1 to 64)", opts.Nodes)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	net := &Net{dir: opts.Dir, opts: opts}
	if net.dir == "" {
		d, err := os.MkdirTemp("", "flowfed-testnet-")
		if err != nil {
			return nil, err
		}
		net.dir, net.temp = d, true
	}
	for i := range opts.Nodes {
		n, err := net.create(i)
		if err != nil {
			net.Close()
			return nil, err
		}
		net.Nodes = append(net.Nodes, n)
	}
	if opts.Isolated {
		return net, nil
	}
	if err := net.introduce(ctx); err != nil {
		net.Close()
		return nil, err
	}
	return net, nil
}

// New starts a testnet of n nodes for a test: logs go to t.Logf, data
// directories to t.TempDir, and Close runs at the test's end.
func New(t testing.TB, n int, opts ...func(*Options)) *Net {
	t.Helper()
	o := Options{Nodes: n, Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	net, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("starting testnet: %v", err)
	}
	t.Cleanup(func() {
		if err := net.Close(); err != nil {
			t.Errorf("closing testnet: %v", err)
		}
	})
	return net
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Logf("%s", p)
	return len(p), nil
}

// OrgName is the default organisation name of node i: ORG-A, ORG-B, ...
func OrgName(i int) string {
	if i < 26 {
		return "ORG-" + string(rune('A'+i))
	}
	return fmt.Sprintf("ORG-%d", i+1)
}

func (net *Net) create(i int) (*Node, error) {
	org := OrgName(i)
	if i < len(net.opts.Orgs) {
		org = net.opts.Orgs[i]
	}
	dir := filepath.Join(net.dir, org)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	v, err := keyvault.Create(filepath.Join(dir, node.VaultFile), passphrase, keyvault.Options{KDF: fastKDF})
	if err != nil {
		return nil, fmt.Errorf("%s: creating vault: %w", org, err)
	}
	cfg := node.DefaultConfig()
	cfg.Org = org
	cfg.Federation = "testnet"
	cfg.SyncInterval = node.Duration(2 * time.Second)
	cfg.StreamTimeout = node.Duration(20 * time.Second)
	if net.opts.Configure != nil {
		net.opts.Configure(i, &cfg)
	}
	if err := node.WriteConfig(dir, cfg); err != nil {
		v.Close()
		return nil, err
	}
	n := &Node{Index: i, Org: org, Dir: dir, Vault: v, cfg: cfg}
	if err := net.start(n); err != nil {
		v.Close()
		return nil, err
	}
	return n, nil
}

// start opens the node on its data directory and runs it.
func (net *Net) start(n *Node) error {
	var dec protocol.Decider
	if net.opts.Decider != nil {
		dec = net.opts.Decider(n.Index)
	}
	nd, err := node.Open(node.Options{Dir: n.Dir, Vault: n.Vault, Config: n.cfg, Logger: net.opts.Logger.With("org", n.Org), Decider: dec, Now: net.opts.Now})
	if err != nil {
		return fmt.Errorf("%s: %w", n.Org, err)
	}
	n.Node = nd
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- nd.Run(ctx) }()
	return nil
}

// introduce lists every node as a member of every other and connects them.
func (net *Net) introduce(ctx context.Context) error {
	for _, a := range net.Nodes {
		for _, b := range net.Nodes {
			if a == b {
				continue
			}
			var groups []string
			if b.Index < len(net.opts.Groups) {
				groups = net.opts.Groups[b.Index]
			}
			if err := a.AddPeer(store.Peer{ID: string(b.ID()), Org: b.Org, Groups: groups, Addrs: b.listenAddrs()}); err != nil {
				return err
			}
		}
	}
	for i, a := range net.Nodes {
		for _, b := range net.Nodes[i+1:] {
			if err := a.Connect(ctx, b.ID()); err != nil {
				return fmt.Errorf("%s → %s: %w", a.Org, b.Org, err)
			}
		}
	}
	return nil
}

// listenAddrs are the node's addresses without the /p2p part.
func (n *Node) listenAddrs() []string {
	var out []string
	for _, a := range n.Addrs() {
		if i := len(a) - len("/p2p/"+n.ID().String()); i > 0 {
			out = append(out, a[:i])
		}
	}
	return out
}

// Stop stops node i (as a clean shutdown) and keeps its data directory.
func (net *Net) Stop(i int) error {
	n := net.Nodes[i]
	if n.Node == nil {
		return nil
	}
	n.cancel()
	err := <-n.done
	n.Node = nil
	return err
}

// Restart starts a stopped node again on the same data directory and
// address book; it connects to the others itself.
func (net *Net) Restart(ctx context.Context, i int) error {
	n := net.Nodes[i]
	if n.Node != nil {
		return errors.New("testnet: node is running")
	}
	if err := net.start(n); err != nil {
		return err
	}
	// Peers learn the new listen address.
	for _, o := range net.Nodes {
		if o == n || o.Node == nil {
			continue
		}
		if err := o.AddPeer(store.Peer{ID: string(n.ID()), Org: n.Org, Addrs: n.listenAddrs()}); err != nil {
			return err
		}
		if err := n.Connect(ctx, o.ID()); err != nil {
			return fmt.Errorf("%s → %s: %w", n.Org, o.Org, err)
		}
	}
	return nil
}

// Close stops every node, closes the vaults and removes a temporary directory.
func (net *Net) Close() error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range net.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := net.Stop(i)
			mu.Lock()
			errs = append(errs, err, net.Nodes[i].Vault.Close())
			mu.Unlock()
		}()
	}
	wg.Wait()
	if net.temp {
		errs = append(errs, os.RemoveAll(net.dir))
	}
	return errors.Join(errs...)
}

// Dir is the directory holding the nodes' data directories.
func (net *Net) Dir() string { return net.dir }

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

var _ = peer.ID("")
