package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// Buckets of schema 2: the federation's artifacts and their bookkeeping.
var (
	bucketArtifacts  = []byte("artifacts")    // publisher key + seq → ArtifactRecord
	bucketArtIndex   = []byte("artifact-ids") // artifact id → artifacts key of its newest version
	bucketCursors    = []byte("cursors")      // publisher → last seq pulled
	bucketChunks     = []byte("chunks")       // sha256 hex → bytes
	bucketDatasets   = []byte("datasets")     // dataset id → DatasetRecord
	bucketLedger     = []byte("dp-ledger")    // family \x00 period → float64 bits of epsilon spent
	bucketPeers      = []byte("peers")        // peer ID → PeerRecord
	bucketIndicators = []byte("indicators")   // indicator id → canonical encoding (share/intel)
	bucketSightings  = []byte("sightings")    // sighting id → canonical encoding (share/intel)
	bucketAudit      = []byte("audit")        // seq → canonical audit entry (policy)
	bucketDeliveries = []byte("deliveries")   // artifact id \x00 peer → Delivery
	bucketErased     = []byte("erased")       // artifact id → erasure notice bytes
)

// Keys in the meta bucket added by schema 2.
var keyOwnSeq = []byte("own-seq")

// ErrErased is returned by PutArtifact for an artifact that was erased here:
// it is refused if it comes again.
var ErrErased = errors.New("artifact was erased and is refused")

// ErrStale is returned by PutArtifact when a newer version of the artifact is
// already stored.
var ErrStale = errors.New("a newer version of the artifact is already stored")

// ErrNotOriginator is returned by PutArtifact when a new version of an artifact
// comes from a publisher other than its originator.
var ErrNotOriginator = errors.New("only the originator may update an artifact")

// Artifact is one signed envelope held by the store, with its bookkeeping.
type Artifact struct {
	Publisher   string // peer ID (binary form)
	Seq         uint64
	Kind        string
	ID          string
	Version     uint64
	Envelope    []byte // exactly as signed
	From        string // the peer it came from; empty for our own
	Stored      time.Time
	RetainUntil time.Time
	Local       bool
	Usage       string // canonical JSON of the usage policy
}

func artifactKey(publisher string, seq uint64) []byte {
	k := make([]byte, 0, 1+len(publisher)+8)
	k = append(k, byte(len(publisher)))
	k = append(k, publisher...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func (a *Artifact) toProto() *pb.ArtifactRecord {
	return &pb.ArtifactRecord{
		Publisher: []byte(a.Publisher), Seq: a.Seq, Kind: a.Kind, ArtifactId: a.ID, Version: a.Version,
		Envelope: a.Envelope, From: []byte(a.From), StoredUnixNano: unixNano(a.Stored),
		RetainUntilUnixNano: unixNano(a.RetainUntil), Local: a.Local, Usage: a.Usage,
	}
}

func artifactFromProto(m *pb.ArtifactRecord) Artifact {
	return Artifact{
		Publisher: string(m.Publisher), Seq: m.Seq, Kind: m.Kind, ID: m.ArtifactId, Version: m.Version,
		Envelope: m.Envelope, From: string(m.From), Stored: fromUnixNano(m.StoredUnixNano),
		RetainUntil: fromUnixNano(m.RetainUntilUnixNano), Local: m.Local, Usage: m.Usage,
	}
}

func decodeArtifact(k, v []byte) (Artifact, error) {
	var m pb.ArtifactRecord
	if err := proto.Unmarshal(v, &m); err != nil {
		return Artifact{}, fmt.Errorf("%w: artifact %x: %v", ErrCorrupt, k, err)
	}
	return artifactFromProto(&m), nil
}

// PutArtifact stores a verified envelope. It returns false without error for a
// duplicate (same publisher and seq already stored, or the same version of the
// artifact), ErrErased for an artifact erased here, ErrNotOriginator when the
// artifact ID belongs to another publisher, and ErrStale when a newer version
// is stored. Older versions stay in the publisher's sequence (so cursors keep
// working) but the index points at the newest.
func (s *Store) PutArtifact(a Artifact) (stored bool, err error) {
	if a.Publisher == "" || a.Seq == 0 || a.ID == "" {
		return false, fmt.Errorf("storing artifact: publisher, seq and id are required")
	}
	if a.Stored.IsZero() {
		a.Stored = time.Now()
	}
	v, err := proto.Marshal(a.toProto())
	if err != nil {
		return false, fmt.Errorf("encoding artifact: %w", err)
	}
	key := artifactKey(a.Publisher, a.Seq)
	err = s.db.Update(func(tx *bolt.Tx) error {
		stored, err = putArtifact(tx, a, key, v)
		return err
	})
	return stored, err
}

// Payload is what a received artifact carries into the store besides its
// envelope: indicators and sightings (encoded by share/intel) or a dataset
// manifest.
type Payload struct {
	Indicators, Sightings map[string][]byte
	Dataset               *Dataset
	// Audit, when set, chains an entry to the audit log (as AppendAudit)
	// in the same transaction, once the artifact is stored.
	Audit func(prev []byte) ([]byte, error)
}

// PutArtifactPayload is PutArtifact that also stores the artifact's payload,
// in the same transaction: a crash leaves both or neither, so a re-sent
// artifact is never taken for a duplicate of one half-stored.
func (s *Store) PutArtifactPayload(a Artifact, p Payload) (stored bool, err error) {
	if a.Publisher == "" || a.Seq == 0 || a.ID == "" {
		return false, fmt.Errorf("storing artifact: publisher, seq and id are required")
	}
	if a.Stored.IsZero() {
		a.Stored = time.Now()
	}
	v, err := proto.Marshal(a.toProto())
	if err != nil {
		return false, fmt.Errorf("encoding artifact: %w", err)
	}
	var dsv []byte
	if d := p.Dataset; d != nil {
		if d.Created.IsZero() {
			d.Created = time.Now()
		}
		if dsv, err = proto.Marshal(&pb.DatasetRecord{Id: d.ID, Manifest: d.Manifest, CreatedUnixNano: unixNano(d.Created), Publisher: []byte(d.Publisher), Base: d.Base}); err != nil {
			return false, err
		}
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if stored, err = putArtifact(tx, a, artifactKey(a.Publisher, a.Seq), v); err != nil || !stored {
			return err
		}
		for _, b := range []struct {
			name []byte
			vals map[string][]byte
		}{{bucketIndicators, p.Indicators}, {bucketSightings, p.Sightings}} {
			bk := tx.Bucket(b.name)
			for k, val := range b.vals {
				if err := bk.Put([]byte(k), val); err != nil {
					return err
				}
			}
		}
		if dsv != nil {
			ds := tx.Bucket(bucketDatasets)
			if ds.Get([]byte(p.Dataset.ID)) == nil {
				if err := ds.Put([]byte(p.Dataset.ID), dsv); err != nil {
					return err
				}
			}
		}
		if p.Audit != nil {
			return appendAudit(tx, p.Audit)
		}
		return nil
	})
	return stored, err
}

func putArtifact(tx *bolt.Tx, a Artifact, key, v []byte) (bool, error) {
	if tx.Bucket(bucketErased).Get([]byte(a.ID)) != nil {
		return false, fmt.Errorf("artifact %s: %w", a.ID, ErrErased)
	}
	arts := tx.Bucket(bucketArtifacts)
	if arts.Get(key) != nil {
		return false, nil
	}
	idx := tx.Bucket(bucketArtIndex)
	if prevKey := idx.Get([]byte(a.ID)); prevKey != nil {
		prev, err := decodeArtifact(prevKey, arts.Get(prevKey))
		if err != nil {
			return false, err
		}
		switch {
		case prev.Publisher != a.Publisher:
			return false, fmt.Errorf("artifact %s: %w", a.ID, ErrNotOriginator)
		case prev.Version == a.Version:
			return false, nil
		case prev.Version > a.Version:
			return false, fmt.Errorf("artifact %s version %d (have %d): %w", a.ID, a.Version, prev.Version, ErrStale)
		}
	}
	if err := arts.Put(key, v); err != nil {
		return false, err
	}
	return true, idx.Put([]byte(a.ID), key)
}

// PublishLocal stores an artifact of our own under the next sequence number of
// this node, in one transaction: seal receives the number and returns the signed
// envelope bytes.
func (s *Store) PublishLocal(a Artifact, seal func(seq uint64) ([]byte, error)) (Artifact, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var seq uint64 = 1
		if b := meta.Get(keyOwnSeq); len(b) == 8 {
			seq = binary.BigEndian.Uint64(b) + 1
		}
		env, err := seal(seq)
		if err != nil {
			return err
		}
		a.Seq, a.Envelope, a.Local = seq, env, true
		if a.Stored.IsZero() {
			a.Stored = time.Now()
		}
		v, err := proto.Marshal(a.toProto())
		if err != nil {
			return fmt.Errorf("encoding artifact: %w", err)
		}
		ok, err := putArtifact(tx, a, artifactKey(a.Publisher, seq), v)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("artifact %s version %d is already published", a.ID, a.Version)
		}
		return meta.Put(keyOwnSeq, binary.BigEndian.AppendUint64(nil, seq))
	})
	if err != nil {
		return Artifact{}, fmt.Errorf("publishing %s %s: %w", a.Kind, a.ID, err)
	}
	return a, nil
}

// OwnSeq is the sequence number of the last artifact this node published.
func (s *Store) OwnSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta).Get(keyOwnSeq); len(b) == 8 {
			seq = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return seq, err
}

// ArtifactsAfter returns up to limit artifacts of publisher with seq > after, in
// sequence order.
func (s *Store) ArtifactsAfter(publisher string, after uint64, limit int) ([]Artifact, error) {
	var out []Artifact
	prefix := artifactKey(publisher, 0)[:1+len(publisher)]
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketArtifacts).Cursor()
		for k, v := c.Seek(artifactKey(publisher, after+1)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
			a, err := decodeArtifact(k, v)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// Artifact returns the newest stored version of an artifact.
func (s *Store) Artifact(id string) (Artifact, error) {
	var a Artifact
	err := s.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketArtIndex).Get([]byte(id))
		if k == nil {
			return fmt.Errorf("artifact %s: %w", id, ErrNotFound)
		}
		var err error
		a, err = decodeArtifact(k, tx.Bucket(bucketArtifacts).Get(k))
		return err
	})
	return a, err
}

// Artifacts calls fn for the newest version of every stored artifact.
func (s *Store) Artifacts(fn func(Artifact) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		arts := tx.Bucket(bucketArtifacts)
		return tx.Bucket(bucketArtIndex).ForEach(func(_, k []byte) error {
			a, err := decodeArtifact(k, arts.Get(k))
			if err != nil {
				return err
			}
			return fn(a)
		})
	})
}

// DeleteArtifact removes every stored version of an artifact. With notice
// non-nil the artifact is also marked erased, so that it is refused if it comes
// again. It reports whether anything was stored.
func (s *Store) DeleteArtifact(id string, notice []byte) (bool, error) {
	found := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketArtIndex)
		k := idx.Get([]byte(id))
		if k != nil {
			found = true
			arts := tx.Bucket(bucketArtifacts)
			// Every version of the artifact goes; the gaps they leave in the
			// publisher's sequence are skipped by cursors.
			var del [][]byte
			c := arts.Cursor()
			prefix := k[:1+int(k[0])]
			for ck, cv := c.Seek(prefix); ck != nil && bytes.HasPrefix(ck, prefix); ck, cv = c.Next() {
				a, err := decodeArtifact(ck, cv)
				if err != nil {
					return err
				}
				if a.ID == id {
					del = append(del, append([]byte(nil), ck...))
				}
			}
			for _, dk := range del {
				if err := arts.Delete(dk); err != nil {
					return err
				}
			}
			if err := idx.Delete([]byte(id)); err != nil {
				return err
			}
		}
		if notice != nil {
			return tx.Bucket(bucketErased).Put([]byte(id), notice)
		}
		return nil
	})
	return found, err
}

// Erased returns the erasure notice of an artifact erased here.
func (s *Store) Erased(id string) ([]byte, bool, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketErased).Get([]byte(id)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, out != nil, err
}

// Unerase drops the erasure mark of an artifact, so that it is accepted
// if it comes again.
func (s *Store) Unerase(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketErased).Delete([]byte(id)) })
}

// Cursor is the last sequence number pulled from publisher (0 if none).
func (s *Store) Cursor(publisher string) (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketCursors).Get([]byte(publisher)); len(b) == 8 {
			seq = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return seq, err
}

// SetCursor records the last sequence number pulled from publisher. A cursor
// never moves backwards.
func (s *Store) SetCursor(publisher string, seq uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCursors)
		if old := b.Get([]byte(publisher)); len(old) == 8 && binary.BigEndian.Uint64(old) >= seq {
			return nil
		}
		return b.Put([]byte(publisher), binary.BigEndian.AppendUint64(nil, seq))
	})
}

// PutDelivery records that peer acknowledged version of an artifact.
func (s *Store) PutDelivery(artifactID string, version uint64, peer string, at time.Time) error {
	return s.PutDeliveries([]Acked{{Artifact: artifactID, Version: version}}, peer, at, nil)
}

// HasDelivery reports whether peer acknowledged some version of an
// artifact (one key lookup).
func (s *Store) HasDelivery(artifactID, peer string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketDeliveries).Get(deliveryKey(artifactID, peer)) != nil
		return nil
	})
	return ok, err
}

// Acked names one acknowledged artifact version.
type Acked struct {
	Artifact string
	Version  uint64
}

// PutDeliveries records in one transaction that peer acknowledged the
// artifact versions acked, and chains audit (when set) to the audit log.
func (s *Store) PutDeliveries(acked []Acked, peer string, at time.Time, audit func(prev []byte) ([]byte, error)) error {
	vals := make([][]byte, len(acked))
	for i, a := range acked {
		v, err := proto.Marshal(&pb.Delivery{Peer: []byte(peer), ArtifactId: a.Artifact, Version: a.Version, UnixNano: unixNano(at)})
		if err != nil {
			return err
		}
		vals[i] = v
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeliveries)
		for i, a := range acked {
			if err := b.Put(deliveryKey(a.Artifact, peer), vals[i]); err != nil {
				return err
			}
		}
		if audit != nil {
			return appendAudit(tx, audit)
		}
		return nil
	})
}

func deliveryKey(id, peer string) []byte {
	k := append([]byte(id), 0)
	return append(k, peer...)
}

// Delivery is one acknowledged delivery of an artifact.
type Delivery struct {
	Peer    string
	Version uint64
	At      time.Time
}

// Recipients lists the peers that acknowledged an artifact.
func (s *Store) Recipients(artifactID string) ([]Delivery, error) {
	var out []Delivery
	prefix := append([]byte(artifactID), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDeliveries).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var m pb.Delivery
			if err := proto.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: delivery %q: %v", ErrCorrupt, k, err)
			}
			out = append(out, Delivery{Peer: string(m.Peer), Version: m.Version, At: fromUnixNano(m.UnixNano)})
		}
		return nil
	})
	return out, err
}
