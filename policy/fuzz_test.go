package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/share/usage"
)

// FuzzParse feeds policy files to Parse. A file either compiles into a
// policy that answers decisions, or fails with problems that each name a
// line and column inside the file.
func FuzzParse(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, and
	// minimising a copy of the 4 KB example takes its whole time budget.
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, path := range bad {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(`version: 1
self: {id: S, org: A}
groups: [{name: g, domain: d}, {name: h}]
peers:
  - {id: P, org: A, groups: [g], purposes: [detection]}
  - {id: Q, org: B, groups: [g, h], purposes: [detection, research], domain: q}
egress:
  - {name: e1, effect: permit, to: {groups: [g], orgs: [A]}, kinds: [indicator, dataset], tlp: AMBER,
     purposes: [detection], legal_basis: [public-task], k_min: 3, retention: 30d, reshare: group,
     minimise: {drop_ports: true, time_unit: 1h, prefix_v4: 24, prefix_v6: 48, drop_fields: [source]}}
  - {name: e2, effect: forbid, to: {peers: [Q]}, kinds: ["*"], tlp: RED, pap: AMBER, source: received}
  - {name: e3, effect: permit, to: all, kinds: [sighting], tlp: GREEN, domain: z}
ingress:
  - {name: i1, effect: permit, from: {groups: [h]}, kinds: ["*"], source: direct, retention: 2w}
  - {name: i2, effect: forbid, from: all, kinds: [dataset], k_min: 5}
`))
	f.Add([]byte("version: 1\npeers: [{id: P, org: A, purposes: [detection], groups: [g]}]\ngroups: [{name: g, domain: d}]\n" +
		"egress: [{name: r, effect: permit, to: {groups: [g]}, kinds: [\"*\"], tlp: AMBER, minimise: {prefix_v4: 8}}]\n" +
		"ingress: [{name: i, effect: forbid, from: all, kinds: [dataset], k_min: 3}]\n"))
	f.Add([]byte("version: 1\n&a x: *a\n"))
	f.Add([]byte("version: 1\n? [a]\n: b\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("f.yaml", src)
		if err != nil {
			if p != nil {
				t.Fatal("policy and error")
			}
			if errors.Is(err, ErrTooLarge) {
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			lines := bytes.Count(src, []byte("\n")) + 1
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("not a ParseError: %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml:") {
					t.Fatalf("problem without position: %q", line)
				}
			}
			var l ErrorList
			if errors.As(err, &l) {
				for _, pe := range l {
					if pe.Line < 1 || pe.Col < 1 || pe.Line > lines+1 {
						t.Fatalf("position %d:%d outside a file of %d lines", pe.Line, pe.Col, lines)
					}
				}
			}
			return
		}
		q, err := Parse("f.yaml", src)
		if err != nil || q.Version() != p.Version() || Summary(q) != Summary(p) {
			t.Fatalf("parsing twice differs: %v", err)
		}
		_ = ROPA(p, nil).Markdown()
		// A few decisions per policy keep each run short.
		peers := p.Peers()
		peers = append(peers[:min(len(peers), 3)], Peer{ID: "stranger"})
		tlp := []usage.TLP{usage.Clear, usage.Amber, usage.AmberStrict}[len(src)%3]
		for i, pr := range peers {
			for _, k := range Kinds() {
				a := Artifact{Kind: k, ID: "x", Local: true, K: 5, Usage: usage.Policy{TLP: tlp, Purposes: []string{"detection", "research"}, Reshare: usage.ReshareGroup}}
				d := p.Decide(pr, a)
				if d.Allow && !d.Usage.AtMostAsWide(a.Usage) {
					t.Fatalf("attached usage %s wider than %s", d.Usage, a.Usage)
				}
				if i == 0 && p.Explain(pr, a).Decision.Allow != d.Allow {
					t.Fatal("Explain disagrees with Decide")
				}
				a.Local, a.Origin, a.ReceivedVia = false, pr.ID, pr.Groups
				p.Accept(pr, a)
			}
		}
	})
}

// FuzzDecodeEntry feeds bytes to DecodeEntry: what decodes must encode back
// to the same bytes, so that an entry has exactly one encoding.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range testChain(6) {
		f.Add(EncodeEntry(e))
	}
	f.Add(EncodeEntry(AuditEntry{}))
	f.Add([]byte{1})
	f.Add([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			if !errors.Is(err, ErrEntry) || e != (AuditEntry{}) {
				t.Fatalf("DecodeEntry error %v with entry %+v", err, e)
			}
			return
		}
		if again := EncodeEntry(e); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
		_ = VerifyChain([]AuditEntry{e})
	})
}
