package protocol

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"
)

// TestMain fails the package when any test leaves a goroutine behind after
// its hosts and services are closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func randomChunk(t testing.TB, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func TestHello(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{cfg: Config{Org: "ORG-A"}})
	b := newNode(t, ms, nodeOpts{cfg: Config{Org: "ORG-B"}})
	connect(t, a, b)
	info, err := a.svc.Hello(ctxT(t), b.id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Peer != b.id || info.Org != "ORG-B" || info.Federation != "test-federation" || info.Time.IsZero() {
		t.Errorf("Hello = %+v, want ORG-B of test-federation", info)
	}
	if got := a.svc.Stats().Handshakes; got != 1 {
		t.Errorf("initiator handshakes = %d, want 1", got)
	}
	if got := b.svc.Stats().Handshakes; got != 1 {
		t.Errorf("responder handshakes = %d, want 1", got)
	}
	// And the other way round, on the same connection.
	if info, err := b.svc.Hello(ctxT(t), a.id); err != nil || info.Org != "ORG-A" {
		t.Errorf("Hello back = %+v, %v", info, err)
	}
}

func TestHelloOtherFederation(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{cfg: Config{Federation: "another-federation"}})
	connect(t, a, b)
	if _, err := a.svc.Hello(ctxT(t), b.id); !errors.Is(err, ErrNotMember) {
		t.Errorf("Hello across federations = %v, want ErrNotMember", err)
	}
	if got := b.svc.Stats().Rejected[ReasonNotMember]; got != 1 {
		t.Errorf("responder not_member = %d, want 1", got)
	}
	if a.svc.Stats().Handshakes+b.svc.Stats().Handshakes != 0 {
		t.Error("a refused handshake was counted as completed")
	}
}

// TestPullNotifyFetch runs the main path: notify, pull through the default
// decider, receipts, then a chunk fetch.
func TestPullNotifyFetch(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{})
	connect(t, b, a)

	chunk, hash := randomChunk(t, 3*PieceSize+5)
	a.b.chunks[hash] = chunk
	published := []Envelope{
		a.publish(t, KindDataset, "ds-1", 1, []byte(hash), usage.Clear),
		a.publish(t, KindIndicator, "ind-1", 1, []byte(`{"v":1}`), usage.Green),
		a.publish(t, KindIndicator, "ind-2", 1, []byte(`{"v":2}`), usage.Amber),
		a.publish(t, KindIndicator, "ind-3", 1, []byte(`{"v":3}`), usage.AmberStrict),
		a.publish(t, KindIndicator, "ind-4", 1, []byte(`{"v":4}`), usage.Red),
		a.publish(t, KindIndicator, "ind-1", 2, []byte(`{"v":1.1}`), usage.Green),
	}
	wantSeqs := []uint64{1, 2, 3, 6}

	notified := make(chan uint64, 1)
	b.b.onNotified = func(_ peer.ID, head uint64) { notified <- head }
	if err := a.svc.Notify(ctxT(t), b.id); err != nil {
		t.Fatal(err)
	}
	if head := <-notified; head != 6 {
		t.Errorf("notified head = %d, want 6", head)
	}

	ps, err := b.svc.Pull(ctxT(t), a.id)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Accepted != 4 || ps.Rejected != 0 || ps.Cursor != 6 || ps.Head != 6 || ps.Batches != 1 {
		t.Errorf("Pull = %+v, want 4 accepted, cursor and head 6, one batch", ps)
	}
	if got := b.b.acceptedSeqs(); !slices.Equal(got, wantSeqs) {
		t.Errorf("accepted seqs %v, want %v", got, wantSeqs)
	}
	for _, e := range b.b.accepted {
		if err := e.Verify(); err != nil || e.Digest() != published[e.Seq-1].Digest() {
			t.Errorf("stored envelope seq %d differs from the published one (%v)", e.Seq, err)
		}
	}
	if st := a.svc.Stats(); st.Sent != 4 || st.Withheld != 2 || st.Rejected[ReasonPolicy] != 0 || st.Receipts != 1 {
		t.Errorf("publisher stats %+v, want 4 sent, 2 withheld by policy, 1 receipt", st)
	}
	if st := b.svc.Stats(); st.Received != 4 || st.BytesIn == 0 || st.BytesOut == 0 {
		t.Errorf("receiver stats %+v, want 4 received and bytes both ways", st)
	}
	ds := a.b.deliveryList()
	if len(ds) != 1 {
		t.Fatalf("%d deliveries recorded, want 1", len(ds))
	}
	r := ds[0].r
	if err := r.Verify(); err != nil || r.Peer != b.id || r.Publisher != a.id || !slices.Equal(r.Seqs, wantSeqs) || r.Upto != 6 {
		t.Errorf("receipt %+v (%v), want signed by B for seqs %v up to 6", r, err, wantSeqs)
	}
	if r.Digest != BatchDigest(ds[0].envs) || len(ds[0].envs) != 4 {
		t.Error("delivery envelopes do not match the receipt digest")
	}

	// Nothing new: one empty batch, no receipt recorded for it.
	if ps, err := b.svc.Pull(ctxT(t), a.id); err != nil || ps.Accepted != 0 || ps.Cursor != 6 {
		t.Errorf("second Pull = %+v, %v; want nothing new", ps, err)
	}
	if n := len(a.b.deliveryList()); n != 1 {
		t.Errorf("%d deliveries after an empty pull, want 1", n)
	}

	var buf bytes.Buffer
	n, err := b.svc.Fetch(ctxT(t), a.id, hash, &buf, 0)
	if err != nil || n != int64(len(chunk)) || !bytes.Equal(buf.Bytes(), chunk) {
		t.Fatalf("Fetch = %d, %v; want the %d-byte chunk", n, err, len(chunk))
	}
	ds = a.b.deliveryList()
	if len(ds) != 2 || ds[1].r.Chunk != hash || ds[1].envs != nil || ds[1].r.Upto != uint64(len(chunk)) {
		t.Fatalf("chunk delivery %+v, want a receipt for %s", ds[len(ds)-1], hash)
	}
	if err := ds[1].r.Verify(); err != nil {
		t.Errorf("chunk receipt: %v", err)
	}
	if _, err := b.svc.Fetch(ctxT(t), a.id, hex.EncodeToString(make([]byte, 32)), &buf, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Fetch of an unknown chunk = %v, want ErrNotFound", err)
	}
}

func TestPullBatches(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{cfg: Config{BatchSize: 3}})
	connect(t, b, a)
	for i := range 10 {
		a.publish(t, KindSighting, "s-"+string(rune('a'+i)), 1, nil, usage.Green)
	}
	ps, err := b.svc.Pull(ctxT(t), a.id)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Batches != 4 || ps.Accepted != 10 || ps.Cursor != 10 {
		t.Errorf("Pull = %+v, want 4 batches, 10 accepted", ps)
	}
	if want := []uint64{3, 6, 9, 10}; !slices.Equal(b.b.cursorLog, want) {
		t.Errorf("cursor saved as %v, want %v (after each batch)", b.b.cursorLog, want)
	}
	ds := a.b.deliveryList()
	if len(ds) != 4 {
		t.Fatalf("%d deliveries, want one per batch", len(ds))
	}
	var got []uint64
	for _, d := range ds {
		got = append(got, d.r.Seqs...)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(got, want) {
		t.Errorf("receipts cover %v, want %v", got, want)
	}
}

// TestPullResumesAfterRestart interrupts a pull after its first batch, then
// pulls again with a new Service over the same backend state.
func TestPullResumesAfterRestart(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{cfg: Config{BatchSize: 4}})
	connect(t, b, a)
	for i := range 10 {
		a.publish(t, KindIndicator, "ind-"+string(rune('a'+i)), 1, nil, usage.Amber)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	b.b.onCursor = func(uint64) { cancel() }
	if _, err := b.svc.Pull(ctx, a.id); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Pull = %v, want context.Canceled", err)
	}
	b.b.onCursor = nil
	if got := b.b.acceptedSeqs(); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
		t.Fatalf("before restart accepted %v, want 1-4", got)
	}
	if c, _ := b.b.Cursor(a.id); c != 4 {
		t.Fatalf("persisted cursor %d, want 4", c)
	}

	b.restart()
	for i := range 3 {
		a.publish(t, KindIndicator, "ind-new-"+string(rune('a'+i)), 1, nil, usage.Amber)
	}
	ps, err := b.svc.Pull(ctxT(t), a.id)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Accepted != 9 || ps.Duplicates != 0 || ps.Cursor != 13 {
		t.Errorf("Pull after restart = %+v, want 9 accepted, no duplicates, cursor 13", ps)
	}
	want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	if got := b.b.acceptedSeqs(); !slices.Equal(got, want) {
		t.Errorf("accepted %v, want each of %v once", got, want)
	}
	if len(b.b.acceptErrs) != 0 {
		t.Errorf("Accept failures %v, want none", b.b.acceptErrs)
	}
}

// TestPullRetryLater stops a pull at an envelope the backend cannot store
// yet, and finishes it later without loss.
func TestPullRetryLater(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{})
	connect(t, b, a)
	for i := range 5 {
		a.publish(t, KindIndicator, "ind-"+string(rune('a'+i)), 1, nil, usage.Green)
	}
	full := true
	b.b.onAccept = func(e Envelope) error {
		if e.Seq == 3 && full {
			return ErrRetryLater
		}
		return nil
	}
	ps, err := b.svc.Pull(ctxT(t), a.id)
	if !errors.Is(err, ErrRetryLater) || ps.Cursor != 2 || ps.Accepted != 2 {
		t.Fatalf("Pull = %+v, %v; want ErrRetryLater at cursor 2", ps, err)
	}
	if d := a.b.deliveryList(); len(d) != 1 || !slices.Equal(d[0].r.Seqs, []uint64{1, 2}) || d[0].r.Upto != 2 {
		t.Errorf("receipt %+v, want seqs 1-2 up to 2", d)
	}
	full = false
	if ps, err := b.svc.Pull(ctxT(t), a.id); err != nil || ps.Accepted != 3 || ps.Cursor != 5 {
		t.Errorf("second Pull = %+v, %v; want the other 3", ps, err)
	}
	if got := b.b.acceptedSeqs(); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
		t.Errorf("accepted %v", got)
	}
}

// TestOnlyOriginatorUpdates: a member that publishes a new version of
// another member's artifact is refused by Accept and counted.
func TestOnlyOriginatorUpdates(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	m := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{})
	connect(t, b, a)
	connect(t, b, m)
	a.publish(t, KindIndicator, "ind-x", 1, []byte("original"), usage.Green)
	m.publish(t, KindIndicator, "ind-x", 2, []byte("hijack"), usage.Green)
	if _, err := b.svc.Pull(ctxT(t), a.id); err != nil {
		t.Fatal(err)
	}
	ps, err := b.svc.Pull(ctxT(t), m.id)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Rejected != 1 || ps.Accepted != 0 {
		t.Errorf("Pull of the hijack = %+v, want it rejected", ps)
	}
	if got := b.svc.Stats().Rejected[ReasonNotOriginator]; got != 1 {
		t.Errorf("not_originator = %d, want 1", got)
	}
	if e := b.b.latest["ind-x"]; string(e.Payload) != "original" {
		t.Errorf("stored %q, want the original", e.Payload)
	}
}

func TestFetchResume(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{})
	connect(t, b, a)
	chunk, hash := randomChunk(t, 2*PieceSize+100)
	a.b.chunks[hash] = chunk

	f, err := os.Create(filepath.Join(t.TempDir(), "chunk"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const have = PieceSize + 7
	if _, err := f.Write(chunk[:have]); err != nil {
		t.Fatal(err)
	}
	n, err := b.svc.Fetch(ctxT(t), a.id, hash, f, have)
	if err != nil || n != int64(len(chunk)-have) {
		t.Fatalf("resumed Fetch = %d, %v; want %d", n, err, len(chunk)-have)
	}
	got, _ := os.ReadFile(f.Name())
	if !bytes.Equal(got, chunk) {
		t.Error("resumed file differs from the chunk")
	}

	// A resume over a wrong prefix is caught by the hash.
	if _, err := f.WriteAt([]byte{chunk[0] ^ 1}, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(have); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(have, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Fetch(ctxT(t), a.id, hash, f, have); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("Fetch over a corrupt prefix = %v, want ErrHashMismatch", err)
	}
	var buf bytes.Buffer
	if _, err := b.svc.Fetch(ctxT(t), a.id, hash, &buf, 1); err == nil {
		t.Error("Fetch at an offset into a plain writer succeeded")
	}
	if _, err := b.svc.Fetch(ctxT(t), a.id, "ABC", &buf, 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("Fetch of a bad hash = %v, want ErrMalformed", err)
	}

	// A writer that fails is a local error: no retry, no receipt.
	retries := b.svc.Stats().Retries
	fw := &failingWriter{left: PieceSize + 10}
	if _, err := b.svc.Fetch(ctxT(t), a.id, hash, fw, 0); !errors.Is(err, errDiskFull) {
		t.Errorf("Fetch into a failing writer = %v, want its error", err)
	}
	if got := b.svc.Stats().Retries; got != retries {
		t.Errorf("a local write error was retried %d times", got-retries)
	}

	// A publisher whose bytes do not match the name.
	a.b.chunks[hash] = append(slices.Clone(chunk[:len(chunk)-1]), chunk[len(chunk)-1]^1)
	buf.Reset()
	if _, err := b.svc.Fetch(ctxT(t), a.id, hash, &buf, 0); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("Fetch of corrupt bytes = %v, want ErrHashMismatch", err)
	}
	if d := a.b.deliveryList(); len(d) != 1 {
		t.Errorf("%d deliveries, want 1 (no receipt for corrupt bytes)", len(d))
	}
}

var errDiskFull = errors.New("disk full")

// failingWriter accepts left bytes, then fails.
type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		return 0, errDiskFull
	}
	w.left -= len(p)
	return len(p), nil
}
