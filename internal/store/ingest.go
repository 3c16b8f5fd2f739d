package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// Ingest is the record of one capture taken into the store.
type Ingest struct {
	// SHA256 of the capture's bytes identifies it: the same bytes under another
	// name are the same capture.
	SHA256 [32]byte
	// Name is the file's base name, for the operator.
	Name     string
	Size     int64
	Started  time.Time
	Finished time.Time
	// Complete is set in the transaction that stores the last flows. An ingest
	// that was interrupted stays incomplete and is redone by the next run.
	Complete bool
	Packets  uint64
	Flows    uint64
	// KeyID and PseudoMode say how the addresses were pseudonymized.
	KeyID      string
	PseudoMode string
	// FlowConfigDigest names the flow-meter settings used.
	FlowConfigDigest string
	// Damage counts damaged capture records by kind.
	Damage map[string]uint64
}

func (in *Ingest) toProto() *pb.IngestRecord {
	return &pb.IngestRecord{
		ContentSha256:    in.SHA256[:],
		Name:             in.Name,
		Size:             in.Size,
		StartedUnixNano:  unixNano(in.Started),
		FinishedUnixNano: unixNano(in.Finished),
		Complete:         in.Complete,
		Packets:          in.Packets,
		Flows:            in.Flows,
		KeyId:            in.KeyID,
		PseudoMode:       in.PseudoMode,
		FlowConfigDigest: in.FlowConfigDigest,
		Damage:           in.Damage,
	}
}

func ingestFromProto(r *pb.IngestRecord) (Ingest, error) {
	var in Ingest
	if len(r.ContentSha256) != 32 {
		return in, fmt.Errorf("%w: ingest record with a %d-byte hash", ErrCorrupt, len(r.ContentSha256))
	}
	copy(in.SHA256[:], r.ContentSha256)
	in.Name = r.Name
	in.Size = r.Size
	in.Started = fromUnixNano(r.StartedUnixNano)
	in.Finished = fromUnixNano(r.FinishedUnixNano)
	in.Complete = r.Complete
	in.Packets = r.Packets
	in.Flows = r.Flows
	in.KeyID = r.KeyId
	in.PseudoMode = r.PseudoMode
	in.FlowConfigDigest = r.FlowConfigDigest
	in.Damage = r.Damage
	return in, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Ingest returns the record of the capture with the given hash; ok is false when
// the capture was never ingested.
func (s *Store) Ingest(sum [32]byte) (in Ingest, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketIngests).Get(sum[:])
		if v == nil {
			return nil
		}
		var r pb.IngestRecord
		if err := proto.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: ingest record: %v", ErrCorrupt, err)
		}
		in, err = ingestFromProto(&r)
		ok = err == nil
		return err
	})
	return in, ok, err
}

// Ingests lists every ingest record in hash order.
func (s *Store) Ingests() ([]Ingest, error) {
	var out []Ingest
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIngests).ForEach(func(_, v []byte) error {
			var r pb.IngestRecord
			if err := proto.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: ingest record: %v", ErrCorrupt, err)
			}
			in, err := ingestFromProto(&r)
			if err != nil {
				return err
			}
			out = append(out, in)
			return nil
		})
	})
	return out, err
}

// putIngest writes an ingest record inside tx.
func putIngest(tx *bolt.Tx, in *Ingest) error {
	b, err := proto.Marshal(in.toProto())
	if err != nil {
		return err
	}
	return tx.Bucket(bucketIngests).Put(in.SHA256[:], b)
}

// BeginIngest records that an ingest of a capture has started (or restarted),
// together with the flow-meter settings it uses.
func (s *Store) BeginIngest(in Ingest, flowConfigJSON string) error {
	in.Complete = false
	return s.db.Update(func(tx *bolt.Tx) error {
		if in.FlowConfigDigest != "" {
			c, err := proto.Marshal(&pb.FlowConfig{Digest: in.FlowConfigDigest, Json: flowConfigJSON})
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketConfigs).Put([]byte(in.FlowConfigDigest), c); err != nil {
				return err
			}
		}
		return putIngest(tx, &in)
	})
}

// FlowConfig returns the canonical JSON of the flow-meter settings with the given
// digest.
func (s *Store) FlowConfig(digest string) (string, error) {
	var js string
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketConfigs).Get([]byte(digest))
		if v == nil {
			return fmt.Errorf("flow config %s: %w", digest, ErrNotFound)
		}
		var c pb.FlowConfig
		if err := proto.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("%w: flow config: %v", ErrCorrupt, err)
		}
		js = c.Json
		return nil
	})
	return js, err
}
