package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// testChain builds a chain of n entries of every kind.
func testChain(n int) []AuditEntry {
	kinds := []string{AuditEgress, AuditIngress, AuditKey, AuditPolicy, AuditErasure, AuditRetention}
	var out []AuditEntry
	for i := range n {
		e := AuditEntry{
			Time: t0.Add(time.Duration(i) * time.Second), Kind: kinds[i%len(kinds)], Artifact: ArtifactRef(KindIndicator, "ind-"+string(rune('a'+i%26))),
			Version: uint64(i % 3), Peer: certB, Rule: "indicators-to-certs", PolicyVersion: "pol-0123", Decision: DecisionAllow, Reason: "permitted",
		}
		var prev *AuditEntry
		if len(out) > 0 {
			prev = &out[len(out)-1]
		}
		out = append(out, Chain(prev, e))
	}
	return out
}

func wantChainError(t *testing.T, what string, err error, seq uint64) {
	t.Helper()
	var ce *ChainError
	if !errors.As(err, &ce) || !errors.Is(err, ErrChainBroken) {
		t.Errorf("%s: VerifyChain = %v, want a *ChainError", what, err)
		return
	}
	if ce.Seq != seq {
		t.Errorf("%s: first bad seq = %d (%s), want %d", what, ce.Seq, ce.Reason, seq)
	}
}

func TestChainIntact(t *testing.T) {
	c := testChain(10)
	if err := VerifyChain(c); err != nil {
		t.Fatalf("VerifyChain(intact) = %v", err)
	}
	if err := VerifyChain(nil); err != nil {
		t.Errorf("VerifyChain(empty) = %v", err)
	}
	for i, e := range c {
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
		if i > 0 && e.Prev != c[i-1].Hash {
			t.Errorf("entry %d does not link to the one before", i)
		}
	}
	if c[0].Prev != ([32]byte{}) {
		t.Error("first entry has a Prev")
	}
	if err := VerifyChainFrom(&c[3], c[4:]); err != nil {
		t.Errorf("VerifyChainFrom(anchor 4) = %v", err)
	}
	wantChainError(t, "wrong anchor", VerifyChainFrom(&c[2], c[4:]), 4)
}

func TestChainTamper(t *testing.T) {
	fresh := func() []AuditEntry { return testChain(10) }
	t.Run("edit", func(t *testing.T) {
		for _, edit := range []func(*AuditEntry){
			func(e *AuditEntry) { e.Decision = DecisionDeny },
			func(e *AuditEntry) { e.Reason += "." },
			func(e *AuditEntry) { e.Time = e.Time.Add(time.Nanosecond) },
			func(e *AuditEntry) { e.Version++ },
			func(e *AuditEntry) { e.Peer = certC },
			func(e *AuditEntry) { e.PolicyVersion = "pol-other" },
			func(e *AuditEntry) { e.Prev[0] ^= 1 },
			func(e *AuditEntry) { e.Seq = 50 },
		} {
			c := fresh()
			edit(&c[4])
			wantChainError(t, "edited entry 5", VerifyChain(c), 5)
		}
	})
	t.Run("edit and rehash", func(t *testing.T) {
		c := fresh()
		c[4].Reason = "forged"
		c[4] = Chain(&c[3], c[4])
		wantChainError(t, "rehashed entry 5", VerifyChain(c), 6)
	})
	t.Run("remove", func(t *testing.T) {
		for _, i := range []int{0, 4, 8} {
			c := fresh()
			c = slices.Delete(c, i, i+1)
			wantChainError(t, "removed entry", VerifyChain(c), uint64(i+1))
		}
	})
	t.Run("remove and renumber", func(t *testing.T) {
		c := fresh()
		c = slices.Delete(c, 4, 5)
		for i := 4; i < len(c); i++ {
			c[i].Seq--
		}
		wantChainError(t, "renumbered", VerifyChain(c), 5)
	})
	t.Run("reorder", func(t *testing.T) {
		c := fresh()
		c[4], c[5] = c[5], c[4]
		wantChainError(t, "swapped 5 and 6", VerifyChain(c), 5)
		c = fresh()
		c[0], c[9] = c[9], c[0]
		wantChainError(t, "swapped 1 and 10", VerifyChain(c), 1)
	})
	t.Run("insert", func(t *testing.T) {
		c := fresh()
		c = slices.Insert(c, 5, c[4])
		wantChainError(t, "repeated entry", VerifyChain(c), 6)
		c = fresh()
		forged := Chain(&c[4], AuditEntry{Kind: AuditEgress, Peer: bankD, Decision: DecisionAllow})
		c = slices.Insert(c, 5, forged)
		wantChainError(t, "inserted entry", VerifyChain(c), 7)
	})
}

func TestChainClipsAndNormalises(t *testing.T) {
	long := strings.Repeat("é", MaxFieldLen) // 2 bytes each
	e := Chain(nil, AuditEntry{Time: t0.In(time.FixedZone("X", 3600)), Reason: long, Kind: AuditEgress})
	if len(e.Reason) > MaxFieldLen || !strings.HasPrefix(long, e.Reason) || len(e.Reason) < MaxFieldLen-1 {
		t.Errorf("clipped reason has %d bytes", len(e.Reason))
	}
	if e.Time.Location() != time.UTC || !e.Time.Equal(t0) {
		t.Errorf("time = %v, want %v in UTC", e.Time, t0)
	}
	got, err := DecodeEntry(EncodeEntry(e))
	if err != nil || got != e {
		t.Errorf("round trip of a clipped entry: %v\n got %+v\nwant %+v", err, got, e)
	}
}

// TestEncodingLayout spells out the documented encoding of one entry and
// its hash: a change of the format must be deliberate.
func TestEncodingLayout(t *testing.T) {
	e := AuditEntry{
		Seq: 300, Time: time.Unix(1700000000, 5).UTC(), Kind: "egress", Artifact: "indicator/i1", Version: 2,
		Peer: "P", Rule: "r", PolicyVersion: "pol-1", Decision: "allow", Reason: "",
	}
	e.Prev[0], e.Prev[31] = 0xaa, 0xbb
	var want []byte
	want = append(want, 1)          // format
	want = append(want, 0xac, 0x02) // uvarint 300
	want = binary.BigEndian.AppendUint64(want, 1700000000)
	want = binary.BigEndian.AppendUint32(want, 5)
	for _, s := range []string{"egress", "indicator/i1"} {
		want = append(want, byte(len(s)))
		want = append(want, s...)
	}
	want = append(want, 2) // version
	for _, s := range []string{"P", "r", "pol-1", "allow", ""} {
		want = append(want, byte(len(s)))
		want = append(want, s...)
	}
	want = append(want, e.Prev[:]...)
	e.Hash = sha256.Sum256(append([]byte("flowfed audit entry\x00"), want...))
	chained := Chain(&AuditEntry{Seq: 299, Hash: e.Prev}, AuditEntry{Time: e.Time, Kind: e.Kind, Artifact: e.Artifact, Version: 2, Peer: "P", Rule: "r", PolicyVersion: "pol-1", Decision: "allow"})
	if chained != e {
		t.Errorf("Chain = %+v\nwant %+v", chained, e)
	}
	if got := EncodeEntry(e); !bytes.Equal(got, append(want, e.Hash[:]...)) {
		t.Errorf("EncodeEntry =\n%x\nwant\n%x", got, append(want, e.Hash[:]...))
	}
	const vector = "68bcf6afa26415f678820c65db375d1b88498f56c383a51df366cdb475667712"
	if got := hex.EncodeToString(e.Hash[:]); got != vector {
		t.Errorf("hash = %s, want the vector %s", got, vector)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	entries := append(testChain(5),
		AuditEntry{},
		Chain(nil, AuditEntry{Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Reason: "∑ unicode ✓", Seq: 1 << 62}),
		AuditEntry{Seq: ^uint64(0), Version: ^uint64(0), Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
	)
	for i, e := range entries {
		b := EncodeEntry(e)
		got, err := DecodeEntry(b)
		if err != nil {
			t.Fatalf("#%d: DecodeEntry = %v", i, err)
		}
		if got != e {
			t.Errorf("#%d: round trip\n got %+v\nwant %+v", i, got, e)
		}
		if again := EncodeEntry(got); !bytes.Equal(again, b) {
			t.Errorf("#%d: re-encoding differs", i)
		}
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	good := EncodeEntry(testChain(1)[0])
	mutate := func(f func([]byte) []byte) []byte { return f(slices.Clone(good)) }
	cases := map[string][]byte{
		"empty":           {},
		"format":          mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"truncated":       good[:len(good)-1],
		"trailing":        append(slices.Clone(good), 0),
		"non-minimal seq": mutate(func(b []byte) []byte { return append(b[:1], append([]byte{0x81, 0x00}, b[2:]...)...) }),
		"nanoseconds":     mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[10:], 1e9); return b }),
		"year 10000":      mutate(func(b []byte) []byte { binary.BigEndian.PutUint64(b[2:], maxUnix+1); return b }),
		"long field": func() []byte {
			b := []byte{1, 1}
			b = binary.BigEndian.AppendUint64(b, 0)
			b = binary.BigEndian.AppendUint32(b, 0)
			b = binary.AppendUvarint(b, MaxFieldLen+1)
			return append(b, make([]byte, MaxFieldLen+1+200)...)
		}(),
	}
	for name, b := range cases {
		if e, err := DecodeEntry(b); !errors.Is(err, ErrEntry) || e != (AuditEntry{}) {
			t.Errorf("%s: DecodeEntry = %+v, %v; want ErrEntry", name, e, err)
		}
	}
}

func TestPolicyEntry(t *testing.T) {
	p := loadExample(t)
	a := art(KindIndicator, 3)
	d := p.Decide(peer(certB), a)
	e := Chain(nil, p.Entry(Egress, t0, peer(certB), a, d))
	if e.Kind != AuditEgress || e.Artifact != "indicator/indicator-1" || e.Decision != DecisionAllow ||
		e.Rule != "indicators-to-certs" || e.PolicyVersion != p.Version() || e.Peer != certB {
		t.Errorf("Entry = %+v", e)
	}
}
