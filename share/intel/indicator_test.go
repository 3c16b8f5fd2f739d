package intel

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

const (
	orgA = "identity--5f0c2a8e-0000-4000-8000-0000000000aa"
	orgB = "identity--5f0c2a8e-0000-4000-8000-0000000000bb"
)

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func newTestIndicator(t testing.TB, typ Type, v string) Indicator {
	t.Helper()
	ind, err := NewIndicator(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	ind.Created, ind.Modified, ind.ValidFrom = t0, t0, t0
	ind.Policy = usage.Default()
	return ind
}

func TestApply(t *testing.T) {
	ind := newTestIndicator(t, TypeIPv4, "192.0.2.1")
	ind.Sources = []Source{{Format: FormatMISP, ID: "5f0c2a8e-0000-4000-8000-000000000001", Event: "e1", Modified: t0}}
	v1, err := Apply(nil, ind, orgA)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Origin != orgA || v1.Version != 1 || v1.Sources[0].Version != 1 {
		t.Fatalf("first version: origin %s version %d source version %d", v1.Origin, v1.Version, v1.Sources[0].Version)
	}
	if _, err := Apply(nil, v1, orgB); !errors.Is(err, ErrNotOriginator) {
		t.Errorf("creating A's indicator as B = %v, want ErrNotOriginator", err)
	}

	up := v1
	up.Confidence = 90
	up.Modified = t0.Add(time.Hour)
	up.Sources = []Source{{Format: FormatMISP, ID: "5f0c2a8e-0000-4000-8000-000000000002", Event: "e2", Modified: up.Modified}}
	if _, err := Apply(&v1, up, orgB); !errors.Is(err, ErrNotOriginator) {
		t.Errorf("Apply by B = %v, want ErrNotOriginator", err)
	}
	if _, err := Apply(&v1, up, ""); !errors.Is(err, ErrNotOriginator) {
		t.Errorf("Apply by nobody = %v, want ErrNotOriginator", err)
	}
	claim := up
	claim.Origin = orgB
	if _, err := Apply(&v1, claim, orgA); !errors.Is(err, ErrNotOriginator) {
		t.Errorf("update claiming another originator = %v, want ErrNotOriginator", err)
	}
	v2, err := Apply(&v1, up, orgA)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Confidence != 90 || !v2.Created.Equal(t0) || len(v2.Sources) != 2 ||
		v2.Sources[0].Version != 1 || v2.Sources[1].Version != 2 {
		t.Errorf("second version: %+v", v2)
	}
	// Not newer: same Modified, older Modified, older Version.
	same := v2
	if _, err := Apply(&v2, same, orgA); !errors.Is(err, ErrStale) {
		t.Errorf("same modified = %v, want ErrStale", err)
	}
	older := v2
	older.Modified = t0.Add(30 * time.Minute)
	if _, err := Apply(&v2, older, orgA); !errors.Is(err, ErrStale) {
		t.Errorf("older modified = %v, want ErrStale", err)
	}
	oldVersion := v2
	oldVersion.Version = 1
	oldVersion.Modified = t0.Add(2 * time.Hour)
	if _, err := Apply(&v2, oldVersion, orgA); !errors.Is(err, ErrStale) {
		t.Errorf("older version = %v, want ErrStale", err)
	}
	other := newTestIndicator(t, TypeIPv4, "192.0.2.2")
	other.Modified = t0.Add(2 * time.Hour)
	if _, err := Apply(&v2, other, orgA); !errors.Is(err, ErrIDMismatch) {
		t.Errorf("other value = %v, want ErrIDMismatch", err)
	}
	bad := v2
	bad.Modified = t0.Add(2 * time.Hour)
	bad.Confidence = 101
	if _, err := Apply(&v2, bad, orgA); !errors.Is(err, ErrInvalid) {
		t.Errorf("confidence 101 = %v, want ErrInvalid", err)
	}

	// Revocation is a version; nothing follows it.
	v3, err := Revoke(v2, orgA, t0.Add(3*time.Hour), "sinkholed")
	if err != nil {
		t.Fatal(err)
	}
	if !v3.Revoked || v3.Version != 3 || v3.Description != "Revoked: sinkholed" || !v3.Decayed(t0.Add(3*time.Hour)) {
		t.Errorf("tombstone: %+v", v3)
	}
	after := v3
	after.Revoked = false
	after.Modified = t0.Add(4 * time.Hour)
	if _, err := Apply(&v3, after, orgA); !errors.Is(err, ErrRevoked) {
		t.Errorf("update after revocation = %v, want ErrRevoked", err)
	}
	if _, err := Revoke(v2, orgB, t0.Add(3*time.Hour), ""); !errors.Is(err, ErrNotOriginator) {
		t.Errorf("Revoke by B = %v, want ErrNotOriginator", err)
	}

	// Expiry is a version with ValidUntil.
	v3e, err := Expire(v2, orgA, t0.Add(48*time.Hour), t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !v3e.ValidUntil.Equal(t0.Add(48*time.Hour)) || v3e.Version != 3 || v3e.Decayed(t0.Add(47*time.Hour)) || !v3e.Decayed(t0.Add(48*time.Hour)) {
		t.Errorf("expired version: valid until %v version %d", v3e.ValidUntil, v3e.Version)
	}
	if _, err := Expire(v2, orgA, t0.Add(-time.Hour), t0.Add(3*time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("expiry before valid_from = %v, want ErrInvalid", err)
	}
}

func TestLink(t *testing.T) {
	a := newTestIndicator(t, TypeDomain, "c2.example")
	a.Sources = []Source{{Format: FormatMISP, ID: "u1", Event: "e1", Modified: t0}}
	a, _ = Apply(nil, a, orgA)
	b := newTestIndicator(t, TypeDomain, "C2.Example.")
	b.Confidence = 10
	b.Sources = []Source{{Format: FormatMISP, ID: "u2", Event: "e2", Modified: t0, Org: orgB}}
	l, err := Link(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sources) != 2 || l.Confidence != a.Confidence || l.Version != a.Version {
		t.Errorf("linked: %d sources, confidence %d, version %d", len(l.Sources), l.Confidence, l.Version)
	}
	if l2, _ := Link(l, b); len(l2.Sources) != 2 {
		t.Errorf("linking twice: %d sources", len(l2.Sources))
	}
	if _, err := Link(a, newTestIndicator(t, TypeDomain, "other.example")); !errors.Is(err, ErrIDMismatch) {
		t.Errorf("Link of another value = %v", err)
	}
	// A RED source makes the linked indicator RED, in either order.
	red := b
	red.Policy.TLP = usage.Red
	a.Policy.TLP = usage.Amber
	for _, pair := range [][2]Indicator{{a, red}, {red, a}} {
		if l, err := Link(pair[0], pair[1]); err != nil || l.Policy.TLP != usage.Red {
			t.Errorf("linking %s and %s: TLP %s (%v), want RED", pair[0].Policy.TLP, pair[1].Policy.TLP, l.Policy.TLP, err)
		}
	}
}

func TestValidate(t *testing.T) {
	good := newTestIndicator(t, TypeURL, "HTTP://Example.org")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Indicator){
		"id":          func(i *Indicator) { i.ID = IndicatorID(TypeURL, "http://other.example/") },
		"noncanon":    func(i *Indicator) { i.Value = "HTTP://Example.org" },
		"original":    func(i *Indicator) { i.Original = "http://other.example/" },
		"confidence":  func(i *Indicator) { i.Confidence = -1 },
		"valid_until": func(i *Indicator) { i.ValidUntil = i.ValidFrom },
		"seen":        func(i *Indicator) { i.FirstSeen, i.LastSeen = t0, t0.Add(-time.Second) },
		"modified":    func(i *Indicator) { i.Modified = t0.Add(-time.Second) },
		"tlp":         func(i *Indicator) { i.Policy.TLP = 0 },
		"source":      func(i *Indicator) { i.Sources = []Source{{Format: "csv"}} },
		"type":        func(i *Indicator) { i.Type = "sha384" },
	} {
		bad := good
		mut(&bad)
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
}

func TestDecay(t *testing.T) {
	ind := newTestIndicator(t, TypeDomain, "c2.example")
	ind.Confidence = 80
	p := DecayParams{Tau: 100 * time.Hour, Delta: 1, Threshold: 20}
	for _, tc := range []struct {
		after time.Duration
		want  float64
	}{
		{-time.Hour, 80}, {0, 80}, {25 * time.Hour, 60}, {50 * time.Hour, 40}, {75 * time.Hour, 20}, {100 * time.Hour, 0}, {200 * time.Hour, 0},
	} {
		if got := ind.ScoreWith(p, t0.Add(tc.after)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("linear score after %v = %v, want %v", tc.after, got, tc.want)
		}
	}
	// delta 2: 80 × (1 − √(t/τ)); at τ/4 that is 40.
	if got := ind.ScoreWith(DecayParams{Tau: 100 * time.Hour, Delta: 2}, t0.Add(25*time.Hour)); math.Abs(got-40) > 1e-9 {
		t.Errorf("delta 2 score at tau/4 = %v, want 40", got)
	}
	// delta 0.5: 80 × (1 − (t/τ)²); at τ/2 that is 60.
	if got := ind.ScoreWith(DecayParams{Tau: 100 * time.Hour, Delta: 0.5}, t0.Add(50*time.Hour)); math.Abs(got-60) > 1e-9 {
		t.Errorf("delta 0.5 score at tau/2 = %v, want 60", got)
	}
	if ind.DecayedWith(p, t0.Add(74*time.Hour)) || !ind.DecayedWith(p, t0.Add(76*time.Hour)) {
		t.Error("threshold 20 not crossed between 74 and 76 hours")
	}
	// A later LastSeen restarts the clock.
	seen := ind
	seen.LastSeen = t0.Add(50 * time.Hour)
	if got := seen.ScoreWith(p, t0.Add(75*time.Hour)); math.Abs(got-60) > 1e-9 {
		t.Errorf("score 25 hours after last seen = %v, want 60", got)
	}
	// Defaults: hashes outlive addresses.
	ip, hash := newTestIndicator(t, TypeIPv4, "192.0.2.1"), newTestIndicator(t, TypeSHA256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c")
	later := t0.Add(60 * 24 * time.Hour)
	if !ip.Decayed(later) || hash.Decayed(later) {
		t.Errorf("after 60 days: ip decayed %v (score %v), hash decayed %v (score %v)", ip.Decayed(later), ip.Score(later), hash.Decayed(later), hash.Score(later))
	}
	if !ip.Live(t0) || ip.Live(t0.Add(-time.Hour)) {
		t.Error("Live ignores ValidFrom")
	}
	for _, typ := range Types {
		if p := DefaultDecay(typ); p.Tau <= 0 || p.Delta <= 0 || p.Threshold <= 0 {
			t.Errorf("no decay parameters for %s", typ)
		}
	}
}

func TestSightingValidate(t *testing.T) {
	s := NewSighting("indicator--3b9e5db5-b853-5ea3-883b-af8d1104bfec", "", SightingSeen, t0, t0.Add(time.Hour), 4)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.ID != SightingID(s.IndicatorID, "", SightingSeen, t0) {
		t.Errorf("sighting id %s is not stable", s.ID)
	}
	more := NewSighting(s.IndicatorID, "", SightingSeen, t0, t0.Add(5*time.Hour), 9)
	if more.ID != s.ID {
		t.Error("a growing sighting changed its id")
	}
	bad := s
	bad.LastSeen = t0.Add(-time.Second)
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("last before first = %v", err)
	}
	bad = s
	bad.Count = -1
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative count = %v", err)
	}
}
