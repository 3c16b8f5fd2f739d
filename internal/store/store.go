package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the version of the store layout this flowfed writes.
const SchemaVersion = 3

// Bucket names. Every bucket is created by a migration.
var (
	bucketMeta    = []byte("meta")
	bucketIngests = []byte("ingests")
	bucketFlows   = []byte("flows")
	bucketConfigs = []byte("flow-configs")
)

// Keys in the meta bucket.
var (
	keySchema  = []byte("schema")
	keyCreated = []byte("created")
)

// migrations[i] moves a store from schema version i to i+1, inside the write
// transaction that Open runs. Version 0 is a new, empty file.
var migrations = []func(tx *bolt.Tx) error{
	// 0 → 1: the buckets of flow ingest.
	func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketIngests, bucketFlows, bucketConfigs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		var t [8]byte
		binary.BigEndian.PutUint64(t[:], uint64(time.Now().UnixNano()))
		return tx.Bucket(bucketMeta).Put(keyCreated, t[:])
	},
	// 1 → 2: the federation's artifacts and their bookkeeping.
	func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketArtifacts, bucketArtIndex, bucketCursors, bucketChunks, bucketDatasets, bucketLedger, bucketPeers, bucketIndicators, bucketSightings, bucketAudit, bucketDeliveries, bucketErased} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	// 2 → 3: the context of imported intel documents.
	func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketIntelDocs)
		return err
	},
}

// Store is an open store file. See the package documentation for concurrency.
type Store struct {
	db   *bolt.DB
	path string
}

// Options tune Open.
type Options struct {
	// ReadOnly opens the store without a write lock, so that several readers may
	// share it. A read-only open of a missing or older store fails.
	ReadOnly bool
	// LockTimeout is how long Open waits for another process to release the file;
	// zero means one second.
	LockTimeout time.Duration
}

// Open opens the store at path, creating it when it does not exist, and migrates
// it to SchemaVersion.
func Open(path string, opts Options) (*Store, error) {
	if err := checkFile(path); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			err = ErrLocked
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
			err = fmt.Errorf("%w: %v", ErrNotStore, err)
		}
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrate(opts.ReadOnly); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	return s, nil
}

// checkFile refuses files that are not bbolt databases before bbolt sees them:
// bbolt would initialise an empty file and trusts what it maps.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var hdr [32]byte
	n, err := io.ReadFull(f, hdr[:])
	if n == 0 && err == io.EOF {
		return fmt.Errorf("%w: the file is empty", ErrNotStore)
	}
	if err != nil {
		return fmt.Errorf("%w: the file is too short", ErrNotStore)
	}
	// bbolt's first meta page: a 16-byte page header, then the magic number in
	// native byte order.
	if binary.NativeEndian.Uint32(hdr[16:20]) != 0xED0CDAED {
		return ErrNotStore
	}
	return nil
}

func (s *Store) migrate(readOnly bool) error {
	var version uint32
	err := s.db.View(func(tx *bolt.Tx) error {
		version = schemaOf(tx)
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case version == SchemaVersion:
		return nil
	case version > SchemaVersion:
		return fmt.Errorf("%w (schema %d, this flowfed knows %d): upgrade flowfed", ErrSchemaTooNew, version, SchemaVersion)
	case readOnly:
		return fmt.Errorf("%w: schema %d needs a migration, which a read-only open cannot run", ErrCorrupt, version)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		v := schemaOf(tx)
		for ; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrating schema %d to %d: %w", v, v+1, err)
			}
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], SchemaVersion)
		return tx.Bucket(bucketMeta).Put(keySchema, b[:])
	})
}

// schemaOf reads the schema version; a store without a meta bucket is version 0.
func schemaOf(tx *bolt.Tx) uint32 {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get(keySchema)
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

// Schema reports the schema version of the open store.
func (s *Store) Schema() (uint32, error) {
	var v uint32
	err := s.db.View(func(tx *bolt.Tx) error { v = schemaOf(tx); return nil })
	return v, err
}

// Path is the store file's path.
func (s *Store) Path() string { return s.path }

// Close closes the store file.
func (s *Store) Close() error { return s.db.Close() }
