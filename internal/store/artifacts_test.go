package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestArtifactsSequenceVersionsAndErasure(t *testing.T) {
	s, _ := openTemp(t)
	pubA, pubB := "\x00\x24peer-A", "\x00\x24peer-B"
	for seq := uint64(1); seq <= 5; seq++ {
		ok, err := s.PutArtifact(Artifact{Publisher: pubA, Seq: seq, Kind: "indicator", ID: fmt.Sprintf("a%d", seq), Version: 1, Envelope: []byte{byte(seq)}})
		if err != nil || !ok {
			t.Fatalf("PutArtifact seq %d = %v, %v", seq, ok, err)
		}
	}
	// A replay of seq 3 and the same version under another seq are ignored.
	if ok, err := s.PutArtifact(Artifact{Publisher: pubA, Seq: 3, Kind: "indicator", ID: "a3", Version: 1}); ok || err != nil {
		t.Fatalf("replay stored=%v err=%v", ok, err)
	}
	if ok, err := s.PutArtifact(Artifact{Publisher: pubA, Seq: 9, Kind: "indicator", ID: "a3", Version: 1}); ok || err != nil {
		t.Fatalf("same version stored=%v err=%v", ok, err)
	}
	// Another publisher cannot take over a1; an older version is stale.
	if _, err := s.PutArtifact(Artifact{Publisher: pubB, Seq: 1, Kind: "indicator", ID: "a1", Version: 2}); !errors.Is(err, ErrNotOriginator) {
		t.Fatalf("foreign update: %v", err)
	}
	if ok, err := s.PutArtifact(Artifact{Publisher: pubA, Seq: 6, Kind: "indicator", ID: "a1", Version: 2, Envelope: []byte("v2")}); !ok || err != nil {
		t.Fatalf("new version: %v %v", ok, err)
	}
	if _, err := s.PutArtifact(Artifact{Publisher: pubA, Seq: 7, Kind: "indicator", ID: "a1", Version: 1}); !errors.Is(err, ErrStale) {
		t.Fatalf("stale: %v", err)
	}
	a, err := s.Artifact("a1")
	if err != nil || a.Version != 2 || string(a.Envelope) != "v2" {
		t.Fatalf("Artifact(a1) = %+v, %v", a, err)
	}
	got, err := s.ArtifactsAfter(pubA, 2, 3)
	if err != nil || len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("ArtifactsAfter = %+v, %v", got, err)
	}
	if got, _ := s.ArtifactsAfter(pubB, 0, 10); len(got) != 0 {
		t.Fatalf("publisher B has %d artifacts", len(got))
	}
	found, err := s.DeleteArtifact("a1", []byte("notice"))
	if !found || err != nil {
		t.Fatalf("DeleteArtifact = %v, %v", found, err)
	}
	if _, err := s.Artifact("a1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := s.PutArtifact(Artifact{Publisher: pubA, Seq: 8, Kind: "indicator", ID: "a1", Version: 3}); !errors.Is(err, ErrErased) {
		t.Fatalf("erased artifact accepted again: %v", err)
	}
	got, _ = s.ArtifactsAfter(pubA, 0, 100)
	for _, a := range got {
		if a.ID == "a1" {
			t.Fatalf("a version of the erased artifact remains: %+v", a)
		}
	}
}

func TestPublishLocalAllocatesSeqAtomically(t *testing.T) {
	s, _ := openTemp(t)
	for i := 1; i <= 3; i++ {
		a, err := s.PublishLocal(Artifact{Publisher: "me", Kind: "dataset", ID: fmt.Sprint("d", i), Version: 1}, func(seq uint64) ([]byte, error) {
			return []byte(fmt.Sprint("env", seq)), nil
		})
		if err != nil || a.Seq != uint64(i) || !a.Local {
			t.Fatalf("PublishLocal %d = %+v, %v", i, a, err)
		}
	}
	// A failing seal leaves the sequence where it was.
	if _, err := s.PublishLocal(Artifact{Publisher: "me", Kind: "dataset", ID: "x", Version: 1}, func(uint64) ([]byte, error) {
		return nil, errors.New("signing failed")
	}); err == nil {
		t.Fatal("seal error ignored")
	}
	if seq, _ := s.OwnSeq(); seq != 3 {
		t.Fatalf("OwnSeq = %d after a failed publish", seq)
	}
}

func TestCursorNeverMovesBack(t *testing.T) {
	s, _ := openTemp(t)
	for _, v := range []uint64{5, 3, 9} {
		if err := s.SetCursor("p", v); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := s.Cursor("p"); c != 9 {
		t.Fatalf("cursor = %d", c)
	}
}

func TestDatasetLedgerRefusalStoresNothing(t *testing.T) {
	s, _ := openTemp(t)
	check := func(spent, eps, budget float64) error {
		if spent+eps > budget {
			return errors.New("budget exhausted")
		}
		return nil
	}
	ch := &Charge{Family: "aggregates/host", Period: "2026-01", Epsilon: 0.6, Budget: 1, Check: check}
	if err := s.PutDataset(Dataset{ID: "ds-1", Manifest: []byte("m1")}, []Chunk{{Hash: "h1", Data: []byte("c1")}}, ch); err != nil {
		t.Fatal(err)
	}
	err := s.PutDataset(Dataset{ID: "ds-2", Manifest: []byte("m2")}, []Chunk{{Hash: "h2", Data: []byte("c2")}}, ch)
	if err == nil {
		t.Fatal("second release within a spent budget accepted")
	}
	if _, err := s.Dataset("ds-2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused dataset stored: %v", err)
	}
	if ok, _ := s.HasChunk("h2"); ok {
		t.Fatal("chunk of a refused dataset stored")
	}
	if spent, _ := s.Spent("aggregates/host", "2026-01"); spent != 0.6 {
		t.Fatalf("spent = %v", spent)
	}
	// A later release cannot raise the budget its family started with.
	big := *ch
	big.Budget = 100
	if err := s.PutDataset(Dataset{ID: "ds-3"}, nil, &big); err == nil || !strings.Contains(err.Error(), "fixed at 1 by its first release") {
		t.Fatalf("a larger budget asked later: %v", err)
	}
	if l, _ := s.Ledger(); len(l) != 1 || l[0].Budget != 1 {
		t.Fatalf("ledger = %+v", l)
	}
	if err := s.PutDataset(Dataset{ID: "ds-1"}, nil, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate dataset: %v", err)
	}
	chunksOf := func(m []byte) ([]string, error) { return []string{"h" + string(m[1:])}, nil }
	if err := s.DeleteDataset("ds-1", chunksOf); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.HasChunk("h1"); ok {
		t.Fatal("chunk of a deleted dataset kept")
	}
}

func TestPeersIntelAuditDeliveries(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.PutPeer(Peer{ID: "p1", Org: "ORG-B", Groups: []string{"g"}}); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.Peers(); len(ps) != 1 || ps[0].Org != "ORG-B" || ps[0].Groups[0] != "g" {
		t.Fatalf("Peers = %+v", ps)
	}
	if err := s.DeletePeer("p2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeletePeer unknown: %v", err)
	}
	if err := s.PutIntel(map[string][]byte{"i1": []byte("x")}, map[string][]byte{"s1": []byte("y")}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Indicator("i1"); err != nil || string(v) != "x" {
		t.Fatalf("Indicator = %q, %v", v, err)
	}
	var prevs []string
	for i := range 3 {
		err := s.AppendAudit(func(prev []byte) ([]byte, error) {
			prevs = append(prevs, string(prev))
			return []byte(fmt.Sprint("e", i)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(prevs) != "[ e0 e1]" {
		t.Fatalf("audit chain saw prev entries %q", prevs)
	}
	var all []string
	_ = s.ForEachAudit(func(v []byte) error { all = append(all, string(v)); return nil })
	if fmt.Sprint(all) != "[e0 e1 e2]" {
		t.Fatalf("audit entries %q", all)
	}
	now := time.Unix(1700000000, 0).UTC()
	_ = s.PutDelivery("a1", 1, "p1", now)
	_ = s.PutDelivery("a1", 2, "p1", now)
	_ = s.PutDelivery("a1", 1, "p2", now)
	_ = s.PutDelivery("a10", 1, "p3", now)
	ds, err := s.Recipients("a1")
	if err != nil || len(ds) != 2 || ds[0].Version != 2 {
		t.Fatalf("Recipients = %+v, %v", ds, err)
	}
	for _, c := range []struct {
		id, peer string
		want     bool
	}{{"a1", "p1", true}, {"a1", "p3", false}, {"a10", "p3", true}, {"a", "p1", false}} {
		if got, err := s.HasDelivery(c.id, c.peer); err != nil || got != c.want {
			t.Errorf("HasDelivery(%s, %s) = %v, %v; want %v", c.id, c.peer, got, err, c.want)
		}
	}
}

func TestSchema1StoreMigratesToCurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := migrations[0](tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte{0, 0, 0, 1})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Schema(); v != SchemaVersion {
		t.Fatalf("schema %d", v)
	}
	if _, err := s.PutArtifact(Artifact{Publisher: "p", Seq: 1, ID: "x"}); err != nil {
		t.Fatalf("migrated store cannot hold artifacts: %v", err)
	}
}

func TestPutArtifactPayloadStoresBothOrNeither(t *testing.T) {
	s, _ := openTemp(t)
	a := Artifact{Publisher: "p", Seq: 1, Kind: "indicator", ID: "i@p", Version: 1}
	ok, err := s.PutArtifactPayload(a, Payload{Indicators: map[string][]byte{"i@p": []byte("v1")}})
	if !ok || err != nil {
		t.Fatalf("first = %v, %v", ok, err)
	}
	// A replay stores nothing, payload included.
	ok, err = s.PutArtifactPayload(a, Payload{Indicators: map[string][]byte{"i@p": []byte("changed")}})
	if ok || err != nil {
		t.Fatalf("replay = %v, %v", ok, err)
	}
	if v, _ := s.Indicator("i@p"); string(v) != "v1" {
		t.Fatalf("replay changed the payload: %q", v)
	}
	// A refused artifact leaves no payload either.
	if _, err := s.PutArtifactPayload(Artifact{Publisher: "q", Seq: 1, Kind: "indicator", ID: "i@p", Version: 2},
		Payload{Indicators: map[string][]byte{"other": []byte("x")}}); !errors.Is(err, ErrNotOriginator) {
		t.Fatalf("foreign update: %v", err)
	}
	if _, err := s.Indicator("other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("payload of a refused artifact stored: %v", err)
	}
	ok, err = s.PutArtifactPayload(Artifact{Publisher: "p", Seq: 2, Kind: "dataset", ID: "ds", Version: 1},
		Payload{Dataset: &Dataset{ID: "ds-v", Manifest: []byte("m"), Publisher: "p"}})
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if d, err := s.Dataset("ds-v"); err != nil || d.Publisher != "p" {
		t.Fatalf("dataset = %+v, %v", d, err)
	}
}
