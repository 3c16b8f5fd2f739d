package dataset

import (
	"bytes"
	"errors"
	"testing"

	"github.com/flowfed/flowfed/share/label"
)

// FuzzDecodeManifest: a manifest that decodes is canonical (re-encoding
// gives the input) and verifies; anything else is ErrBadManifest.
func FuzzDecodeManifest(f *testing.F) {
	for _, b := range sampleBuilds(f) {
		enc := b.Manifest.Encode()
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
		f.Add(bytes.Replace(enc, []byte(`"records":`), []byte(`"records":-`), 1))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"ds-","chunks":[{"hash":"","size":-1}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeManifest(in)
		if err != nil {
			if !errors.Is(err, ErrBadManifest) {
				t.Fatalf("DecodeManifest error %v does not wrap ErrBadManifest", err)
			}
			return
		}
		if !bytes.Equal(m.Encode(), in) {
			t.Fatalf("accepted a non-canonical manifest")
		}
		if err := m.Verify(); err != nil {
			t.Fatalf("accepted a manifest that does not verify: %v", err)
		}
	})
}

// FuzzRecords: content that decodes into n records re-encodes to itself;
// anything else ends in ErrBadContent.
func FuzzRecords(f *testing.F) {
	for _, b := range sampleBuilds(f)[:1] {
		f.Add(b.Content, uint16(b.Manifest.Records))
		f.Add(b.Content[:len(b.Content)-5], uint16(b.Manifest.Records))
	}
	small := mustBuild(f, Spec{Kind: KindFlows, K: 1}, rowsOf(hostsFlows(2, 1, label.QUIC, 443), "x"))
	f.Add(small.Content, uint16(2))
	f.Add([]byte("FFDS\x01\x01"), uint16(0))
	f.Add([]byte("FFDS\x01\x01\x00"), uint16(1))
	f.Fuzz(func(t *testing.T, content []byte, n uint16) {
		m := Manifest{Kind: KindFlows, Size: int64(len(content)), Records: int(n)}
		out := appendHeader(nil, KindFlows)
		got := 0
		for r, err := range Records(m, content) {
			if err != nil {
				if !errors.Is(err, ErrBadContent) {
					t.Fatalf("error %v does not wrap ErrBadContent", err)
				}
				return
			}
			if len(r.X) != Steps*Features || len(r.Mask) != Steps || len(r.Seq) > Steps {
				t.Fatalf("record with tensor %d, mask %d, %d steps", len(r.X), len(r.Mask), len(r.Seq))
			}
			out = appendRecord(out, &r)
			got++
		}
		if got != int(n) {
			t.Fatalf("%d records decoded without error, manifest says %d", got, n)
		}
		if !bytes.Equal(out, content) {
			t.Fatalf("decoded records re-encode differently")
		}
	})
}

// FuzzAggregates: as FuzzRecords, for aggregates content under any group-by.
func FuzzAggregates(f *testing.F) {
	rows := rowsOf(append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(11, 2, label.TLS, 443)...), "cap")
	for _, gb := range [][]string{nil, {"protocol", "window"}, {"host", "pair"}} {
		b := mustBuild(f, Spec{Kind: KindAggregates, GroupBy: gb, K: 1}, rows)
		mask, _ := parseGroupBy(gb)
		f.Add(b.Content, uint16(b.Manifest.Records), mask)
	}
	f.Add([]byte("FFDS\x01\x02\x00"), uint16(1), uint8(0))
	f.Fuzz(func(t *testing.T, content []byte, n uint16, mask uint8) {
		mask &= maskAll
		m := Manifest{Kind: KindAggregates, Size: int64(len(content)), Records: int(n), GroupBy: groupByNames(mask)}
		out := appendHeader(nil, KindAggregates)
		got := 0
		for a, err := range Aggregates(m, content) {
			if err != nil {
				if !errors.Is(err, ErrBadContent) {
					t.Fatalf("error %v does not wrap ErrBadContent", err)
				}
				return
			}
			out = appendAggregate(out, mask, &a)
			got++
		}
		if got != int(n) {
			t.Fatalf("%d groups decoded without error, manifest says %d", got, n)
		}
		if !bytes.Equal(out, content) {
			t.Fatalf("decoded groups re-encode differently")
		}
	})
}
