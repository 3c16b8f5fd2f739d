package store

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/packet"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenMigratesAndReopens(t *testing.T) {
	s, path := openTemp(t)
	if v, err := s.Schema(); err != nil || v != SchemaVersion {
		t.Fatalf("Schema() = %d, %v; want %d", v, err, SchemaVersion)
	}
	s.Close()
	s2, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reopening read-only: %v", err)
	}
	s2.Close()
}

func TestOpenRefusesOtherFilesUntouched(t *testing.T) {
	for name, content := range map[string][]byte{
		"empty": {},
		"text":  []byte("this is not a database, but a text file that is long enough\n"),
		"short": []byte("abc"),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, Options{})
			if !errors.Is(err, ErrNotStore) {
				t.Fatalf("Open = %v, want ErrNotStore", err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != string(content) {
				t.Fatal("the file was changed")
			}
		})
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte{0, 0, 0, 99})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenLocked(t *testing.T) {
	_, path := openTemp(t)
	if _, err := Open(path, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func sampleRecord(i int) flow.Record {
	r := flow.Record{
		Key:   flow.Key{Proto: 6, SrcPort: uint16(40000 + i), DstPort: 443, VLAN: [packet.MaxVLANs]uint16{7, 0, 0}},
		Start: 1_700_000_000_000_000_000 + int64(i), End: 1_700_000_001_000_000_000,
		Orig:         flow.Counters{Packets: 5, IPBytes: 400, PayloadBytes: 100, StreamBytes: 100, Retransmits: 1, ISN: 0xfffffff0, Flags: flow.TCPFlagCounts{1, 1, 0, 2, 4, 0, 0, 0}},
		Resp:         flow.Counters{Packets: 4, IPBytes: 3000, PayloadBytes: 2800, StreamBytes: 2800},
		Reason:       flow.EndFlush,
		Label:        label.Label{Protocol: label.TLS, Source: label.SourcePayload, Evidence: &label.Evidence{TLSSNI: "www.example.org", TLSVersion: "TLSv1.3"}},
		Seq:          []flow.Step{{Flags: 2, IPLen: 60}, {FromResp: true, Flags: 18, IPLen: 60, IAT: 1500}, {Flags: 16, IPLen: 52, IAT: 4_000_000}},
		History:      "ShADadFf",
		ConnState:    "SF",
		KeyID:        "ek_aaaaaaaaaaaaaaaaaaaaaaaaaa",
		ConfigDigest: "cfg1",
	}
	copy(r.Key.Src[:4], []byte{100, 64, 0, byte(i)})
	copy(r.Key.Dst[:4], []byte{100, 65, 0, 1})
	if i%2 == 1 {
		r.Key.IPv6 = true
		copy(r.Key.Src[:], []byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		copy(r.Key.Dst[:], []byte{0x20, 0x01, 0x0d, 0xb8, 15: 0xff})
		r.Key.Tunnel = flow.Tunnel{Kind: packet.VXLAN, Depth: 1, ID: 42}
		copy(r.Key.Tunnel.OuterSrc[:4], []byte{198, 18, 0, 1})
		copy(r.Key.Tunnel.OuterDst[:4], []byte{198, 18, 0, 2})
		r.Label = label.Label{Protocol: label.DNS, Source: label.SourcePort}
	}
	return r
}

func TestFlowsRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	sum := sha256.Sum256([]byte("capture"))
	var recs []flow.Record
	for i := range 6 {
		recs = append(recs, sampleRecord(i))
	}
	if err := s.BeginIngest(Ingest{SHA256: sum, Name: "x.pcap", KeyID: recs[0].KeyID, FlowConfigDigest: "cfg1"}, `{"version":1}`); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFlows(sum, 0, recs[:4], nil); err != nil {
		t.Fatal(err)
	}
	if in, ok, err := s.Ingest(sum); err != nil || !ok || in.Complete {
		t.Fatalf("after a partial ingest: %+v %v %v; want an incomplete record", in, ok, err)
	}
	done := Ingest{SHA256: sum, Name: "x.pcap", Packets: 54, Flows: 6, KeyID: recs[0].KeyID}
	if err := s.PutFlows(sum, 4, recs[4:], &done); err != nil {
		t.Fatal(err)
	}
	// Writing the same flows again (a redone ingest) adds nothing.
	if err := s.PutFlows(sum, 0, recs[:2], nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.FlowCount(); n != 6 {
		t.Fatalf("FlowCount = %d, want 6", n)
	}
	var got []flow.Record
	if err := s.ForEachFlow(func(r *flow.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		for i := range got {
			if !reflect.DeepEqual(got[i], recs[i]) {
				t.Errorf("flow %d:\n got  %+v\n want %+v", i, got[i], recs[i])
			}
		}
	}
	in, ok, err := s.Ingest(sum)
	if err != nil || !ok || !in.Complete || in.Flows != 6 {
		t.Fatalf("ingest record %+v %v %v", in, ok, err)
	}
	if js, err := s.FlowConfig("cfg1"); err != nil || js != `{"version":1}` {
		t.Fatalf("FlowConfig = %q, %v", js, err)
	}
}

func TestPutFlowsRefusesRawAddresses(t *testing.T) {
	s, _ := openTemp(t)
	r := sampleRecord(0)
	r.KeyID = ""
	if err := s.PutFlows([32]byte{1}, 0, []flow.Record{r}, nil); !errors.Is(err, ErrRawAddresses) {
		t.Fatalf("PutFlows = %v, want ErrRawAddresses", err)
	}
	if n, _ := s.FlowCount(); n != 0 {
		t.Fatalf("%d flows stored", n)
	}
}
