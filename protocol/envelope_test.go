package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// vectorKey is a fixed test key: the Ed25519 key of seed 00 01 02 … 1f.
func vectorKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func vectorEnvelope() Envelope {
	return Envelope{
		Kind: KindIndicator, ArtifactID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: 2,
		Payload: []byte(`{"type":"ipv4","value":"192.0.2.7"}`), Seq: 7,
		Created: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC),
		Usage: usage.Policy{TLP: usage.Green, PAP: usage.PAPAmber, Purposes: []string{"detection", "research"},
			LegalBasis: "legitimate-interest", RetentionDays: 30, Reshare: usage.ReshareGroup, KMin: 5},
	}
}

func sealed(t testing.TB) Envelope {
	t.Helper()
	e, err := Seal(vectorKey(t), vectorEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEnvelopeVector pins the canonical signed encoding. The expected bytes
// are spelled out field by field here, independently of signedBytes, and the
// digest and (deterministic) Ed25519 signature are fixed: they must never
// change silently, or envelopes stored by older nodes stop verifying.
func TestEnvelopeVector(t *testing.T) {
	e := sealed(t)
	const (
		wantPublisher = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"
		wantDigest    = "b7d37cfd2001697ad71b06f9257f441ef887b2bcb7c573a10d9e35bf49dab8f7"
	)
	if got := e.Publisher.String(); got != wantPublisher {
		t.Errorf("Publisher = %s, want %s", got, wantPublisher)
	}
	if want := time.Date(2025, 3, 31, 12, 0, 0, 123456789, time.UTC); !e.Usage.RetainUntil.Equal(want) {
		t.Errorf("RetainUntil = %v, want %v (Created + 30 days)", e.Usage.RetainUntil, want)
	}

	u32 := func(n int) string { return fmt.Sprintf("%08x", n) }
	u64 := func(n uint64) string { return fmt.Sprintf("%016x", n) }
	str := func(s string) string { return u32(len(s)) + hex.EncodeToString([]byte(s)) }
	payload := `{"type":"ipv4","value":"192.0.2.7"}`
	created := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC).UnixNano()
	until := time.Date(2025, 3, 31, 12, 0, 0, 123456789, time.UTC).UnixNano()
	spec := hex.EncodeToString([]byte("flowfed/envelope/v1\x00")) +
		str("indicator") + str("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f") + u64(2) +
		str(payload) + str(string(e.Publisher)) + u64(7) + u64(uint64(created)) +
		"02" + "03" + "02" + // TLP GREEN, PAP AMBER, reshare group
		u32(2) + str("detection") + str("research") + str("legitimate-interest") +
		u64(30) + u64(uint64(until)) + u64(5)
	want, err := hex.DecodeString(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.signedBytes(); !bytes.Equal(got, want) {
		t.Fatalf("signed bytes\n got %x\nwant %x", got, want)
	}
	d := e.Digest()
	if sum := sha256.Sum256(want); d != sum {
		t.Errorf("Digest = %x, want SHA-256 of the signed bytes %x", d, sum)
	}
	if got := hex.EncodeToString(d[:]); got != wantDigest {
		t.Errorf("Digest = %s, want %s", got, wantDigest)
	}
	raw, _ := vectorKey(t).Raw()
	if sig := ed25519.Sign(ed25519.PrivateKey(raw), want); !bytes.Equal(e.Signature, sig) {
		t.Errorf("Signature = %x, want %x", e.Signature, sig)
	}
}

func TestSealVerify(t *testing.T) {
	e := sealed(t)
	if err := e.Verify(); err != nil {
		t.Fatalf("Verify of a sealed envelope: %v", err)
	}
	other, _ := peer.IDFromPrivateKey(newKey(t))
	tampers := map[string]func(*Envelope){
		"kind":         func(e *Envelope) { e.Kind = KindSighting },
		"artifact":     func(e *Envelope) { e.ArtifactID += "x" },
		"version":      func(e *Envelope) { e.Version++ },
		"payload":      func(e *Envelope) { e.Payload = append([]byte(nil), e.Payload...); e.Payload[0] ^= 1 },
		"publisher":    func(e *Envelope) { e.Publisher = other },
		"seq":          func(e *Envelope) { e.Seq++ },
		"created":      func(e *Envelope) { e.Created = e.Created.Add(time.Nanosecond) },
		"tlp":          func(e *Envelope) { e.Usage.TLP = usage.Clear },
		"pap":          func(e *Envelope) { e.Usage.PAP = usage.PAPClear },
		"purposes":     func(e *Envelope) { e.Usage.Purposes = []string{"research"} },
		"legal basis":  func(e *Envelope) { e.Usage.LegalBasis = "consent" },
		"retention":    func(e *Envelope) { e.Usage.RetentionDays++ },
		"retain until": func(e *Envelope) { e.Usage.RetainUntil = e.Usage.RetainUntil.Add(time.Second) },
		"reshare":      func(e *Envelope) { e.Usage.Reshare = usage.ReshareCommunity },
		"k_min":        func(e *Envelope) { e.Usage.KMin = 1 },
		"signature":    func(e *Envelope) { e.Signature = append([]byte(nil), e.Signature...); e.Signature[5] ^= 0x40 },
		"unsigned":     func(e *Envelope) { e.Signature = nil },
	}
	d0 := e.Digest()
	for name, tamper := range tampers {
		t.Run(name, func(t *testing.T) {
			c := e
			c.Usage.Purposes = append([]string(nil), e.Usage.Purposes...)
			tamper(&c)
			if err := c.Verify(); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify after changing %s = %v, want ErrBadSignature", name, err)
			}
			if name != "signature" && name != "unsigned" && c.Digest() == d0 {
				t.Errorf("Digest unchanged after changing %s", name)
			}
		})
	}
}

func TestSealRejects(t *testing.T) {
	key := vectorKey(t)
	for name, tc := range map[string]struct {
		mod  func(*Envelope)
		want error
	}{
		"empty kind":     {func(e *Envelope) { e.Kind = "" }, ErrMalformed},
		"upper kind":     {func(e *Envelope) { e.Kind = "Dataset" }, ErrMalformed},
		"long kind":      {func(e *Envelope) { e.Kind = strings.Repeat("a", MaxKind+1) }, ErrMalformed},
		"no artifact":    {func(e *Envelope) { e.ArtifactID = "" }, ErrMalformed},
		"control chars":  {func(e *Envelope) { e.ArtifactID = "a\nb" }, ErrMalformed},
		"long artifact":  {func(e *Envelope) { e.ArtifactID = strings.Repeat("a", MaxArtifactID+1) }, ErrMalformed},
		"version 0":      {func(e *Envelope) { e.Version = 0 }, ErrMalformed},
		"seq 0":          {func(e *Envelope) { e.Seq = 0 }, ErrMalformed},
		"huge payload":   {func(e *Envelope) { e.Payload = make([]byte, MaxEnvelope) }, ErrTooLarge},
		"before epoch":   {func(e *Envelope) { e.Created = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrMalformed},
		"after int64 ns": {func(e *Envelope) { e.Created = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrMalformed},
		"many purposes": {func(e *Envelope) {
			for i := range maxPurposes + 1 {
				e.Usage.Purposes = append(e.Usage.Purposes, fmt.Sprintf("p%d", i))
			}
		}, ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			e := vectorEnvelope()
			tc.mod(&e)
			if _, err := Seal(key, e); !errors.Is(err, tc.want) {
				t.Errorf("Seal = %v, want %v", err, tc.want)
			}
		})
	}
	secp, _, err := crypto.GenerateSecp256k1Key(nil)
	if err == nil {
		if _, err := Seal(secp, vectorEnvelope()); err == nil {
			t.Error("Seal with a secp256k1 key succeeded, want an error")
		}
	}
}

func TestMarshalEnvelopeRoundTrip(t *testing.T) {
	e := sealed(t)
	b, err := MarshalEnvelope(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("UnmarshalEnvelope(MarshalEnvelope(e)) = %+v, want %+v", got, e)
	}
	if err := got.Verify(); err != nil {
		t.Errorf("Verify after round trip: %v", err)
	}
	b2, _ := MarshalEnvelope(got)
	if !bytes.Equal(b, b2) {
		t.Error("marshalling is not deterministic")
	}
}

func TestUnmarshalEnvelopeStrict(t *testing.T) {
	e := sealed(t)
	good, _ := MarshalEnvelope(e)
	mod := func(f func(*pb.Envelope)) []byte {
		m := envelopeToWire(&e)
		m.Usage = proto.Clone(m.Usage).(*pb.UsagePolicy)
		f(m)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unknown := protowire.AppendTag(append([]byte(nil), good...), 99, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 1)
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":            {nil, ErrMalformed},
		"garbage":          {[]byte{0xff, 0xff, 0xff}, ErrMalformed},
		"truncated":        {good[:len(good)-3], ErrMalformed},
		"unknown field":    {unknown, ErrMalformed},
		"oversized":        {make([]byte, MaxEnvelope+1), ErrTooLarge},
		"no usage":         {mod(func(m *pb.Envelope) { m.Usage = nil }), ErrMalformed},
		"tlp 0":            {mod(func(m *pb.Envelope) { m.Usage.Tlp = 0 }), ErrMalformed},
		"tlp 300":          {mod(func(m *pb.Envelope) { m.Usage.Tlp = 300 }), ErrMalformed},
		"unsorted purpose": {mod(func(m *pb.Envelope) { m.Usage.Purposes = []string{"z", "a"} }), ErrMalformed},
		"negative k":       {mod(func(m *pb.Envelope) { m.Usage.KMin = -1 }), ErrMalformed},
		"bad publisher":    {mod(func(m *pb.Envelope) { m.Publisher = []byte{1, 2, 3} }), ErrMalformed},
		"created 0":        {mod(func(m *pb.Envelope) { m.CreatedUnixNano = 0 }), ErrMalformed},
		"long signature":   {mod(func(m *pb.Envelope) { m.Signature = make([]byte, 65) }), ErrMalformed},
		"invalid utf-8":    {protowire.AppendBytes(protowire.AppendTag(mod(func(m *pb.Envelope) { m.ArtifactId = "" }), 2, protowire.BytesType), []byte{0xff}), ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := UnmarshalEnvelope(tc.b); !errors.Is(err, tc.want) {
				t.Errorf("UnmarshalEnvelope = %v, want %v", err, tc.want)
			}
		})
	}
	// A wrong signature decodes (it is well-formed) but does not verify.
	bad := mod(func(m *pb.Envelope) { m.Signature = make([]byte, 64) })
	got, err := UnmarshalEnvelope(bad)
	if err != nil {
		t.Fatalf("UnmarshalEnvelope of a zero signature: %v", err)
	}
	if err := got.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify of a zero signature = %v, want ErrBadSignature", err)
	}
}

func TestReceiptSignVerify(t *testing.T) {
	key := vectorKey(t)
	pub, _ := peer.IDFromPrivateKey(newKey(t))
	e := sealed(t)
	r, err := signReceipt(key, Receipt{Publisher: pub, Upto: 9, Seqs: []uint64{e.Seq}, Digest: BatchDigest([]Envelope{e}), Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got, err := decodeReceipt(mustMarshal(t, receiptToWire(&r)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("receipt round trip = %+v, want %+v", got, r)
	}
	for name, f := range map[string]func(*Receipt){
		"upto":      func(r *Receipt) { r.Upto++ },
		"seqs":      func(r *Receipt) { r.Seqs = []uint64{6} },
		"digest":    func(r *Receipt) { r.Digest[0] ^= 1 },
		"nonce":     func(r *Receipt) { r.Nonce[0] ^= 1 },
		"publisher": func(r *Receipt) { r.Publisher = r.Peer },
		"time":      func(r *Receipt) { r.Time = r.Time.Add(time.Second) },
	} {
		c := r
		f(&c)
		if err := c.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify after changing %s = %v, want ErrBadSignature", name, err)
		}
	}
	if BatchDigest(nil) == BatchDigest([]Envelope{e}) {
		t.Error("BatchDigest ignores its envelopes")
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaultDecider(t *testing.T) {
	for _, tc := range []struct {
		tlp   usage.TLP
		allow bool
	}{
		{usage.Clear, true}, {usage.Green, true}, {usage.Amber, true},
		{usage.AmberStrict, false}, {usage.Red, false}, {0, false}, {99, false},
	} {
		e := Envelope{Usage: usage.Policy{TLP: tc.tlp}}
		d, err := DefaultDecider{}.Decide("", &e)
		if err != nil || d.Allow != tc.allow || d.Rule == "" || d.Reason == "" {
			t.Errorf("Decide(TLP %d) = %+v, %v; want Allow %v with rule and reason", tc.tlp, d, err, tc.allow)
		}
	}
}
