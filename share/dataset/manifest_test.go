package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/share/label"
)

func sampleBuilds(t testing.TB) []*Built {
	t.Helper()
	rows := rowsOf(append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(11, 2, label.TLS, 443)...), "cap")
	return []*Built{
		mustBuild(t, Spec{Kind: KindFlows, FlowSettings: map[string]string{"idle_tcp": "5m0s", "seq_len": "128"}, Domain: "group:cert-eu"}, rows),
		mustBuild(t, Spec{Kind: KindAggregates, GroupBy: []string{"protocol", "window"}, Labels: []string{"dns", "tls"}}, rows),
		mustBuild(t, Spec{Kind: KindAggregates, DP: &DP{Mechanism: "gaussian", Epsilon: 0.3, Delta: 1e-7}, Rand: seeded(1)}, rows),
	}
}

func TestManifestRoundTrip(t *testing.T) {
	for _, b := range sampleBuilds(t) {
		enc := b.Manifest.Encode()
		m, err := DecodeManifest(enc)
		if err != nil {
			t.Fatalf("DecodeManifest(Encode()) = %v\n%s", err, enc)
		}
		if !bytes.Equal(m.Encode(), enc) || m.ID != b.Manifest.ID {
			t.Errorf("round trip changed the manifest")
		}
		if err := m.Verify(); err != nil {
			t.Errorf("Verify = %v", err)
		}
		// The id is the hash of the encoding with the id empty.
		blank := bytes.Replace(enc, []byte(`"id":"`+m.ID+`"`), []byte(`"id":""`), 1)
		sum := sha256.Sum256(blank)
		if m.ID != "ds-"+hex.EncodeToString(sum[:]) {
			t.Errorf("id %s is not the hash of the blank-id encoding", m.ID)
		}
		if bytes.Contains(enc, []byte("\n")) || bytes.Contains(enc, []byte(": ")) {
			t.Errorf("encoding is not compact")
		}
	}
}

func TestManifestTamper(t *testing.T) {
	b := sampleBuilds(t)[0]
	enc := b.Manifest.Encode()
	mutate := func(old, new string) []byte {
		if !bytes.Contains(enc, []byte(old)) {
			t.Fatalf("encoding lacks %q", old)
		}
		return bytes.Replace(enc, []byte(old), []byte(new), 1)
	}
	cases := map[string][]byte{
		"record count":    mutate(`"records":23`, `"records":24`),
		"k":               mutate(`"k":10`, `"k":1`),
		"tlp":             mutate(`"tlp":"AMBER"`, `"tlp":"CLEAR"`),
		"tlp spelling":    mutate(`"tlp":"AMBER"`, `"tlp":"tlp:amber"`),
		"unknown tlp":     mutate(`"tlp":"AMBER"`, `"tlp":"PURPLE"`),
		"unknown field":   mutate(`"kind":"flows"`, `"kind":"flows","extra":1`),
		"whitespace":      mutate(`"kind":"flows"`, `"kind": "flows"`),
		"bad id":          mutate(`"id":"ds-`, `"id":"dx-`),
		"upper-case id":   bytes.ToUpper(enc[:80]),
		"trailing data":   append(append([]byte{}, enc...), []byte(" {}")...),
		"schema":          mutate(`"schema":1`, `"schema":2`),
		"chunk hash":      mutate(`"hash":"`, `"hash":"0`),
		"chunk size":      mutate(fmt.Sprintf(`"size":%d}]`, b.Manifest.Size), fmt.Sprintf(`"size":%d}]`, b.Manifest.Size-1)),
		"label count":     mutate(`{"label":"DNS","count":12}`, `{"label":"DNS","count":11}`),
		"empty":           {},
		"not json":        []byte("ds-manifest"),
		"features":        mutate(`"steps":128`, `"steps":64`),
		"usage kmin":      mutate(`"k_min":10`, `"k_min":3`),
		"domain":          mutate(`"domain":"group:cert-eu"`, `"domain":"group:cert-us"`),
		"selection label": mutate(`"selection":{}`, `"selection":{"labels":["dns"]}`),
	}
	for name, in := range cases {
		if _, err := DecodeManifest(in); !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: DecodeManifest = %v, want ErrBadManifest", name, err)
		}
	}
	// A changed manifest fails Verify; with a fresh id, the checks on its
	// fields still refuse an inconsistent one.
	m := b.Manifest
	m.Records++
	if err := m.Verify(); !errors.Is(err, ErrBadManifest) {
		t.Errorf("Verify(changed) = %v", err)
	}
	m.ID = m.computeID()
	if _, err := DecodeManifest(m.Encode()); !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), "label counts") {
		t.Errorf("DecodeManifest(re-signed inconsistent) = %v", err)
	}
	// Chunk lists that do not add up, even with a matching id.
	for name, f := range map[string]func(*Manifest){
		"missing chunk": func(m *Manifest) { m.Chunks = nil },
		"extra chunk":   func(m *Manifest) { m.Chunks = append(m.Chunks, m.Chunks[0]) },
		"short size":    func(m *Manifest) { m.Size-- },
		"zero chunk":    func(m *Manifest) { m.Chunks[0].Size = 0 },
		"upper hash":    func(m *Manifest) { m.Chunks[0].Hash = strings.ToUpper(m.Chunks[0].Hash) },
	} {
		m := b.Manifest
		m.Chunks = append([]ChunkRef(nil), m.Chunks...)
		f(&m)
		m.ID = m.computeID()
		if _, err := DecodeManifest(m.Encode()); !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: DecodeManifest = %v, want ErrBadManifest", name, err)
		}
	}
}

func TestChunksAndAssemble(t *testing.T) {
	rows := genRows(5000, 300, 1)
	b := mustBuild(t, Spec{Kind: KindFlows}, rows)
	if len(b.Content) <= 2*ChunkSize {
		t.Fatalf("content of %d bytes is too small for the test", len(b.Content))
	}
	store := map[string][]byte{}
	var joined []byte
	for i, c := range b.Chunks {
		if len(c.Data) > ChunkSize || (i < len(b.Chunks)-1 && len(c.Data) != ChunkSize) {
			t.Errorf("chunk %d is %d bytes", i, len(c.Data))
		}
		sum := sha256.Sum256(c.Data)
		if c.Hash != hex.EncodeToString(sum[:]) || b.Manifest.Chunks[i] != (ChunkRef{c.Hash, len(c.Data)}) {
			t.Errorf("chunk %d hash or manifest entry wrong", i)
		}
		store[c.Hash] = bytes.Clone(c.Data)
		joined = append(joined, c.Data...)
	}
	if !bytes.Equal(joined, b.Content) {
		t.Fatalf("chunks do not make up the content")
	}
	get := func(h string) ([]byte, error) {
		d, ok := store[h]
		if !ok {
			return nil, errors.New("chunk not stored")
		}
		return d, nil
	}
	got, err := Assemble(b.Manifest, get)
	if err != nil || !bytes.Equal(got, b.Content) {
		t.Fatalf("Assemble = %d bytes, %v", len(got), err)
	}
	// A tampered chunk.
	h1 := b.Chunks[1].Hash
	store[h1][12345] ^= 1
	if _, err := Assemble(b.Manifest, get); !errors.Is(err, ErrBadContent) {
		t.Errorf("Assemble(tampered chunk) = %v, want ErrBadContent", err)
	}
	store[h1][12345] ^= 1
	// A short chunk.
	store[h1] = store[h1][:100]
	if _, err := Assemble(b.Manifest, get); !errors.Is(err, ErrBadContent) {
		t.Errorf("Assemble(short chunk) = %v, want ErrBadContent", err)
	}
	// A missing chunk: get's error comes back wrapped.
	delete(store, h1)
	if _, err := Assemble(b.Manifest, get); err == nil || !strings.Contains(err.Error(), "chunk not stored") {
		t.Errorf("Assemble(missing chunk) = %v", err)
	}
	// A manifest pointing at other chunks without a matching id.
	m := b.Manifest
	m.Chunks = append([]ChunkRef(nil), m.Chunks...)
	m.Chunks[0].Hash = h1
	if _, err := Assemble(m, get); !errors.Is(err, ErrBadManifest) {
		t.Errorf("Assemble(altered manifest) = %v, want ErrBadManifest", err)
	}
}

func TestRecordsBadContent(t *testing.T) {
	b := sampleBuilds(t)[0]
	m, c := b.Manifest, b.Content
	check := func(name string, m Manifest, c []byte) {
		t.Helper()
		var last error
		n := 0
		for _, err := range Records(m, c) {
			last = err
			n++
		}
		if !errors.Is(last, ErrBadContent) {
			t.Errorf("%s: Records ended with %v after %d, want ErrBadContent", name, last, n)
		}
	}
	check("truncated", m, c[:len(c)-1])
	bad := bytes.Clone(c)
	bad[0] = 'X'
	check("bad magic", m, bad)
	fewer := m
	fewer.Records--
	check("more records than the manifest", fewer, c)
	agg := m
	agg.Kind = KindAggregates
	check("kind", agg, c)
	var last error
	for _, err := range Aggregates(m, c) {
		last = err
	}
	if !errors.Is(last, ErrBadContent) {
		t.Errorf("Aggregates(flows content) = %v", last)
	}
	// Stopping early is fine and reports nothing.
	for _, err := range Records(m, c) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
}
