package protocol

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol IDs.
const (
	HelloID  = "/flowfed/hello/1"
	NotifyID = "/flowfed/notify/1"
	SyncID   = "/flowfed/sync/1"
	FetchID  = "/flowfed/fetch/1"
)

// Size limits.
const (
	// MaxMessage is the largest message on any stream, framing excluded.
	MaxMessage = 1 << 20
	// MaxBatch is the most envelopes one sync batch may carry.
	MaxBatch = 4096
	// MaxBatchBytes bounds the envelope bytes of one sync batch; the publisher
	// ends a batch early rather than exceed it.
	MaxBatchBytes = 8 << 20
	// MaxChunk is the largest chunk Fetch accepts.
	MaxChunk = 256 << 20
	// PieceSize is the largest data piece of a chunk transfer: a piece and its
	// protobuf framing fit in MaxMessage.
	PieceSize = MaxMessage - 16
	// MaxClockSkew is how far a peer's clock may be from ours in a handshake.
	MaxClockSkew = 5 * time.Minute
)

// Defaults of Config.
const (
	DefaultBatchSize     = 256
	DefaultStreamTimeout = 30 * time.Second
	DefaultMaxRetries    = 10
)

// Backend is what the node provides to the Service: its store and its
// membership list. All methods must be safe for concurrent use; they are called
// from stream handlers and from Pull/Fetch, with the remote peer already
// checked for membership.
type Backend interface {
	// IsMember reports whether p is a current member of the federation.
	IsMember(p peer.ID) bool

	// Head returns the seq of this node's latest envelope (0: none).
	Head() uint64
	// After returns this node's own signed envelopes with seq > after, in seq
	// order, at most limit of them, and the seq up to which it looked (the
	// requester's next cursor; at least the last seq returned). The Service
	// applies the Decider to each before sending.
	After(ctx context.Context, after uint64, limit int) (envs []Envelope, next uint64, err error)
	// Chunk returns the bytes of the chunk whose SHA-256 (hex) is hash, when
	// requester may have it, and an error wrapping ErrNotFound otherwise.
	Chunk(ctx context.Context, requester peer.ID, hash string) ([]byte, error)
	// Delivered records that p acknowledged envs (a sync batch) or a chunk
	// (envs nil, receipt.Chunk set) with a verified receipt. It is called once
	// per receipt nonce while the Service runs. An error makes the Service
	// refuse the receipt; the receiver then sends it again.
	Delivered(p peer.ID, envs []Envelope, receipt Receipt) error

	// Accept stores an envelope pulled from a peer. The Service has verified
	// its size, signature, publisher membership and that from is its
	// publisher; Accept enforces the rest (only the originator may publish a
	// new version: ErrNotOriginator). It returns nil when stored, an error
	// wrapping ErrDuplicate when already held (ignored), ErrRetryLater for a
	// temporary local failure (the pull stops before it), and any other error
	// to reject the envelope (counted; the cursor moves past it).
	Accept(ctx context.Context, from peer.ID, e Envelope) error
	// Cursor returns the highest seq of publisher already pulled.
	Cursor(publisher peer.ID) (uint64, error)
	// SetCursor durably records the cursor of publisher.
	SetCursor(publisher peer.ID, seq uint64) error
	// Notified reports that publisher announced envelopes up to head. It must
	// not block: the node schedules a Pull.
	Notified(publisher peer.ID, head uint64)
}

// Config tunes a Service. The zero value of each field selects its default.
type Config struct {
	// Decider filters every outgoing envelope per peer; nil is DefaultDecider.
	Decider Decider
	// BatchSize is the most envelopes pulled per batch (default 256, at most
	// MaxBatch).
	BatchSize int
	// StreamTimeout bounds each stream's idle time: every read and write must
	// make progress within it (default 30 s).
	StreamTimeout time.Duration
	// MaxRetries bounds the retries of an operation whose stream was reset
	// or refused by a resource manager (default 10; negative: no retry).
	MaxRetries int
	// Clock gives the time for handshakes and receipts (default time.Now).
	Clock func() time.Time
	// Federation is the federation name both sides bind into the handshake.
	Federation string
	// Org is this node's organisation, sent in the handshake.
	Org string
	// Admit, when set, checks what a peer's handshake claims (its
	// organisation) as soon as it arrives; an error refuses the handshake.
	// Refusing on a claim not yet verified is safe: a claim that is
	// admitted is verified before the handshake completes.
	Admit func(PeerInfo) error
}

// PeerInfo is what a handshake established about a peer.
type PeerInfo struct {
	Peer       peer.ID
	Org        string
	Federation string
	// Time is the peer's clock during the handshake.
	Time time.Time
}

// PullStats summarises one Pull.
type PullStats struct {
	// Batches is the number of batches exchanged.
	Batches int
	// Accepted, Duplicates and Rejected count envelopes.
	Accepted, Duplicates, Rejected int
	// Cursor is the cursor after the pull; Head the publisher's last seq.
	Cursor, Head uint64
}

// Stats are the Service's counters since New.
type Stats struct {
	// Sent and Received count envelopes sent in sync batches and accepted.
	Sent, Received uint64
	// Duplicates counts envelopes received that were already held.
	Duplicates uint64
	// ChunksSent counts chunk transfers acknowledged by a receipt;
	// ChunksReceived completed and verified fetches.
	ChunksSent, ChunksReceived uint64
	// Receipts counts receipts verified and recorded (Backend.Delivered).
	Receipts uint64
	// BytesIn and BytesOut count stream bytes of all four protocols.
	BytesIn, BytesOut uint64
	// Handshakes counts completed handshakes, both directions.
	Handshakes uint64
	// Notifies counts notifications received.
	Notifies uint64
	// Withheld counts our envelopes that the egress decision kept from a
	// requester (not a rejection of anything received).
	Withheld uint64
	// Retries counts operations retried after a reset or refusal.
	Retries uint64
	// Rejected counts rejected messages and envelopes by reason (the
	// Reason... constants); every reason is present.
	Rejected map[string]uint64
}

type counters struct {
	sent, received, duplicates    atomic.Uint64
	chunksSent, chunksReceived    atomic.Uint64
	receipts, bytesIn, bytesOut   atomic.Uint64
	handshakes, notifies, retries atomic.Uint64
	withheld                      atomic.Uint64
	rejected                      [len(reasons)]atomic.Uint64
}

// Service runs flowfed's protocols on a libp2p host: it serves them to
// members and calls them on members. Its methods are safe for concurrent use.
type Service struct {
	h    host.Host
	key  crypto.PrivKey
	self peer.ID
	b    Backend
	cfg  Config

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // handlers and calls in flight

	windowsMu sync.Mutex
	windows   map[peer.ID]*window // per-peer stream windows, members only

	pulls     keyedMutex
	deliverMu sync.Mutex // serialises Delivered so each nonce is recorded once
	seen      nonceSet
	counter   counters
}

// New returns a Service for host h that signs with key (the host's identity
// key) and registers the handlers of the four protocols on h.
func New(h host.Host, key crypto.PrivKey, b Backend, cfg Config) *Service {
	if cfg.Decider == nil {
		cfg.Decider = DefaultDecider{}
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	cfg.BatchSize = min(cfg.BatchSize, MaxBatch)
	if cfg.StreamTimeout <= 0 {
		cfg.StreamTimeout = DefaultStreamTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{h: h, key: key, self: h.ID(), b: b, cfg: cfg, ctx: ctx, cancel: cancel, windows: map[peer.ID]*window{}}
	s.seen.init(receiptMemory)
	h.SetStreamHandler(HelloID, s.handler(s.serveHello))
	h.SetStreamHandler(NotifyID, s.handler(s.serveNotify))
	h.SetStreamHandler(SyncID, s.handler(s.serveSync))
	h.SetStreamHandler(FetchID, s.handler(s.serveFetch))
	return s
}

// Close removes the handlers, resets the streams in flight, and waits until
// every handler and call has returned. It is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	for _, id := range []protocol.ID{HelloID, NotifyID, SyncID, FetchID} {
		s.h.RemoveStreamHandler(id)
	}
	s.cancel()
	s.wg.Wait()
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	c := &s.counter
	st := Stats{
		Sent: c.sent.Load(), Received: c.received.Load(), Duplicates: c.duplicates.Load(),
		ChunksSent: c.chunksSent.Load(), ChunksReceived: c.chunksReceived.Load(),
		Receipts: c.receipts.Load(), BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		Handshakes: c.handshakes.Load(), Notifies: c.notifies.Load(), Retries: c.retries.Load(), Withheld: c.withheld.Load(),
		Rejected: make(map[string]uint64, len(reasons)),
	}
	for i, r := range reasons {
		st.Rejected[r] = c.rejected[i].Load()
	}
	return st
}

// reject counts one rejection under reason.
func (s *Service) reject(reason string) {
	for i, r := range reasons {
		if r == reason {
			s.counter.rejected[i].Add(1)
			return
		}
	}
}

// count counts err as a rejection when it is one.
func (s *Service) count(err error) {
	if r := reasonOf(err); r != "" {
		s.reject(r)
	}
}

// begin registers a call in flight and returns its context, cancelled with
// cause ErrClosed when the Service closes.
func (s *Service) begin(ctx context.Context) (context.Context, func(), error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, ErrClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ctx, func() { cancel(ErrClosed) })
	return ctx, func() {
		stop()
		cancel(nil)
		s.wg.Done()
	}, nil
}

// handler wraps a protocol's serve function: it tracks the handler for Close,
// refuses non-members before reading a byte, and resets the stream on error.
func (s *Service) handler(serve func(ctx context.Context, st *stream, remote peer.ID) error) network.StreamHandler {
	return func(ns network.Stream) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = ns.Reset()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		remote := ns.Conn().RemotePeer()
		if !s.b.IsMember(remote) {
			s.reject(ReasonNotMember)
			_ = ns.Reset()
			return
		}
		st := s.wrap(s.ctx, ns)
		err := serve(s.ctx, st, remote)
		s.count(err)
		st.finish(err)
	}
}

// open opens a stream of protocol id to p once p's window has room.
func (s *Service) open(ctx context.Context, p peer.ID, id protocol.ID) (*stream, error) {
	w := s.windowFor(p)
	if err := w.acquire(ctx); err != nil {
		return nil, fmt.Errorf("waiting for a stream to %s: %w", p, err)
	}
	ns, err := s.h.NewStream(ctx, p, id)
	if err != nil {
		w.release(err)
		return nil, fmt.Errorf("opening %s stream: %w", id, err)
	}
	st := s.wrap(ctx, ns)
	st.release = w.release
	return st, nil
}

// retryable reports whether err is a stream reset or a resource-manager
// refusal: the stream may succeed later.
func retryable(err error) bool {
	var local localError
	if errors.As(err, &local) {
		return false
	}
	return errors.Is(err, network.ErrReset) ||
		errors.Is(err, network.ErrResourceLimitExceeded) ||
		errors.Is(err, network.ErrResourceScopeClosed)
}

// Backoff of retries: exponential from retryBase up to retryMax, with jitter.
const (
	retryBase = 10 * time.Millisecond
	retryMax  = time.Second
)

// retry runs op until it succeeds, fails for a reason a retry cannot fix, or
// MaxRetries retries have failed.
func (s *Service) retry(ctx context.Context, op func() error) error {
	delay := retryBase
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		if !retryable(err) || attempt >= s.cfg.MaxRetries {
			return err
		}
		s.counter.retries.Add(1)
		t := time.NewTimer(delay/2 + mrand.N(delay/2+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		delay = min(2*delay, retryMax)
	}
}

// newNonce returns n random bytes.
func newNonce(n int) []byte {
	b := make([]byte, n)
	_, _ = crand.Read(b) // crypto/rand.Read never fails
	return b
}

// keyedMutex serialises work per peer and forgets idle peers.
type keyedMutex struct {
	mu sync.Mutex
	m  map[peer.ID]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(p peer.ID) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[peer.ID]*refMutex{}
	}
	m := k.m[p]
	if m == nil {
		m = &refMutex{}
		k.m[p] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.m, p)
		}
		k.mu.Unlock()
	}
}

// receiptMemory is how many receipt nonces the Service remembers to record
// each receipt once even when the receiver sends it again.
const receiptMemory = 1 << 14

// nonceSet is a bounded set of (peer, nonce) keys, forgetting the oldest.
type nonceSet struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func (n *nonceSet) init(size int) {
	n.set = make(map[string]struct{}, size)
	n.ring = make([]string, size)
}

func nonceKey(p peer.ID, nonce [16]byte) string { return string(p) + string(nonce[:]) }

func (n *nonceSet) has(k string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.set[k]
	return ok
}

func (n *nonceSet) add(k string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.set[k]; ok {
		return
	}
	if old := n.ring[n.next]; old != "" {
		delete(n.set, old)
	}
	n.ring[n.next] = k
	n.set[k] = struct{}{}
	n.next = (n.next + 1) % len(n.ring)
}
