package usage

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseTLPSpellingsAndUnknownIsRed(t *testing.T) {
	for in, want := range map[string]TLP{
		"TLP:CLEAR": Clear, "tlp:white": Clear, "green": Green, "TLP:AMBER": Amber,
		"tlp:amber+strict": AmberStrict, "TLP_AMBER_STRICT": AmberStrict, "TLP:RED": Red,
	} {
		if got, err := ParseTLP(in); got != want || err != nil {
			t.Errorf("ParseTLP(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"tlp:unclear", "tlp:ex:chr", "", "amber-ish"} {
		got, err := ParseTLP(in)
		if got != Red || !errors.Is(err, ErrUnknownLabel) {
			t.Errorf("ParseTLP(%q) = %v, %v; want RED and ErrUnknownLabel", in, got, err)
		}
	}
	if p, err := ParsePAP("PAP:WHITE"); p != PAPClear || err != nil {
		t.Errorf("ParsePAP(white) = %v, %v", p, err)
	}
	if p, err := ParsePAP("pap:purple"); p != PAPRed || err == nil {
		t.Errorf("ParsePAP(purple) = %v, %v", p, err)
	}
}

func TestCombineIsMostRestrictive(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Policy{TLP: Green, PAP: PAPGreen, Purposes: []string{"Research", "detection"}, RetentionDays: 90, Reshare: ReshareCommunity, KMin: 5, LegalBasis: "legitimate-interest"}
	b := Policy{TLP: AmberStrict, PAP: PAPClear, Purposes: []string{"detection"}, RetentionDays: 365, RetainUntil: t0, Reshare: ReshareGroup, KMin: 10, LegalBasis: "consent"}
	c := Combine(a, b)
	if c.TLP != AmberStrict || c.PAP != PAPGreen || c.Reshare != ReshareGroup || c.KMin != 10 || c.RetentionDays != 90 || !c.RetainUntil.Equal(t0) || c.LegalBasis != "mixed" {
		t.Fatalf("Combine = %+v", c)
	}
	if len(c.Purposes) != 1 || c.Purposes[0] != "detection" {
		t.Fatalf("purposes %v", c.Purposes)
	}
	if !c.AtMostAsWide(a) || !c.AtMostAsWide(b) {
		t.Fatal("combination wider than an input")
	}
	if a.AtMostAsWide(b) {
		t.Fatal("GREEN policy reported no wider than AMBER+STRICT")
	}
}

func TestDefaultsSealExpiryAndJSON(t *testing.T) {
	p := Policy{}.Normalize()
	if p.TLP != Amber || p.Reshare != ReshareNone || p.RetentionDays != 180 || !p.Allows("research") || p.Allows("marketing") {
		t.Fatalf("defaults %+v", p)
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := p.Seal(created)
	if want := created.Add(180 * 24 * time.Hour); !s.RetainUntil.Equal(want) || s.Expired(want.Add(-time.Second)) || !s.Expired(want) {
		t.Fatalf("sealed %v", s.RetainUntil)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.String() != s.String() {
		t.Fatalf("JSON round trip %s != %s (%s)", back, s, b)
	}
	if err := json.Unmarshal([]byte(`{"tlp":"unclear"}`), &back); err == nil || back.TLP != Red {
		t.Fatalf("unclear TLP in JSON: %v %v", back.TLP, err)
	}
}
