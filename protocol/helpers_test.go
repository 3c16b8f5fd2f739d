package protocol

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	ma "github.com/multiformats/go-multiaddr"
)

// membership is a federation's member list shared by the test nodes.
type membership struct {
	mu sync.Mutex
	m  map[peer.ID]bool
}

func newMembership() *membership { return &membership{m: map[peer.ID]bool{}} }

func (ms *membership) add(ids ...peer.ID) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, id := range ids {
		ms.m[id] = true
	}
}

func (ms *membership) remove(id peer.ID) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	delete(ms.m, id)
}

func (ms *membership) has(id peer.ID) bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.m[id]
}

// delivery is one call of Backend.Delivered.
type delivery struct {
	peer peer.ID
	envs []Envelope
	r    Receipt
}

// memBackend is an in-memory Backend: the node's store and membership.
type memBackend struct {
	self    peer.ID
	members *membership

	mu         sync.Mutex
	own        []Envelope // published, in seq order
	chunks     map[string][]byte
	deliveries []delivery
	latest     map[string]Envelope // artifact ID → latest accepted version
	accepted   []Envelope          // every envelope Accept stored, in order
	acceptErrs map[string]int      // Accept outcomes other than success
	cursors    map[peer.ID]uint64
	cursorLog  []uint64
	notices    []uint64

	// hooks, set before use
	onAccept   func(Envelope) error // runs before storing; an error is returned as is
	onNotified func(peer.ID, uint64)
	onCursor   func(uint64)
	chunkHook  func() // runs at the start of Chunk
}

func newMemBackend(self peer.ID, ms *membership) *memBackend {
	return &memBackend{
		self: self, members: ms, chunks: map[string][]byte{}, latest: map[string]Envelope{},
		acceptErrs: map[string]int{}, cursors: map[peer.ID]uint64{},
	}
}

func (b *memBackend) IsMember(p peer.ID) bool { return b.members.has(p) }

func (b *memBackend) Head() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return uint64(len(b.own))
}

func (b *memBackend) After(_ context.Context, after uint64, limit int) ([]Envelope, uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if after >= uint64(len(b.own)) {
		return nil, after, nil
	}
	envs := slices.Clone(b.own[after:min(after+uint64(limit), uint64(len(b.own)))])
	return envs, envs[len(envs)-1].Seq, nil
}

func (b *memBackend) Chunk(_ context.Context, _ peer.ID, hash string) ([]byte, error) {
	if b.chunkHook != nil {
		b.chunkHook()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.chunks[hash]
	if !ok {
		return nil, ErrNotFound
	}
	return c, nil
}

func (b *memBackend) Delivered(p peer.ID, envs []Envelope, r Receipt) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deliveries = append(b.deliveries, delivery{p, slices.Clone(envs), r})
	return nil
}

func (b *memBackend) Accept(_ context.Context, from peer.ID, e Envelope) error {
	if b.onAccept != nil {
		if err := b.onAccept(e); err != nil {
			b.mu.Lock()
			b.acceptErrs[err.Error()]++
			b.mu.Unlock()
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.latest[e.ArtifactID]; ok {
		if prev.Publisher != e.Publisher {
			b.acceptErrs["not_originator"]++
			return fmt.Errorf("artifact %s belongs to %s: %w", e.ArtifactID, prev.Publisher, ErrNotOriginator)
		}
		if e.Version <= prev.Version {
			b.acceptErrs["duplicate"]++
			return fmt.Errorf("artifact %s version %d: %w", e.ArtifactID, e.Version, ErrDuplicate)
		}
	}
	b.latest[e.ArtifactID] = e
	b.accepted = append(b.accepted, e)
	return nil
}

func (b *memBackend) Cursor(p peer.ID) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cursors[p], nil
}

func (b *memBackend) SetCursor(p peer.ID, seq uint64) error {
	b.mu.Lock()
	b.cursors[p] = seq
	b.cursorLog = append(b.cursorLog, seq)
	hook := b.onCursor
	b.mu.Unlock()
	if hook != nil {
		hook(seq)
	}
	return nil
}

func (b *memBackend) Notified(p peer.ID, head uint64) {
	b.mu.Lock()
	b.notices = append(b.notices, head)
	hook := b.onNotified
	b.mu.Unlock()
	if hook != nil {
		hook(p, head)
	}
}

// snapshot returns copies of the state tests look at.
func (b *memBackend) acceptedSeqs() []uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]uint64, len(b.accepted))
	for i, e := range b.accepted {
		out[i] = e.Seq
	}
	return out
}

func (b *memBackend) deliveryList() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.deliveries)
}

// node is one test member: key, host, backend and service.
type node struct {
	key crypto.PrivKey
	id  peer.ID
	h   host.Host
	b   *memBackend
	svc *Service
	cfg Config
}

type nodeOpts struct {
	quic   bool
	limits *rcmgr.PartialLimitConfig
	cfg    Config
	// open makes the host's gater admit everyone, so that the handlers'
	// own membership checks can be tested.
	open bool
	// noService leaves the Service to the test.
	noService bool
}

func newKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newNode starts a member of ms on 127.0.0.1 and closes it at cleanup.
func newNode(t testing.TB, ms *membership, o nodeOpts) *node {
	t.Helper()
	key := newKey(t)
	id, _ := peer.IDFromPrivateKey(key)
	ms.add(id)
	isMember := ms.has
	if o.open {
		isMember = func(peer.ID) bool { return true }
	}
	h, err := NewHost(HostConfig{Key: key, QUIC: o.quic, IsMember: isMember, ResourceLimits: o.limits})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{key: key, id: id, h: h, b: newMemBackend(id, ms), cfg: o.cfg}
	if n.cfg.Federation == "" {
		n.cfg.Federation = "test-federation"
	}
	if !o.noService {
		n.svc = New(h, key, n.b, n.cfg)
	}
	t.Cleanup(func() {
		if n.svc != nil {
			n.svc.Close()
		}
		h.Close()
	})
	return n
}

// quicOnly keeps the QUIC addresses.
func quicOnly(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// restart replaces n's Service by a new one on the same host and backend.
func (n *node) restart() {
	n.svc.Close()
	n.svc = New(n.h, n.key, n.b, n.cfg)
}

// connect dials b from a.
func connect(t testing.TB, a, b *node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.h.Connect(ctx, peer.AddrInfo{ID: b.id, Addrs: b.h.Addrs()}); err != nil {
		t.Fatalf("connecting: %v", err)
	}
}

// publish seals an envelope as n's next seq and adds it to n's store.
func (n *node) publish(t testing.TB, kind, id string, version uint64, payload []byte, tlp usage.TLP) Envelope {
	t.Helper()
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	e, err := Seal(n.key, Envelope{
		Kind: kind, ArtifactID: id, Version: version, Payload: payload,
		Seq: uint64(len(n.b.own)) + 1, Usage: usage.Policy{TLP: tlp, Purposes: []string{"research"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.b.own = append(n.b.own, e)
	return e
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
