package store

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/flowfed/flowfed/policy"
)

// TestAuditChainTamperingInTheFileIsFound appends a chain through the store,
// then edits, removes and reorders entries in the store file itself and
// checks that verification finds each.
func TestAuditChainTamperingInTheFileIsFound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(b *bolt.Bucket) error
	}{
		{"edit", func(b *bolt.Bucket) error {
			k := binary.BigEndian.AppendUint64(nil, 2)
			e, _ := policy.DecodeEntry(b.Get(k))
			e.Decision = policy.DecisionAllow + "!"
			return b.Put(k, policy.EncodeEntry(e))
		}},
		{"remove", func(b *bolt.Bucket) error { return b.Delete(binary.BigEndian.AppendUint64(nil, 2)) }},
		{"reorder", func(b *bolt.Bucket) error {
			k2, k3 := binary.BigEndian.AppendUint64(nil, 2), binary.BigEndian.AppendUint64(nil, 3)
			v2, v3 := append([]byte(nil), b.Get(k2)...), append([]byte(nil), b.Get(k3)...)
			if err := b.Put(k2, v3); err != nil {
				return err
			}
			return b.Put(k3, v2)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := openTemp(t)
			for i := range 4 {
				err := s.AppendAudit(func(prev []byte) ([]byte, error) {
					var p *policy.AuditEntry
					if prev != nil {
						e, err := policy.DecodeEntry(prev)
						if err != nil {
							return nil, err
						}
						p = &e
					}
					return policy.EncodeEntry(policy.Chain(p, policy.AuditEntry{Time: time.Unix(int64(i), 0), Kind: policy.AuditEgress, Decision: policy.DecisionDeny})), nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			read := func(s *Store) []policy.AuditEntry {
				var log []policy.AuditEntry
				if err := s.ForEachAudit(func(v []byte) error {
					e, err := policy.DecodeEntry(v)
					log = append(log, e)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return log
			}
			if err := policy.VerifyChain(read(s)); err != nil {
				t.Fatalf("intact chain: %v", err)
			}
			s.Close()
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { return tc.tamper(tx.Bucket(bucketAudit)) }); err != nil {
				t.Fatal(err)
			}
			db.Close()
			s2, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			err = policy.VerifyChain(read(s2))
			var ce *policy.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("tampering (%s) not found: %v", tc.name, err)
			}
		})
	}
}
