package keyvault

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// lockTimeout is how long Open waits for another holder of the vault's file
// lock before giving up with ErrLocked: long enough to ride out a restart,
// short enough that an operator sees the error rather than a hang.
const lockTimeout = time.Second

// recordSealInfo derives the key that seals records from the master key, so
// that the master key itself encrypts nothing but is only ever an HKDF input.
const recordSealInfo = "flowfed/v1/record-seal"

// Options are the settings chosen when a vault is created or restored.
type Options struct {
	// KDF are the Argon2id parameters for the passphrase; zero means
	// DefaultKDFParams. They are stored in the vault and reused by
	// ChangePassphrase and Backup.
	KDF KDFParams
	// Period is the length of an epoch; zero means DefaultPeriod. Restore
	// ignores it and keeps the period of the backed-up vault, since the
	// existing keys were cut to it.
	Period Period
}

func (o Options) withDefaults() (Options, error) {
	if o.KDF == (KDFParams{}) {
		o.KDF = DefaultKDFParams()
	}
	if err := o.KDF.Validate(); err != nil {
		return o, err
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if !o.Period.valid() {
		return o, fmt.Errorf("epoch period %d: %w", uint8(o.Period), ErrInvalid)
	}
	return o, nil
}

// Vault is an unlocked key vault. It holds the vault file's exclusive lock and
// the master key in memory until Close. All methods are safe for concurrent
// use; writes are serialised by the file's single write transaction.
type Vault struct {
	path string
	// file is path with symlinks resolved: compaction must replace the
	// real file, not a symlink to it, or the old file would survive.
	file       string
	vaultID    [vaultIDSize]byte
	period     Period
	identityID KeyID
	master     masterKey
	recordKey  secret

	// mu guards db, which compaction replaces and Close clears. Operations
	// hold it shared; compaction, ChangePassphrase and Close hold it
	// exclusively.
	mu sync.RWMutex
	db *bolt.DB

	cache epochCache
}

// Create makes a new vault at path, unlocked by passphrase, with a fresh
// master key and node identity, and returns it open. It refuses to replace an
// existing file (ErrExists). The file is assembled under a temporary name and
// linked into place only when complete, so a crash leaves either no vault or
// a whole one.
func Create(path string, passphrase []byte, opts Options) (*Vault, error) {
	v, err := create(path, passphrase, opts)
	if err != nil {
		return nil, fmt.Errorf("creating vault %s: %w", path, err)
	}
	return v, nil
}

func create(path string, passphrase []byte, opts Options) (*Vault, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("empty passphrase: %w", ErrInvalid)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// Checked early to fail before the KDF; publish checks again atomically.
	if ok, err := exists(path); err != nil {
		return nil, err
	} else if ok {
		return nil, ErrExists
	}
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating node identity: %w", err)
	}
	privBytes, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding node identity: %w", err)
	}
	defer clear(privBytes)
	now := time.Now().Unix()
	h := header{version: formatVersion, kdf: opts.KDF, period: opts.Period, created: now}
	copy(h.vaultID[:], randomBytes(vaultIDSize))
	ident := record{id: newKeyID(PurposeIdentity), notBefore: now, created: now, state: StateActive}
	h.identityID = ident.id.raw
	return build(path, h, passphrase, []plainKey{{rec: ident, key: privBytes}})
}

// plainKey is a record's metadata with its plaintext key bytes (nil when
// shredded), on the way into a new vault file.
type plainKey struct {
	rec record
	key []byte
}

// build writes a new vault file with a fresh master key, the header h (its
// passphrase fields are filled in here) and keys, publishes it at path and
// opens it. Create and Restore share it.
func build(path string, h header, passphrase []byte, keys []plainKey) (*Vault, error) {
	master := masterKey{s: newSecret()}
	if err := h.setPassphrase(passphrase, master); err != nil {
		return nil, err
	}
	recordKey := deriveRecordKey(master, h.vaultID)
	defer recordKey.wipe()
	hb := h.encode()
	recs := make([]record, len(keys))
	for i, pk := range keys {
		r := pk.rec
		var err error
		r.nonce, r.ct, err = seal(recordKey, pk.key, r.ad(h.vaultID))
		if err != nil {
			return nil, err
		}
		recs[i] = r
	}

	tmp, err := tempBeside(path, "new")
	if err != nil {
		return nil, err
	}
	if err := writeVaultFile(tmp, hb, recs); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := publish(tmp, path); err != nil {
		return nil, err
	}
	return openRW(path, hb, h, master)
}

func writeVaultFile(path string, hb []byte, recs []record) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		vb, err := tx.CreateBucket(bucketVault)
		if err != nil {
			return err
		}
		if err := vb.Put(keyHeader, hb); err != nil {
			return err
		}
		kb, err := tx.CreateBucket(bucketKeys)
		if err != nil {
			return err
		}
		for i := range recs {
			if err := kb.Put(recs[i].id.raw[:], recs[i].encode()); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing vault file: %w", err)
	}
	return syncFile(path)
}

// Open unlocks the vault at path with passphrase. It verifies the file before
// anything can write to it: its type and bbolt structure (ErrNotVault,
// ErrCorrupt), the header and its KDF parameters (ErrCorrupt with
// ErrKDFParams, ErrVersion), the passphrase (ErrWrongPassphrase), and the lock
// (ErrLocked, after about a second). A missing file wraps [fs.ErrNotExist]
// with a hint to run `flowfed init`. On every failure the file is left
// byte-for-byte unchanged.
//
// If a shred or passphrase change was interrupted before the file was
// rewritten, Open completes the rewrite (see Crypto-shredding in the package
// documentation).
func Open(path string, passphrase []byte) (*Vault, error) {
	v, err := open(path, passphrase)
	if err != nil {
		return nil, fmt.Errorf("opening vault %s: %w", path, err)
	}
	return v, nil
}

func open(path string, passphrase []byte) (*Vault, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no vault here, run `flowfed init` to create one: %w", fs.ErrNotExist)
	} else if err != nil {
		return nil, err
	}
	if err := checkBoltFile(path); err != nil {
		return nil, err
	}
	hb, h, err := readHeader(path)
	if err != nil {
		return nil, err
	}
	master, err := h.unlock(passphrase)
	if err != nil {
		return nil, err
	}
	return openRW(path, hb, h, master)
}

// readHeader opens the file read-only (a shared lock; an exclusive holder
// makes it time out with ErrLocked), checks every page of it and returns the
// decoded header with its exact bytes.
func readHeader(path string) ([]byte, header, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return nil, header{}, boltOpenError(err)
	}
	defer db.Close()
	var (
		hb []byte
		h  header
	)
	err = guardPages(func() error {
		return db.View(func(tx *bolt.Tx) error {
			vb := tx.Bucket(bucketVault)
			if vb == nil {
				return fmt.Errorf("%w: bbolt file without vault bucket", ErrNotVault)
			}
			hb = bytes.Clone(vb.Get(keyHeader))
			if hb == nil {
				return fmt.Errorf("%w: header missing", ErrCorrupt)
			}
			var err error
			if h, err = decodeHeader(hb, defaultLimits); err != nil {
				return err
			}
			kb := tx.Bucket(bucketKeys)
			if kb == nil {
				return fmt.Errorf("%w: keys bucket missing", ErrCorrupt)
			}
			// Touch every record so that damaged pages show now, under the
			// guard, rather than later in the middle of an operation.
			if err := kb.ForEach(func(k, v []byte) error { return nil }); err != nil {
				return err
			}
			return checkTx(tx)
		})
	})
	return hb, h, err
}

// checkTx runs bbolt's consistency check (freelist and page tree), which
// catches damage that reading the records would not, such as a page both in
// use and free that a later write would overwrite. The channel is drained
// to the end so that Check's goroutine can finish.
func checkTx(tx *bolt.Tx) error {
	var first error
	for err := range tx.Check() {
		if first == nil {
			first = fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return first
}

// boltOpenError translates bbolt's open errors into this package's sentinels.
func boltOpenError(err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return ErrLocked
	case errors.Is(err, berrors.ErrInvalid):
		return fmt.Errorf("%w: %v", ErrNotVault, err)
	case errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return err
}

// openRW takes the exclusive lock and builds the Vault. hb are the header
// bytes that were verified; if the file changed since, opening stops.
func openRW(path string, hb []byte, h header, master masterKey) (*Vault, error) {
	file, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, boltOpenError(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		vb := tx.Bucket(bucketVault)
		if vb == nil || !bytes.Equal(vb.Get(keyHeader), hb) {
			return fmt.Errorf("%w: vault changed while it was being opened", ErrLocked)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	v := &Vault{
		path:       path,
		file:       file,
		vaultID:    h.vaultID,
		period:     h.period,
		identityID: KeyID{purpose: PurposeIdentity, raw: h.identityID},
		master:     master,
		recordKey:  deriveRecordKey(master, h.vaultID),
		db:         db,
	}
	if h.compactionPending {
		v.mu.Lock()
		err := v.compactLocked()
		v.mu.Unlock()
		if err != nil {
			_ = v.Close()
			return nil, fmt.Errorf("completing an interrupted shred or passphrase change: %w", err)
		}
	}
	return v, nil
}

func deriveRecordKey(m masterKey, vaultID [vaultIDSize]byte) secret {
	s, _ := secretFrom(mustHKDF(m.s.bytes(), vaultID[:], recordSealInfo, 32))
	return s
}

// compactLocked rewrites the vault into a new file holding only live data and
// renames it over the old one. bbolt never overwrites freed pages eagerly, so
// without this, a shredded key's sealed bytes or a master key sealed under an
// old passphrase would stay in the file. The new file is opened before the
// rename and replaces v.db, so the vault is never without a lock-holding
// handle. v.mu must be held exclusively.
func (v *Vault) compactLocked() error {
	tmp, err := tempBeside(v.file, "compact")
	if err != nil {
		return fmt.Errorf("compacting: %w", err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compacting: %w", err)
	}
	fail := func(err error) error {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("compacting: %w", err)
	}
	if err := bolt.Compact(dst, v.db, 0); err != nil {
		return fail(err)
	}
	err = dst.Update(func(tx *bolt.Tx) error {
		h, err := headerTx(tx)
		if err != nil {
			return err
		}
		h.compactionPending = false
		return putHeader(tx, &h)
	})
	if err != nil {
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, v.file); err != nil {
		return fail(err)
	}
	old := v.db
	v.db = dst
	_ = old.Close()
	if err := syncDir(filepath.Dir(v.file)); err != nil {
		return fmt.Errorf("compacting: %w", err)
	}
	return nil
}

// Close zeroes the in-memory master key and releases the file lock. Keys
// handed out earlier stay usable. Close is idempotent; every other method
// returns ErrClosed afterwards.
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.db == nil {
		return nil
	}
	err := v.db.Close()
	v.db = nil
	v.master.s.wipe()
	v.recordKey.wipe()
	v.cache.invalidate()
	if err != nil {
		return fmt.Errorf("closing vault %s: %w", v.path, err)
	}
	return nil
}

// Path returns the vault file's path.
func (v *Vault) Path() string { return v.path }

// Period returns the epoch period the vault was created with.
func (v *Vault) Period() Period { return v.period }

// String returns "Vault(<path>)"; a Vault never prints key material.
func (v *Vault) String() string { return "Vault(" + v.path + ")" }

// GoString returns the same form as String.
func (v *Vault) GoString() string { return v.String() }

// view runs fn in a read transaction while the vault is open.
func (v *Vault) view(fn func(tx *bolt.Tx) error) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.db == nil {
		return ErrClosed
	}
	return v.db.View(fn)
}

// update runs fn in a write transaction while the vault is open. bbolt allows
// one writer at a time, so fn sees and changes a consistent state.
func (v *Vault) update(fn func(tx *bolt.Tx) error) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.db == nil {
		return ErrClosed
	}
	return v.db.Update(fn)
}

// headerTx reads and decodes the header in a transaction of an open vault.
func headerTx(tx *bolt.Tx) (header, error) {
	vb := tx.Bucket(bucketVault)
	if vb == nil {
		return header{}, fmt.Errorf("%w: vault bucket missing", ErrCorrupt)
	}
	return decodeHeader(bytes.Clone(vb.Get(keyHeader)), defaultLimits)
}

func putHeader(tx *bolt.Tx, h *header) error {
	vb := tx.Bucket(bucketVault)
	if vb == nil {
		return fmt.Errorf("%w: vault bucket missing", ErrCorrupt)
	}
	return vb.Put(keyHeader, h.encode())
}

// getRecord reads and decodes the record stored under id.
func getRecord(tx *bolt.Tx, id KeyID) (record, bool, error) {
	kb := tx.Bucket(bucketKeys)
	if kb == nil {
		return record{}, false, fmt.Errorf("%w: keys bucket missing", ErrCorrupt)
	}
	b := kb.Get(id.raw[:])
	if b == nil {
		return record{}, false, nil
	}
	r, err := decodeRecord(id.raw[:], b)
	return r, err == nil, err
}

func putRecord(tx *bolt.Tx, r *record) error {
	kb := tx.Bucket(bucketKeys)
	if kb == nil {
		return fmt.Errorf("%w: keys bucket missing", ErrCorrupt)
	}
	return kb.Put(r.id.raw[:], r.encode())
}

// sealRecord seals plaintext (nil for a shredded key) into r, binding r's
// current metadata. It must be called after the metadata is final.
func (v *Vault) sealRecord(r *record, plaintext []byte) error {
	var err error
	r.nonce, r.ct, err = seal(v.recordKey, plaintext, r.ad(v.vaultID))
	return err
}

// openRecord authenticates r and returns its plaintext, which the caller
// must clear after use.
func (v *Vault) openRecord(r *record) ([]byte, error) {
	pt, err := unseal(v.recordKey, r.nonce, r.ct, r.ad(v.vaultID))
	if err != nil {
		return nil, fmt.Errorf("opening key record %s: %w", r.id, err)
	}
	return pt, nil
}

// IdentityKey returns the node's identity key as a redacting [IdentityKey].
func (v *Vault) IdentityKey() (IdentityKey, error) {
	var k IdentityKey
	err := v.view(func(tx *bolt.Tx) error {
		r, ok, err := getRecord(tx, v.identityID)
		if err != nil {
			return err
		}
		if !ok || r.id.purpose != PurposeIdentity {
			return fmt.Errorf("%w: identity record missing", ErrCorrupt)
		}
		pt, err := v.openRecord(&r)
		if err != nil {
			return err
		}
		defer clear(pt)
		priv, err := crypto.UnmarshalPrivateKey(pt)
		if err != nil || priv.Type() != crypto.Ed25519 {
			return fmt.Errorf("%w: identity record does not hold an Ed25519 key", ErrCorrupt)
		}
		pid, err := peer.IDFromPrivateKey(priv)
		if err != nil {
			return fmt.Errorf("deriving peer ID: %w", err)
		}
		k = newIdentityKey(r.id, priv, pid)
		return nil
	})
	if err != nil {
		return IdentityKey{}, fmt.Errorf("reading node identity: %w", err)
	}
	return k, nil
}

// Identity returns the node's libp2p Ed25519 private key, to pass to
// libp2p.Identity. The key only signs: libp2p uses it to authenticate the
// node's connections and flowfed signs envelopes with it; it never encrypts
// data and no other key is derived from it. libp2p's key type prints its
// bytes under fmt, so never log the result; use [Vault.IdentityKey] for a
// value that is safe to print.
func (v *Vault) Identity() (crypto.PrivKey, error) {
	k, err := v.IdentityKey()
	if err != nil {
		return nil, err
	}
	return k.PrivKey(), nil
}

// PeerID returns the libp2p peer ID of the node identity.
func (v *Vault) PeerID() (peer.ID, error) {
	k, err := v.IdentityKey()
	if err != nil {
		return "", err
	}
	return k.PeerID(), nil
}

// ChangePassphrase re-seals the master key under newPassphrase, in one
// transaction, after checking oldPassphrase (ErrWrongPassphrase otherwise,
// with the file unchanged). The KDF parameters stay those of the vault; the
// salt is new. The file is then rewritten without its free pages, so that the
// master key sealed under the old passphrase does not linger in it. Backups
// made earlier remain protected by the passphrase they were made with.
func (v *Vault) ChangePassphrase(oldPassphrase, newPassphrase []byte) error {
	if err := v.changePassphrase(oldPassphrase, newPassphrase); err != nil {
		return fmt.Errorf("changing passphrase of vault %s: %w", v.path, err)
	}
	return nil
}

func (v *Vault) changePassphrase(oldPassphrase, newPassphrase []byte) error {
	if len(newPassphrase) == 0 {
		return fmt.Errorf("empty new passphrase: %w", ErrInvalid)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.db == nil {
		return ErrClosed
	}
	var h header
	if err := v.db.View(func(tx *bolt.Tx) error {
		var err error
		h, err = headerTx(tx)
		return err
	}); err != nil {
		return err
	}
	m, err := h.unlock(oldPassphrase)
	if err != nil {
		return err
	}
	same := subtle.ConstantTimeCompare(m.s.bytes(), v.master.s.bytes()) == 1
	m.s.wipe()
	if !same {
		return fmt.Errorf("%w: stored master key differs from the unlocked one", ErrCorrupt)
	}
	if err := h.setPassphrase(newPassphrase, v.master); err != nil {
		return err
	}
	h.compactionPending = true
	err = v.db.Update(func(tx *bolt.Tx) error { return putHeader(tx, &h) })
	if err != nil {
		return err
	}
	if err := v.compactLocked(); err != nil {
		return fmt.Errorf("passphrase changed, but rewriting the file failed (retried at next open): %w", err)
	}
	return nil
}
