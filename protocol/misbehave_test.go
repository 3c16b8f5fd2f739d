package protocol

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// raw is a hand-driven stream for playing a misbehaving peer.
type raw struct {
	t testing.TB
	s network.Stream
	r pbio.ReadCloser
	w pbio.WriteCloser
}

func openRaw(t testing.TB, from *node, to peer.ID, id protocol.ID) *raw {
	t.Helper()
	s, err := from.h.NewStream(ctxT(t), to, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Reset() })
	return &raw{t: t, s: s, r: pbio.NewDelimitedReader(s, MaxMessage), w: pbio.NewDelimitedWriter(s)}
}

func (r *raw) send(m proto.Message) {
	r.t.Helper()
	if err := r.w.WriteMsg(m); err != nil {
		r.t.Fatal(err)
	}
}

// sendFrame writes b as one length-delimited frame.
func (r *raw) sendFrame(b []byte) {
	r.t.Helper()
	if _, err := r.s.Write(append(protowire.AppendVarint(nil, uint64(len(b))), b...)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) recv(m proto.Message) {
	r.t.Helper()
	if err := r.r.ReadMsg(m); err != nil {
		r.t.Fatalf("reading %T: %v", m, err)
	}
}

// refused reads until the stream ends and reports whether the peer reset it.
func (r *raw) refused() bool {
	_, err := io.Copy(io.Discard, r.s)
	return errors.Is(err, network.ErrReset)
}

// connID returns the ID of the only connection between a and b.
func connID(t testing.TB, a, b *node) string {
	t.Helper()
	cs := a.h.Network().ConnsToPeer(b.id)
	if len(cs) != 1 {
		t.Fatalf("%d connections between the peers, want 1", len(cs))
	}
	return cs[0].ID()
}

func sealAs(t testing.TB, n *node, seq uint64, id string) Envelope {
	t.Helper()
	e, err := Seal(n.key, Envelope{Kind: KindIndicator, ArtifactID: id, Version: 1, Seq: seq, Usage: usage.Policy{TLP: usage.Green}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func marshalAny(t testing.TB, e Envelope) []byte {
	t.Helper()
	b, err := proto.Marshal(envelopeToWire(&e))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMisbehavingPublisher pulls from a member that sends bad envelopes and
// bad frames: each is rejected and counted, the good envelopes are stored,
// and the same connection then serves honest traffic.
func TestMisbehavingPublisher(t *testing.T) {
	ms := newMembership()
	b := newNode(t, ms, nodeOpts{})
	e := newNode(t, ms, nodeOpts{}) // misbehaves on /flowfed/sync/1
	m := newNode(t, ms, nodeOpts{}) // another member, whose envelope e relays
	outsider := &node{key: newKey(t)}
	connect(t, b, e)
	conn := connID(t, b, e)

	good1 := sealAs(t, e, 1, "good-1")
	unsigned := sealAs(t, e, 2, "unsigned")
	unsigned.Signature = nil
	wrongKey := sealAs(t, outsider, 3, "wrong-key")
	wrongKey.Publisher = e.id
	tampered := sealAs(t, e, 4, "tampered")
	tampered.Payload = []byte("changed")
	relayed := sealAs(t, m, 5, "relayed")
	big := sealAs(t, e, 5, "big")
	big.Payload = make([]byte, MaxEnvelope)
	good6 := sealAs(t, e, 6, "good-6")
	frames := [][]byte{
		marshalAny(t, good1), marshalAny(t, unsigned), marshalAny(t, wrongKey), marshalAny(t, tampered),
		marshalAny(t, relayed), marshalAny(t, big), {0x0a, 0x05, 'x'}, marshalAny(t, good1), marshalAny(t, good6),
	}

	var mode atomic.Int32
	var mu sync.Mutex
	var receipts []*pb.Receipt
	e.h.SetStreamHandler(SyncID, func(s network.Stream) {
		defer s.Reset()
		r, w := pbio.NewDelimitedReader(s, MaxMessage), pbio.NewDelimitedWriter(s)
		var req pb.SyncRequest
		if r.ReadMsg(&req) != nil {
			return
		}
		switch mode.Load() {
		case 0:
			for _, f := range frames {
				_ = w.WriteMsg(&pb.SyncResponse{Body: &pb.SyncResponse_Envelope{Envelope: f}})
			}
			_ = w.WriteMsg(&pb.SyncResponse{Body: &pb.SyncResponse_End{End: &pb.SyncEnd{Next: 6, Head: 6, Count: uint32(len(frames))}}})
			var rc pb.Receipt
			if r.ReadMsg(&rc) != nil {
				return
			}
			mu.Lock()
			receipts = append(receipts, &rc)
			mu.Unlock()
			_, _ = io.Copy(io.Discard, s)
			_ = s.CloseWrite()
			return
		case 1: // a frame longer than MaxMessage
			_, _ = s.Write(protowire.AppendVarint(nil, MaxMessage+1))
			_, _ = s.Write(make([]byte, 1024))
		case 2: // a frame that is no protobuf
			_, _ = s.Write([]byte{4, 0xff, 0xff, 0xff, 0xff})
		case 3: // an envelope, then the stream ends without the batch end
			_ = w.WriteMsg(&pb.SyncResponse{Body: &pb.SyncResponse_Envelope{Envelope: marshalAny(t, sealAs(t, e, 7, "cut"))}})
			_ = s.CloseWrite()
		case 4: // an end that claims more envelopes than were sent
			_ = w.WriteMsg(&pb.SyncResponse{Body: &pb.SyncResponse_End{End: &pb.SyncEnd{Next: 7, Head: 7, Count: 3}}})
		}
		_, _ = io.Copy(io.Discard, s)
	})

	ps, err := b.svc.Pull(ctxT(t), e.id)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Accepted != 2 || ps.Rejected != 7 || ps.Cursor != 6 {
		t.Errorf("Pull = %+v, want 2 accepted, 7 rejected, cursor 6", ps)
	}
	if got := b.b.acceptedSeqs(); !slices.Equal(got, []uint64{1, 6}) {
		t.Errorf("accepted %v, want [1 6]", got)
	}
	want := map[string]uint64{
		ReasonBadSignature: 3, ReasonNotOriginator: 1, ReasonTooLarge: 1, ReasonMalformed: 1, ReasonReplay: 1,
		ReasonNotMember: 0, ReasonPolicy: 0, ReasonRejected: 0,
	}
	if got := b.svc.Stats().Rejected; !mapsEqual(got, want) {
		t.Errorf("rejections %v, want %v", got, want)
	}
	if len(receipts) != 1 || !slices.Equal(receipts[0].Seqs, []uint64{1, 6}) {
		t.Errorf("receipts %v, want one for seqs 1 and 6", receipts)
	}

	for _, tc := range []struct {
		mode   int32
		want   error
		reason string
	}{
		{1, ErrTooLarge, ReasonTooLarge},
		{2, ErrMalformed, ReasonMalformed},
		{3, ErrMalformed, ReasonMalformed},
		{4, ErrMalformed, ReasonMalformed},
	} {
		mode.Store(tc.mode)
		before := b.svc.Stats().Rejected[tc.reason]
		if _, err := b.svc.Pull(ctxT(t), e.id); !errors.Is(err, tc.want) {
			t.Errorf("mode %d: Pull = %v, want %v", tc.mode, err, tc.want)
		}
		if got := b.svc.Stats().Rejected[tc.reason]; got != before+1 {
			t.Errorf("mode %d: %s counted %d times, want once", tc.mode, tc.reason, got-before)
		}
	}
	if c, _ := b.b.Cursor(e.id); c != 6 || len(b.b.acceptedSeqs()) != 2 {
		t.Errorf("after bad batches cursor %d with %d stored, want 6 and 2", c, len(b.b.acceptedSeqs()))
	}

	// The same connection serves honest traffic.
	e.h.SetStreamHandler(SyncID, e.svc.handler(e.svc.serveSync))
	for i := range 7 {
		e.publish(t, KindIndicator, "honest-"+string(rune('a'+i)), 1, nil, usage.Green)
	}
	if ps, err := b.svc.Pull(ctxT(t), e.id); err != nil || ps.Accepted != 1 || ps.Cursor != 7 {
		t.Errorf("honest Pull = %+v, %v; want seq 7", ps, err)
	}
	if _, err := b.svc.Hello(ctxT(t), e.id); err != nil {
		t.Errorf("Hello after the bad batches: %v", err)
	}
	if err := b.svc.Notify(ctxT(t), e.id); err != nil {
		t.Errorf("Notify after the bad batches: %v", err)
	}
	if got := connID(t, b, e); got != conn {
		t.Error("the connection was replaced")
	}
}

func timeNow() time.Time { return time.Now() }

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestMisbehavingRequester sends bad requests, handshakes and receipts to an
// honest node: each stream is reset and counted, nothing is recorded as
// delivered, and the connection keeps serving.
func TestMisbehavingRequester(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	e := newNode(t, ms, nodeOpts{})
	connect(t, e, a)
	conn := connID(t, e, a)
	a.publish(t, KindIndicator, "i-1", 1, nil, usage.Green)
	a.publish(t, KindIndicator, "i-2", 1, nil, usage.Green)
	chunk, hash := randomChunk(t, 1000)
	a.b.chunks[hash] = chunk

	hello1 := func(r *raw) (helloMsg, *pb.Hello) {
		mine := helloMsg{Federation: "test-federation", Org: "E", Time: canonTime(timeNow()), Nonce: newNonce(nonceSize)}
		r.send(helloToWire(&mine))
		var ans pb.Hello
		r.recv(&ans)
		return mine, &ans
	}
	cases := []struct {
		name   string
		id     protocol.ID
		reason string
		play   func(r *raw)
	}{
		{"hello garbage", HelloID, ReasonMalformed, func(r *raw) { r.sendFrame([]byte{0xff, 0xff, 0xff}) }},
		{"hello for another session", HelloID, ReasonReplay, func(r *raw) {
			mine, _ := hello1(r)
			mine.PeerNonce = newNonce(nonceSize)
			if err := e.svc.signHello(roleInitiator, a.id, &mine); err != nil {
				t.Fatal(err)
			}
			r.send(helloToWire(&mine))
		}},
		{"hello bad signature", HelloID, ReasonBadSignature, func(r *raw) {
			mine, ans := hello1(r)
			mine.PeerNonce = ans.Nonce
			mine.Signature = make([]byte, signatureSize)
			r.send(helloToWire(&mine))
		}},
		{"notify oversized", NotifyID, ReasonTooLarge, func(r *raw) {
			r.s.Write(protowire.AppendVarint(nil, MaxMessage+1))
			r.s.Write(make([]byte, 4096))
		}},
		{"notify unknown field", NotifyID, ReasonMalformed, func(r *raw) {
			b := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 3)
			r.sendFrame(protowire.AppendVarint(protowire.AppendTag(b, 9, protowire.VarintType), 1))
		}},
		{"sync limit 0", SyncID, ReasonMalformed, func(r *raw) { r.send(&pb.SyncRequest{After: 0, Limit: 0}) }},
		{"sync receipt signed by another key", SyncID, ReasonBadSignature, func(r *raw) {
			seqs, digest := readBatch(t, r)
			rc, err := signReceipt(newKey(t), Receipt{Publisher: a.id, Upto: 2, Seqs: seqs, Digest: digest, Time: timeNow()})
			if err != nil {
				t.Fatal(err)
			}
			rc.Peer = e.id
			r.send(receiptToWire(&rc))
			r.s.CloseWrite()
		}},
		{"sync receipt with a wrong digest", SyncID, ReasonMalformed, func(r *raw) {
			seqs, _ := readBatch(t, r)
			rc, err := signReceipt(e.key, Receipt{Publisher: a.id, Upto: 2, Seqs: seqs, Time: timeNow()})
			if err != nil {
				t.Fatal(err)
			}
			r.send(receiptToWire(&rc))
			r.s.CloseWrite()
		}},
		{"fetch bad hash", FetchID, ReasonMalformed, func(r *raw) { r.send(&pb.FetchRequest{Hash: "xyz"}) }},
		{"fetch beyond the end", FetchID, ReasonMalformed, func(r *raw) { r.send(&pb.FetchRequest{Hash: hash, Offset: 1001}) }},
	}
	want := map[string]uint64{}
	for _, r := range reasons {
		want[r] = 0
	}
	for _, tc := range cases {
		r := openRaw(t, e, a.id, tc.id)
		tc.play(r)
		if !r.refused() {
			t.Errorf("%s: stream not reset", tc.name)
		}
		want[tc.reason]++
		if got := a.svc.Stats().Rejected; !mapsEqual(got, want) {
			t.Fatalf("%s: rejections %v, want %v", tc.name, got, want)
		}
	}
	if d := a.b.deliveryList(); len(d) != 0 || a.svc.Stats().Handshakes != 0 {
		t.Errorf("%d deliveries and %d handshakes after bad traffic, want none", len(d), a.svc.Stats().Handshakes)
	}
	ps, err := e.svc.Pull(ctxT(t), a.id)
	if err != nil || ps.Accepted != 2 {
		t.Errorf("honest Pull = %+v, %v", ps, err)
	}
	var buf bytes.Buffer
	if _, err := e.svc.Fetch(ctxT(t), a.id, hash, &buf, 0); err != nil || !bytes.Equal(buf.Bytes(), chunk) {
		t.Errorf("honest Fetch: %v", err)
	}
	if d := a.b.deliveryList(); len(d) != 2 {
		t.Errorf("%d deliveries after honest traffic, want 2", len(d))
	}
	if connID(t, e, a) != conn {
		t.Error("the connection was replaced")
	}
}

// readBatch requests the whole log and reads one batch.
func readBatch(t testing.TB, r *raw) ([]uint64, [32]byte) {
	t.Helper()
	r.send(&pb.SyncRequest{After: 0, Limit: 10})
	var envs []Envelope
	for {
		var m pb.SyncResponse
		r.recv(&m)
		raw, end, err := syncResponseFromWire(&m)
		if err != nil {
			t.Fatal(err)
		}
		if end != nil {
			break
		}
		e, err := UnmarshalEnvelope(raw)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	seqs := make([]uint64, len(envs))
	for i := range envs {
		seqs[i] = envs[i].Seq
	}
	return seqs, BatchDigest(envs)
}

// TestNonMemberRefused: an outsider is refused by the gater on every
// protocol, and, past a gater that admits it, by every handler.
func TestNonMemberRefused(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	a.publish(t, KindIndicator, "i-1", 1, nil, usage.Green)
	chunk, hash := randomChunk(t, 100)
	a.b.chunks[hash] = chunk

	ops := func(n *node, p peer.ID) map[string]error {
		ctx := ctxT(t)
		_, hello := n.svc.Hello(ctx, p)
		_, pull := n.svc.Pull(ctx, p)
		_, fetch := n.svc.Fetch(ctx, p, hash, io.Discard, 0)
		return map[string]error{"hello": hello, "notify": n.svc.Notify(ctx, p), "sync": pull, "fetch": fetch}
	}

	// x believes a is a member; a does not know x.
	msX := newMembership()
	x := newNode(t, msX, nodeOpts{cfg: Config{MaxRetries: -1}})
	msX.add(a.id)
	_ = x.h.Connect(ctxT(t), peer.AddrInfo{ID: a.id, Addrs: a.h.Addrs()}) // may look established
	for op, err := range ops(x, a.id) {
		if err == nil {
			t.Errorf("outsider's %s succeeded through the gater", op)
		}
	}
	if err := a.h.Connect(ctxT(t), peer.AddrInfo{ID: x.id, Addrs: x.h.Addrs()}); err == nil {
		t.Error("member dialled an outsider")
	}
	for op, err := range ops(a, x.id) {
		if !errors.Is(err, ErrNotMember) {
			t.Errorf("%s to an outsider = %v, want ErrNotMember", op, err)
		}
	}
	if st := a.svc.Stats(); st.Handshakes != 0 || st.Notifies != 0 || st.Sent != 0 || len(a.b.deliveryList()) != 0 {
		t.Errorf("outsider got through: %+v", st)
	}

	// o's gater admits everyone; its handlers must still refuse y.
	msO := newMembership()
	o := newNode(t, msO, nodeOpts{open: true})
	o.b.chunks[hash] = chunk
	msY := newMembership()
	y := newNode(t, msY, nodeOpts{cfg: Config{MaxRetries: -1}})
	msY.add(o.id)
	connect(t, y, o)
	for op, err := range ops(y, o.id) {
		if err == nil {
			t.Errorf("outsider's %s succeeded past the handler", op)
		}
	}
	if got := o.svc.Stats().Rejected[ReasonNotMember]; got != 4 {
		t.Errorf("handler not_member rejections = %d, want 4 (one per protocol)", got)
	}

	// Members are still served.
	b := newNode(t, ms, nodeOpts{})
	connect(t, b, a)
	if ps, err := b.svc.Pull(ctxT(t), a.id); err != nil || ps.Accepted != 1 {
		t.Errorf("member Pull = %+v, %v", ps, err)
	}
}

// TestMembershipRevoked: a peer removed from the list while connected is
// refused by the handlers on its next stream.
func TestMembershipRevoked(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{})
	b := newNode(t, ms, nodeOpts{cfg: Config{MaxRetries: -1}})
	connect(t, b, a)
	a.publish(t, KindIndicator, "i-1", 1, nil, usage.Green)
	ms.remove(b.id)
	defer ms.add(b.id)
	// b still counts a as a member (its own list is the same here, so put
	// b's view back for the call) and tries to pull.
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	b.b.members = newMembership()
	b.b.members.add(a.id)
	if _, err := b.svc.Pull(ctx, a.id); err == nil {
		t.Error("revoked member pulled")
	}
	if got := a.svc.Stats().Rejected[ReasonNotMember]; got != 1 {
		t.Errorf("not_member = %d, want 1", got)
	}
}
