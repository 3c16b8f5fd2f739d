package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// Dataset is a stored dataset manifest.
type Dataset struct {
	ID        string
	Manifest  []byte // canonical manifest (share/dataset)
	Created   time.Time
	Publisher string // empty for datasets built here
	// Base is, for a recipient's version of a dataset built here, the id of
	// the dataset it derives from.
	Base string
}

// Chunk is one content-addressed piece of a dataset.
type Chunk struct {
	Hash string // lower-case hex SHA-256 of Data
	Data []byte
}

// Charge is what the differential-privacy ledger is charged for a release.
type Charge struct {
	Family, Period  string
	Epsilon, Budget float64
	// Check refuses the charge given the epsilon already spent (share/dataset's
	// CheckBudget); it runs inside the transaction that stores the dataset.
	Check func(spent, eps, budget float64) error
}

// ErrExists is returned by PutDataset for a dataset id already stored.
var ErrExists = errors.New("already stored")

// PutDataset stores a dataset's manifest and chunks and, when charge is non-nil,
// charges the epsilon ledger, all in one transaction: a refused charge stores
// nothing.
func (s *Store) PutDataset(d Dataset, chunks []Chunk, charge *Charge) error {
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	v, err := proto.Marshal(&pb.DatasetRecord{Id: d.ID, Manifest: d.Manifest, CreatedUnixNano: unixNano(d.Created), Publisher: []byte(d.Publisher), Base: d.Base})
	if err != nil {
		return fmt.Errorf("encoding dataset: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		ds := tx.Bucket(bucketDatasets)
		if ds.Get([]byte(d.ID)) != nil {
			return fmt.Errorf("dataset %s: %w", d.ID, ErrExists)
		}
		if charge != nil {
			lk := ledgerKey(charge.Family, charge.Period)
			led := tx.Bucket(bucketLedger)
			// The budget of a family and period is fixed by its first
			// release; later releases cannot raise it.
			spent, budget := 0.0, charge.Budget
			if b := led.Get(lk); len(b) >= 8 {
				spent = math.Float64frombits(binary.BigEndian.Uint64(b))
				if len(b) == 16 {
					budget = math.Float64frombits(binary.BigEndian.Uint64(b[8:]))
				}
			}
			if charge.Check != nil {
				if err := charge.Check(spent, charge.Epsilon, budget); err != nil {
					if charge.Budget != 0 && charge.Budget != budget {
						return fmt.Errorf("%w (the budget of %s for %s was fixed at %g by its first release; a new budget, here %g, applies to another family or period)",
							err, charge.Family, charge.Period, budget, charge.Budget)
					}
					return err
				}
			}
			v := binary.BigEndian.AppendUint64(nil, math.Float64bits(spent+charge.Epsilon))
			if err := led.Put(lk, binary.BigEndian.AppendUint64(v, math.Float64bits(budget))); err != nil {
				return err
			}
		}
		cb := tx.Bucket(bucketChunks)
		for _, c := range chunks {
			if err := cb.Put([]byte(c.Hash), c.Data); err != nil {
				return err
			}
		}
		return ds.Put([]byte(d.ID), v)
	})
	if err != nil {
		return fmt.Errorf("storing dataset %s: %w", d.ID, err)
	}
	return nil
}

func ledgerKey(family, period string) []byte {
	return []byte(family + "\x00" + period)
}

// Spent is the epsilon spent so far in a ledger family and period.
func (s *Store) Spent(family, period string) (float64, error) {
	var spent float64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketLedger).Get(ledgerKey(family, period)); len(b) >= 8 {
			spent = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		return nil
	})
	return spent, err
}

// LedgerEntry is the epsilon spent in one family and period.
type LedgerEntry struct {
	Family, Period string
	Spent, Budget  float64
}

// Ledger lists the epsilon spent per family and period.
func (s *Store) Ledger() ([]LedgerEntry, error) {
	var out []LedgerEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLedger).ForEach(func(k, v []byte) error {
			fam, per, ok := bytes.Cut(k, []byte{0})
			if !ok || len(v) != 8 && len(v) != 16 {
				return fmt.Errorf("%w: ledger entry %q", ErrCorrupt, k)
			}
			e := LedgerEntry{Family: string(fam), Period: string(per), Spent: math.Float64frombits(binary.BigEndian.Uint64(v))}
			if len(v) == 16 {
				e.Budget = math.Float64frombits(binary.BigEndian.Uint64(v[8:]))
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

func decodeDataset(k, v []byte) (Dataset, error) {
	var m pb.DatasetRecord
	if err := proto.Unmarshal(v, &m); err != nil {
		return Dataset{}, fmt.Errorf("%w: dataset %q: %v", ErrCorrupt, k, err)
	}
	return Dataset{ID: m.Id, Manifest: m.Manifest, Created: fromUnixNano(m.CreatedUnixNano), Publisher: string(m.Publisher), Base: m.Base}, nil
}

// Dataset returns a stored dataset by id.
func (s *Store) Dataset(id string) (Dataset, error) {
	var d Dataset
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDatasets).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("dataset %s: %w", id, ErrNotFound)
		}
		var err error
		d, err = decodeDataset([]byte(id), v)
		return err
	})
	return d, err
}

// Datasets lists the stored datasets in id order.
func (s *Store) Datasets() ([]Dataset, error) {
	var out []Dataset
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDatasets).ForEach(func(k, v []byte) error {
			d, err := decodeDataset(k, v)
			if err == nil {
				out = append(out, d)
			}
			return err
		})
	})
	return out, err
}

// DeleteDataset removes a dataset and the chunks no other dataset lists; inUse
// reports the chunk hashes of a manifest (the store does not parse manifests).
func (s *Store) DeleteDataset(id string, chunksOf func(manifest []byte) ([]string, error)) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		ds := tx.Bucket(bucketDatasets)
		v := ds.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("dataset %s: %w", id, ErrNotFound)
		}
		d, err := decodeDataset([]byte(id), v)
		if err != nil {
			return err
		}
		mine, err := chunksOf(d.Manifest)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		err = ds.ForEach(func(k, v []byte) error {
			if string(k) == id {
				return nil
			}
			o, err := decodeDataset(k, v)
			if err != nil {
				return err
			}
			hs, err := chunksOf(o.Manifest)
			for _, h := range hs {
				keep[h] = true
			}
			return err
		})
		if err != nil {
			return err
		}
		cb := tx.Bucket(bucketChunks)
		for _, h := range mine {
			if !keep[h] {
				if err := cb.Delete([]byte(h)); err != nil {
					return err
				}
			}
		}
		return ds.Delete([]byte(id))
	})
}

// PutChunk stores one chunk (received from a peer) by its hash.
func (s *Store) PutChunk(c Chunk) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketChunks).Put([]byte(c.Hash), c.Data)
	})
}

// Chunk returns a stored chunk's bytes.
func (s *Store) Chunk(hash string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketChunks).Get([]byte(hash))
		if v == nil {
			return fmt.Errorf("chunk %s: %w", hash, ErrNotFound)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// HasChunk reports whether a chunk is stored.
func (s *Store) HasChunk(hash string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketChunks).Get([]byte(hash)) != nil
		return nil
	})
	return ok, err
}

// Peer is a member of the federation.
type Peer struct {
	ID     string // peer ID (binary form)
	Org    string
	Groups []string
	Addrs  []string
	Added  time.Time
}

// PutPeer adds or replaces a member.
func (s *Store) PutPeer(p Peer) error {
	if p.Added.IsZero() {
		p.Added = time.Now()
	}
	v, err := proto.Marshal(&pb.PeerRecord{Id: []byte(p.ID), Org: p.Org, Groups: p.Groups, Addrs: p.Addrs, AddedUnixNano: unixNano(p.Added)})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketPeers).Put([]byte(p.ID), v) })
}

// DeletePeer removes a member; ErrNotFound if it was not one.
func (s *Store) DeletePeer(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPeers)
		if b.Get([]byte(id)) == nil {
			return fmt.Errorf("peer: %w", ErrNotFound)
		}
		return b.Delete([]byte(id))
	})
}

// Peers lists the members.
func (s *Store) Peers() ([]Peer, error) {
	var out []Peer
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPeers).ForEach(func(k, v []byte) error {
			var m pb.PeerRecord
			if err := proto.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: peer record: %v", ErrCorrupt, err)
			}
			out = append(out, Peer{ID: string(m.Id), Org: m.Org, Groups: m.Groups, Addrs: m.Addrs, Added: fromUnixNano(m.AddedUnixNano)})
			return nil
		})
	})
	return out, err
}

// Blob buckets hold values encoded by the package that owns their type
// (indicators and sightings by share/intel).

// PutIndicators stores indicators (id → canonical encoding) in one transaction.
func (s *Store) PutIndicators(vals map[string][]byte) error {
	return s.putBlobs(bucketIndicators, vals)
}

// Indicator returns one indicator's encoding.
func (s *Store) Indicator(id string) ([]byte, error) { return s.blob(bucketIndicators, id) }

// ForEachIndicator calls fn for every stored indicator in id order.
func (s *Store) ForEachIndicator(fn func(id string, v []byte) error) error {
	return s.forEachBlob(bucketIndicators, fn)
}

// PutSightings stores sightings (id → canonical encoding) in one transaction.
func (s *Store) PutSightings(vals map[string][]byte) error { return s.putBlobs(bucketSightings, vals) }

// ForEachSighting calls fn for every stored sighting in id order.
func (s *Store) ForEachSighting(fn func(id string, v []byte) error) error {
	return s.forEachBlob(bucketSightings, fn)
}

// bucketIntelDocs holds, per imported document, the objects around its
// indicators (identities, events, markings...) so exports can give them back.
var bucketIntelDocs = []byte("intel-docs")

// PutIntel stores indicators and sightings in one transaction, so a failed
// import changes nothing.
func (s *Store) PutIntel(indicators, sightings map[string][]byte) error {
	return s.PutIntelDoc("", nil, indicators, sightings)
}

// ForEachIntelDoc calls fn for every stored import document context.
func (s *Store) ForEachIntelDoc(fn func(key string, v []byte) error) error {
	return s.forEachBlob(bucketIntelDocs, fn)
}

// PutIntelDoc stores an imported document's context (when key is set) with
// its indicators and sightings in one transaction.
func (s *Store) PutIntelDoc(key string, doc []byte, indicators, sightings map[string][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if key != "" {
			if err := tx.Bucket(bucketIntelDocs).Put([]byte(key), doc); err != nil {
				return err
			}
		}
		for _, p := range []struct {
			b    []byte
			vals map[string][]byte
		}{{bucketIndicators, indicators}, {bucketSightings, sightings}} {
			bk := tx.Bucket(p.b)
			for k, v := range p.vals {
				if err := bk.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *Store) putBlobs(bucket []byte, vals map[string][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for k, v := range vals {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) blob(bucket []byte, id string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%s %s: %w", bucket, id, ErrNotFound)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

func (s *Store) forEachBlob(bucket []byte, fn func(string, []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// AppendAudit appends one entry to the audit chain in one transaction: chain
// receives the encoding of the last entry (nil for the first) and returns the
// encoding of the new one, linked to it.
func (s *Store) AppendAudit(chain func(prev []byte) ([]byte, error)) error {
	return s.db.Update(func(tx *bolt.Tx) error { return appendAudit(tx, chain) })
}

func appendAudit(tx *bolt.Tx, chain func(prev []byte) ([]byte, error)) error {
	b := tx.Bucket(bucketAudit)
	k, prev := b.Cursor().Last()
	var seq uint64
	if k != nil {
		seq = binary.BigEndian.Uint64(k)
	}
	v, err := chain(prev)
	if err != nil {
		return err
	}
	return b.Put(binary.BigEndian.AppendUint64(nil, seq+1), v)
}

// ForEachAudit calls fn for every audit entry in order.
func (s *Store) ForEachAudit(fn func(v []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error { return fn(v) })
	})
}

// DeleteIntel removes an indicator and the sightings stored under its id
// prefix; ErrNotFound when there is no such indicator.
func (s *Store) DeleteIntel(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIndicators)
		if b.Get([]byte(id)) == nil {
			return fmt.Errorf("indicator %s: %w", id, ErrNotFound)
		}
		return b.Delete([]byte(id))
	})
}

// DeleteSighting removes one sighting.
func (s *Store) DeleteSighting(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSightings).Delete([]byte(id)) })
}
