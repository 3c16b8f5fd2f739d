package protocol

import (
	"errors"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// forwardOf seals a forwarding envelope of inner with a fresh key.
func forwardOf(t testing.TB, inner Envelope, edit func(*Envelope)) Envelope {
	t.Helper()
	raw, err := MarshalEnvelope(inner)
	if err != nil {
		t.Fatal(err)
	}
	e := Envelope{Kind: KindForward, ArtifactID: ForwardID(inner.ArtifactID), Version: inner.Version, Payload: raw, Seq: 3,
		Created: inner.Created.Add(time.Hour), Usage: inner.Usage}
	if edit != nil {
		edit(&e)
	}
	out, err := Seal(newKey(t), e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenForward(t *testing.T) {
	inner := sealed(t) // reshare group
	got, err := OpenForward(ptr(forwardOf(t, inner, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != inner.Digest() || got.Publisher != inner.Publisher {
		t.Fatal("the opened envelope is not the originator's")
	}
	if id, ok := ForwardedID(ForwardID(inner.ArtifactID)); !ok || id != inner.ArtifactID {
		t.Fatalf("ForwardedID = %q, %v", id, ok)
	}

	none := vectorEnvelope()
	none.Usage.Reshare = usage.ReshareNone
	noneSealed, err := Seal(vectorKey(t), none)
	if err != nil {
		t.Fatal(err)
	}
	tampered := inner
	tampered.Payload = []byte(`{"type":"ipv4","value":"192.0.2.8"}`)
	nested := forwardOf(t, inner, nil)
	own, err := Seal(vectorKey(t), Envelope{Kind: KindForward, ArtifactID: ForwardID(inner.ArtifactID), Version: inner.Version,
		Payload: mustEnvelope(t, inner), Seq: 9, Usage: inner.Usage})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		e    Envelope
		want error
	}{
		{"reshare none", forwardOf(t, noneSealed, nil), ErrNoReshare},
		{"inner signature broken", forwardOf(t, tampered, nil), ErrBadSignature},
		{"nested", forwardOf(t, nested, nil), ErrMalformed},
		{"own artifact", own, ErrMalformed},
		{"other artifact id", forwardOf(t, inner, func(e *Envelope) { e.ArtifactID = ForwardID("other") }), ErrMalformed},
		{"other version", forwardOf(t, inner, func(e *Envelope) { e.Version++ }), ErrMalformed},
		{"garbage", forwardOf(t, inner, func(e *Envelope) { e.Payload = []byte{0xff, 0x01} }), ErrMalformed},
		{"not a forward", inner, ErrMalformed},
	} {
		if _, err := OpenForward(&tc.e); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestForwardPolicyNeverWidens(t *testing.T) {
	in := usage.Policy{TLP: usage.Amber, Purposes: []string{"detection", "research"}, RetentionDays: 30, Reshare: usage.ReshareGroup}
	out := usage.Policy{TLP: usage.Green, Purposes: []string{"research"}, RetentionDays: 90, Reshare: usage.ReshareCommunity}
	got := ForwardPolicy(in, out)
	if got.TLP != usage.Amber || got.Reshare != usage.ReshareGroup || got.RetentionDays != 30 || len(got.Purposes) != 1 {
		t.Fatalf("ForwardPolicy = %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }

func mustEnvelope(t testing.TB, e Envelope) []byte {
	t.Helper()
	b, err := MarshalEnvelope(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzOpenForward(f *testing.F) {
	inner := sealed(f)
	f.Add(mustEnvelope(f, inner))
	f.Add(mustEnvelope(f, forwardOf(f, inner, nil)))
	f.Add([]byte{})
	key := newKey(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		e, err := Seal(key, Envelope{Kind: KindForward, ArtifactID: ForwardID(inner.ArtifactID), Version: inner.Version,
			Payload: payload, Seq: 1, Usage: inner.Usage})
		if err != nil {
			return
		}
		got, err := OpenForward(&e)
		if err != nil {
			return
		}
		if err := got.Verify(); err != nil || got.Kind == KindForward || got.Usage.Reshare == usage.ReshareNone {
			t.Fatalf("opened an envelope that should have been refused: %+v, %v", got, err)
		}
	})
}
