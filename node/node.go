package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/protocol"
)

// File names in a data directory.
const (
	VaultFile = "vault.db"
	StoreFile = "store.db"
	// AdminAddrFile holds the admin API's address while the node runs.
	AdminAddrFile = "admin.addr"
	// AdminTokenFile holds the admin API's bearer token.
	AdminTokenFile = "admin.token"
)

// Options are what Open needs besides the data directory's files.
type Options struct {
	// Dir is the data directory (vault.db, store.db, config.yaml, admin.token).
	Dir string
	// Vault is the unlocked vault of Dir; the node uses it until Close and
	// does not close it.
	Vault *keyvault.Vault
	// Config holds the settings (LoadConfig, then flags).
	Config Config
	// Logger receives the node's log; nil discards it.
	Logger *slog.Logger
	// Decider overrides the egress policy hook (tests); nil uses the policy
	// file named in Config, else the default (members get CLEAR/GREEN/AMBER).
	Decider protocol.Decider
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Node is a running member of the federation: its store, keys, libp2p host and
// protocol service. Its methods are safe for concurrent use.
type Node struct {
	dir   string
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	vault *keyvault.Vault
	st    *store.Store
	// refused and unreached hold the peers whose refusal or unreachability
	// was logged (peer.ID to true).
	refused, unreached sync.Map
	refusedCount       atomic.Int32
	key                crypto.PrivKey
	id                 peer.ID
	host               host.Host
	svc                *protocol.Service
	dec                protocol.Decider

	mu      sync.RWMutex
	members map[peer.ID]store.Peer
	heads   map[peer.ID]uint64 // latest head a peer announced

	vars    variants
	pulls   chan peer.ID
	fetches chan fetchJob
	// notifies asks the notify worker to announce our head to every member.
	notifies chan struct{}
	stats    nodeStats

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup
}

// ErrClosed is returned by operations on a closed node.
var ErrClosed = errors.New("node is closed")

// Open opens the data directory's store, starts the libp2p host and registers
// the protocols. Call Run to start the services and Close to stop.
func Open(opts Options) (*Node, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Vault == nil {
		return nil, errors.New("opening node: no vault")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	key, err := opts.Vault.Identity()
	if err != nil {
		return nil, fmt.Errorf("reading node identity: %w", err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	st, err := store.Open(filepath.Join(opts.Dir, StoreFile), store.Options{})
	if err != nil {
		return nil, err
	}
	n := &Node{
		dir: opts.Dir, cfg: opts.Config, log: log, now: now, vault: opts.Vault, st: st, key: key, id: id,
		members: map[peer.ID]store.Peer{}, heads: map[peer.ID]uint64{},
		pulls: make(chan peer.ID, 64), fetches: make(chan fetchJob, 256), notifies: make(chan struct{}, 1), closed: make(chan struct{}),
	}
	if err := n.loadMembers(); err != nil {
		st.Close()
		return nil, err
	}
	n.dec = opts.Decider
	if n.dec == nil {
		if n.dec, err = n.loadDecider(); err != nil {
			st.Close()
			return nil, err
		}
	}
	var psk []byte
	if opts.Config.PSKFile != "" {
		if psk, err = readPSK(opts.Config.PSKFile); err != nil {
			st.Close()
			return nil, err
		}
	}
	h, err := protocol.NewHost(protocol.HostConfig{
		Key: key, Listen: opts.Config.Listen, PSK: psk, QUIC: opts.Config.QUIC, IsMember: n.IsMember, Refused: n.refusedPeer,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("starting libp2p host: %w", err)
	}
	n.host = h
	for _, m := range n.Members() {
		n.learnAddrs(m)
	}
	n.svc = protocol.New(h, key, (*backend)(n), protocol.Config{
		Decider: n.dec, StreamTimeout: time.Duration(opts.Config.StreamTimeout),
		Federation: opts.Config.Federation, Org: opts.Config.Org, Clock: now, Admit: n.admit,
	})
	return n, nil
}

// admit checks a member's handshake against its listing: the organisation
// it signs must be the one it is listed with.
func (n *Node) admit(info protocol.PeerInfo) error {
	if err := n.checkListing(info); err != nil {
		n.unreachable(info.Peer, err)
		return fmt.Errorf("handshake from %s: %w", info.Peer, err)
	}
	return nil
}

// checkListing checks what a signed handshake says against the member's
// listing: the organisation must be the one it is listed with.
func (n *Node) checkListing(info protocol.PeerInfo) error {
	if m, ok := n.Member(info.Peer); ok && m.Org != "" && info.Org != "" && info.Org != m.Org {
		return fmt.Errorf("it says it is %q, but it is listed as a member of %q: %w (%w)", info.Org, m.Org, protocol.ErrNotMember, errOrgMismatch)
	}
	return nil
}

// readPSK reads a private-network key: 64 hex digits (32 bytes).
func readPSK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading federation key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("federation key %s: want 64 hex digits (32 bytes)", path)
	}
	return k, nil
}

func (n *Node) loadMembers() error {
	ps, err := n.st.Peers()
	if err != nil {
		return fmt.Errorf("reading members: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range ps {
		n.members[peer.ID(p.ID)] = p
	}
	return nil
}

// ID is the node's peer ID.
func (n *Node) ID() peer.ID { return n.id }

// Org is the node's organisation.
func (n *Node) Org() string { return n.cfg.Org }

// Dir is the node's data directory.
func (n *Node) Dir() string { return n.dir }

// Store is the node's open store (tests and in-process tools).
func (n *Node) Store() *store.Store { return n.st }

// Addrs are the node's listen addresses with its peer ID.
func (n *Node) Addrs() []string {
	var out []string
	for _, a := range n.host.Addrs() {
		out = append(out, a.String()+"/p2p/"+n.id.String())
	}
	return out
}

// IsMember reports whether p is a listed member of the federation.
func (n *Node) IsMember(p peer.ID) bool {
	if p == n.id {
		return true
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	_, ok := n.members[p]
	return ok
}

// Member returns a member's record.
func (n *Node) Member(p peer.ID) (store.Peer, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	m, ok := n.members[p]
	return m, ok
}

// Members lists the members.
func (n *Node) Members() []store.Peer {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]store.Peer, 0, len(n.members))
	for _, m := range n.members {
		out = append(out, m)
	}
	return out
}

// AddPeer lists a member (by peer ID, with organisation, groups and
// addresses), persistently.
func (n *Node) AddPeer(p store.Peer) error {
	if _, err := peer.IDFromBytes([]byte(p.ID)); err != nil {
		return fmt.Errorf("adding peer: %w", err)
	}
	if peer.ID(p.ID) == n.id {
		return fmt.Errorf("adding peer %s: that is this node's own peer ID; list the other members", n.id)
	}
	if err := n.st.PutPeer(p); err != nil {
		return fmt.Errorf("adding peer: %w", err)
	}
	n.mu.Lock()
	old, had := n.members[peer.ID(p.ID)]
	n.members[peer.ID(p.ID)] = p
	n.mu.Unlock()
	n.learnAddrs(p)
	// A member listed anew is confirmed anew: its connection is closed, and
	// the next pull checks its handshake against the new listing.
	if had && old.Org != p.Org && n.host != nil && n.host.Network().Connectedness(peer.ID(p.ID)) == network.Connected {
		n.unreached.Delete(peer.ID(p.ID))
		if err := n.host.Network().ClosePeer(peer.ID(p.ID)); err != nil {
			return fmt.Errorf("reconnecting %s: %w", peer.ID(p.ID), err)
		}
		n.schedulePull(peer.ID(p.ID))
	}
	return nil
}

// learnAddrs puts a member's listed addresses in the host's address book,
// replacing what it knew: a member that moved is dialled at its new address.
func (n *Node) learnAddrs(p store.Peer) {
	if len(p.Addrs) == 0 {
		return
	}
	var mas []ma.Multiaddr
	for _, a := range p.Addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			mas = append(mas, m)
		}
	}
	ps := n.host.Peerstore()
	ps.ClearAddrs(peer.ID(p.ID))
	ps.AddAddrs(peer.ID(p.ID), mas, peerstore.PermanentAddrTTL)
}

// RemovePeer removes a member and closes its connections.
func (n *Node) RemovePeer(id peer.ID) error {
	if err := n.st.DeletePeer(string(id)); err != nil {
		return fmt.Errorf("removing peer %s: %w", id, err)
	}
	n.mu.Lock()
	delete(n.members, id)
	n.mu.Unlock()
	return n.host.Network().ClosePeer(id)
}

// refusedPeer logs, once per peer and run, an inbound connection refused
// because the peer is not a member: an operator who expected it sees what
// to add.
func (n *Node) refusedPeer(p peer.ID) {
	// Peer IDs cost nothing to make: past a bound, refusals are no longer
	// remembered (nor logged above debug level).
	if n.refusedCount.Load() >= maxRefusedLogged {
		n.log.Debug("refused a connection from a peer that is not a member", "peer", p.String())
		return
	}
	if _, seen := n.refused.LoadOrStore(p, true); seen {
		return
	}
	n.refusedCount.Add(1)
	n.log.Warn("refused a connection from a peer that is not a member (logged once per peer); if it should be one: flowfed peers add --org ORG ADDR/p2p/"+p.String(), "peer", p.String())
}

// unreachable logs, once until it is reachable again, that a member could
// not be connected, with what to check.
func (n *Node) unreachable(p peer.ID, err error) {
	if _, seen := n.unreached.LoadOrStore(p, true); seen {
		n.log.Debug("member unreachable", "peer", p.String(), "err", err)
		return
	}
	if errors.Is(err, errOrgMismatch) {
		n.log.Warn("member refused: its signed handshake names another organisation than it is listed with; correct 'flowfed peers add --org' here or its config there", "peer", p.String(), "err", err)
		return
	}
	n.log.Warn("member unreachable; check that it runs at the address listed and lists this node as a member (logged once until it is reached)", "peer", p.String(), "self", n.id.String(), "err", err)
}

// maxRefusedLogged bounds the non-members whose refusal is remembered.
const maxRefusedLogged = 256

// errOrgMismatch marks a handshake whose organisation differs from the
// member's listing.
var errOrgMismatch = errors.New("organisation mismatch")

// Connect dials a member and confirms membership both ways with the signed
// handshake (a refused dial can look successful to the dialer).
func (n *Node) Connect(ctx context.Context, id peer.ID) error {
	if !n.IsMember(id) {
		return fmt.Errorf("connecting %s: %w", id, protocol.ErrNotMember)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n.cfg.StreamTimeout))
	defer cancel()
	if err := n.host.Connect(ctx, peer.AddrInfo{ID: id, Addrs: n.host.Peerstore().Addrs(id)}); err != nil {
		return fmt.Errorf("connecting %s: %w", id, err)
	}
	info, err := n.svc.Hello(ctx, id)
	if err != nil {
		return fmt.Errorf("handshake with %s: %w", id, err)
	}
	n.unreached.Delete(id)
	// The signed handshake names the peer's organisation: it must be the
	// one the member was listed with.
	if err := n.checkListing(info); err != nil {
		n.host.Network().ClosePeer(id)
		return fmt.Errorf("handshake with %s: %w", id, err)
	}
	return nil
}

// Run starts the node's services (admin API, pull workers, anti-entropy,
// dataset fetches, retention) and blocks until ctx is done; then it stops them
// and closes the node.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	admin, err := n.startAdmin(ctx)
	if err != nil {
		n.Close()
		return err
	}
	n.log.Info("node running", "peer", n.id.String(), "org", n.cfg.Org, "addrs", n.Addrs(), "admin", admin)
	n.spawn(ctx, n.pullWorker)
	n.spawn(ctx, n.fetchWorker)
	n.spawn(ctx, n.notifyWorker)
	if err := n.reofferPending(); err != nil {
		n.log.Warn("offering again what a new policy allows", "err", err)
	}
	if err := n.forwardHeld(); err != nil {
		n.log.Warn("offering held artifacts onward", "err", err)
	}
	n.spawn(ctx, n.antiEntropy)
	n.spawn(ctx, n.retentionLoop)
	n.spawn(ctx, func(ctx context.Context) {
		// Greet the members at start, then pull from each.
		for _, m := range n.Members() {
			if err := n.Connect(ctx, peer.ID(m.ID)); err != nil {
				if ctx.Err() == nil {
					n.unreachable(peer.ID(m.ID), err)
				}
				continue
			}
			n.schedulePull(peer.ID(m.ID))
		}
	})
	select {
	case <-ctx.Done():
	case <-n.closed:
	}
	n.log.Info("node stopping", "peer", n.id.String())
	return n.Close()
}

func (n *Node) spawn(ctx context.Context, fn func(context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn(ctx)
	}()
}

// Close stops the services, the protocols and the host, and closes the store.
// It does not close the vault.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.closed)
		n.wg.Wait()
		err = errors.Join(n.svc.Close(), n.host.Close(), n.st.Close())
		os.Remove(filepath.Join(n.dir, AdminAddrFile))
	})
	return err
}

func (n *Node) schedulePull(p peer.ID) {
	select {
	case n.pulls <- p:
	default: // a pull is queued already; anti-entropy covers the rest
	}
}

func (n *Node) pullWorker(ctx context.Context) {
	serve(ctx, n.closed, n.pulls, func(p peer.ID) { n.pull(ctx, p) })
}

// serve calls fn for every job from jobs until ctx is done or closed closes.
func serve[T any](ctx context.Context, closed <-chan struct{}, jobs <-chan T, fn func(T)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-closed:
			return
		case j := <-jobs:
			fn(j)
		}
	}
}

func (n *Node) pull(ctx context.Context, p peer.ID) {
	if !n.IsMember(p) {
		return
	}
	if n.host.Network().Connectedness(p) != network.Connected {
		if err := n.Connect(ctx, p); err != nil {
			if ctx.Err() == nil {
				n.unreachable(p, err)
			}
			return
		}
	}
	st, err := n.svc.Pull(ctx, p)
	if err != nil && ctx.Err() == nil {
		n.log.Warn("pull failed", "peer", p.String(), "err", err)
	}
	if st.Accepted > 0 || st.Rejected > 0 {
		n.log.Info("pulled", "peer", p.String(), "accepted", st.Accepted, "rejected", st.Rejected, "duplicates", st.Duplicates)
	}
}

func (n *Node) antiEntropy(ctx context.Context) {
	t := time.NewTicker(time.Duration(n.cfg.SyncInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.closed:
			return
		case <-t.C:
			for _, m := range n.Members() {
				n.pull(ctx, peer.ID(m.ID))
			}
			// Datasets whose chunks could not all be fetched are tried
			// again (their source may have been away).
			n.resumeFetches()
		}
	}
}

// Sync pulls from every member now, one after the other (the anti-entropy
// round, on demand).
func (n *Node) Sync(ctx context.Context) {
	for _, m := range n.Members() {
		n.pull(ctx, peer.ID(m.ID))
	}
}

// NotifyAll tells every member, concurrently, that new artifacts are
// available; a member that misses it catches up by anti-entropy.
func (n *Node) NotifyAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range n.Members() {
		id := peer.ID(m.ID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.svc.Notify(ctx, id); err != nil {
				n.log.Debug("notify failed; the member will catch up by anti-entropy", "peer", id.String(), "err", err)
			}
		}()
	}
	wg.Wait()
}
