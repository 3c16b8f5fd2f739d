package keyvault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	flowfedv1 "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// backupMagic starts every backup file, so that Restore recognises one (and
// refuses a vault file or anything else) before parsing.
const backupMagic = "flowfed-vault-backup\n"

// maxBackupSize bounds what Restore reads. A vault with a daily key for a
// century is under 5 MiB; the limit only keeps a wrong file from being
// loaded whole.
const maxBackupSize = 64 << 20

// Backup writes a sealed export of the vault to path, protected by its own
// passphrase (Argon2id with the vault's KDF parameters and a new salt, then
// XChaCha20-Poly1305). It holds everything [Restore] needs: the vault ID,
// epoch period, the node identity and every epoch key with its metadata,
// shredded ones as metadata only. The master key is not included; a restored
// vault gets a new one.
//
// The file is written under a temporary name, synced and then linked into
// place; an existing path is never overwritten (ErrExists). A backup keeps
// every key it contains: shredding a key later does not reach into backups
// made before.
func (v *Vault) Backup(path string, passphrase []byte) error {
	if err := v.backup(path, passphrase); err != nil {
		return fmt.Errorf("backing up vault %s to %s: %w", v.path, path, err)
	}
	return nil
}

func (v *Vault) backup(path string, passphrase []byte) error {
	if len(passphrase) == 0 {
		return fmt.Errorf("empty passphrase: %w", ErrInvalid)
	}
	if ok, err := exists(path); err != nil {
		return err
	} else if ok {
		return ErrExists
	}
	var (
		kdf     KDFParams
		payload flowfedv1.VaultBackupPayload
	)
	// Plaintext key copies live only until the payload is sealed.
	defer func() {
		for _, k := range payload.Keys {
			clear(k.Key)
		}
	}()
	err := v.view(func(tx *bolt.Tx) error {
		h, err := headerTx(tx)
		if err != nil {
			return err
		}
		kdf = h.kdf
		payload.VaultId = h.vaultID[:]
		payload.EpochPeriod = flowfedv1.VaultEpochPeriod(h.period)
		payload.VaultCreatedUnix = h.created
		payload.IdentityKeyId = h.identityID[:]
		return forEachRecord(tx, func(r *record) error {
			// Opening every record also proves the backup is not copying
			// damage: a record that fails here fails the backup.
			pt, err := v.openRecord(r)
			if err != nil {
				return err
			}
			meta := *r
			meta.nonce, meta.ct = nil, nil
			payload.Keys = append(payload.Keys, &flowfedv1.VaultBackupKey{Record: meta.toProto(), Key: pt})
			return nil
		})
	})
	if err != nil {
		return err
	}
	pt := mustMarshal(&payload)
	defer clear(pt)
	data, err := sealBackup(pt, passphrase, kdf, time.Now().Unix())
	if err != nil {
		return err
	}
	return writeNewFile(path, data)
}

// backupAD binds the sealed payload to the backup file's own header fields.
func backupAD(bf *flowfedv1.VaultBackupFile) []byte {
	return newAD("flowfed/v1/backup").
		u64(uint64(bf.GetFormatVersion())).
		u64(bf.GetKdf().GetMemoryKib()).
		u64(uint64(bf.GetKdf().GetTime())).
		u64(uint64(bf.GetKdf().GetThreads())).
		bytes(bf.GetKdf().GetSalt()).
		i64(bf.GetCreatedUnix())
}

// sealBackup encrypts an encoded payload into the complete backup file bytes.
func sealBackup(payload, passphrase []byte, kdf KDFParams, created int64) ([]byte, error) {
	salt := randomBytes(saltSize)
	pk := derivePassphraseKeys(passphrase, kdf, salt, backupPassphraseInfo)
	defer pk.wipe()
	bf := &flowfedv1.VaultBackupFile{
		FormatVersion: formatVersion,
		Kdf: &flowfedv1.VaultKdfParams{
			MemoryKib: uint64(kdf.MemoryKiB),
			Time:      kdf.Time,
			Threads:   uint32(kdf.Threads),
			Salt:      salt,
		},
		PassphraseCheck: bytes.Clone(pk.check[:]),
		CreatedUnix:     created,
	}
	var err error
	bf.Nonce, bf.SealedPayload, err = seal(pk.seal, payload, backupAD(bf))
	if err != nil {
		return nil, err
	}
	return append([]byte(backupMagic), mustMarshal(bf)...), nil
}

// backupContents is a decrypted, validated backup.
type backupContents struct {
	vaultID    [vaultIDSize]byte
	period     Period
	created    int64
	identityID [keyIDSize]byte
	keys       []plainKey
}

func (c *backupContents) wipe() {
	for _, k := range c.keys {
		clear(k.key)
	}
}

// openBackup checks, decrypts and validates backup file bytes. Errors wrap
// ErrNotBackup, ErrVersion, ErrCorrupt (with ErrKDFParams) or
// ErrWrongPassphrase. KDF parameters are checked against lim before the KDF
// runs, so memory use is bounded by lim whatever data says.
func openBackup(data, passphrase []byte, lim kdfLimits) (backupContents, error) {
	if !bytes.HasPrefix(data, []byte(backupMagic)) {
		return backupContents{}, ErrNotBackup
	}
	if len(data) > maxBackupSize {
		return backupContents{}, fmt.Errorf("%w: backup of %d bytes", ErrCorrupt, len(data))
	}
	var bf flowfedv1.VaultBackupFile
	if err := proto.Unmarshal(data[len(backupMagic):], &bf); err != nil {
		return backupContents{}, fmt.Errorf("%w: decoding backup: %v", ErrCorrupt, err)
	}
	kdf := bf.GetKdf()
	switch {
	case bf.GetFormatVersion() > formatVersion:
		return backupContents{}, fmt.Errorf("%w: backup format %d, this build reads %d",
			ErrVersion, bf.GetFormatVersion(), formatVersion)
	case bf.GetFormatVersion() == 0:
		return backupContents{}, fmt.Errorf("%w: backup without format version", ErrCorrupt)
	case len(bf.GetPassphraseCheck()) != checkSize:
		return backupContents{}, fmt.Errorf("%w: passphrase check of %d bytes", ErrCorrupt, len(bf.GetPassphraseCheck()))
	case len(bf.GetNonce()) != nonceSize || len(bf.GetSealedPayload()) < tagSize:
		return backupContents{}, fmt.Errorf("%w: malformed sealed payload", ErrCorrupt)
	}
	if err := checkKDF(kdf.GetMemoryKib(), kdf.GetTime(), kdf.GetThreads(), lim); err != nil {
		return backupContents{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkSalt(kdf.GetSalt()); err != nil {
		return backupContents{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	params := KDFParams{MemoryKiB: uint32(kdf.GetMemoryKib()), Time: kdf.GetTime(), Threads: uint8(kdf.GetThreads())}
	pk := derivePassphraseKeys(passphrase, params, kdf.GetSalt(), backupPassphraseInfo)
	defer pk.wipe()
	if !pk.matches(bf.GetPassphraseCheck()) {
		return backupContents{}, ErrWrongPassphrase
	}
	pt, err := unseal(pk.seal, bf.GetNonce(), bf.GetSealedPayload(), backupAD(&bf))
	if err != nil {
		return backupContents{}, fmt.Errorf("opening backup payload: %w", err)
	}
	defer clear(pt)
	return decodeBackupPayload(pt)
}

// decodeBackupPayload validates a decrypted payload as strictly as a vault's
// records: the seal proves who wrote it, not that the writer was bug-free.
func decodeBackupPayload(pt []byte) (backupContents, error) {
	var p flowfedv1.VaultBackupPayload
	if err := proto.Unmarshal(pt, &p); err != nil {
		return backupContents{}, fmt.Errorf("%w: decoding backup payload: %v", ErrCorrupt, err)
	}
	// Wipe the decoded copies of key bytes; valid ones are cloned below.
	defer func() {
		for _, k := range p.GetKeys() {
			clear(k.GetKey())
		}
	}()
	bad := func(what string) (backupContents, error) {
		return backupContents{}, fmt.Errorf("%w: backup payload: %s", ErrCorrupt, what)
	}
	switch {
	case len(p.GetVaultId()) != vaultIDSize:
		return bad("malformed vault ID")
	case !enumIn(int32(p.GetEpochPeriod()), int32(PeriodDay), int32(PeriodMonth)):
		return bad("unknown epoch period")
	case !validUnix(p.GetVaultCreatedUnix()):
		return bad("creation time out of range")
	case len(p.GetIdentityKeyId()) != keyIDSize:
		return bad("malformed identity key ID")
	}
	c := backupContents{period: Period(p.GetEpochPeriod()), created: p.GetVaultCreatedUnix()}
	copy(c.vaultID[:], p.GetVaultId())
	copy(c.identityID[:], p.GetIdentityKeyId())
	seen := make(map[[keyIDSize]byte]bool, len(p.GetKeys()))
	identities := 0
	for _, bk := range p.GetKeys() {
		r, err := backupRecord(bk.GetRecord())
		if err != nil {
			c.wipe()
			return backupContents{}, err
		}
		if seen[r.id.raw] {
			c.wipe()
			return bad("duplicate key " + r.id.String())
		}
		seen[r.id.raw] = true
		key := bk.GetKey()
		if err := checkBackupKey(&r, key, c.identityID); err != nil {
			c.wipe()
			return backupContents{}, err
		}
		if r.id.purpose == PurposeIdentity {
			identities++
		}
		c.keys = append(c.keys, plainKey{rec: r, key: bytes.Clone(key)})
	}
	if identities != 1 {
		c.wipe()
		return bad(fmt.Sprintf("%d identity keys, want 1", identities))
	}
	return c, nil
}

func backupRecord(m *flowfedv1.VaultKeyRecord) (record, error) {
	if m == nil ||
		!enumIn(int32(m.GetPurpose()), int32(PurposeEpoch), int32(PurposeIdentity)) ||
		!enumIn(int32(m.GetState()), int32(StateActive), int32(StateShredded)) {
		return record{}, fmt.Errorf("%w: backup payload: malformed key record", ErrCorrupt)
	}
	id, ok := keyIDFromBytes(Purpose(m.GetPurpose()), m.GetKeyId())
	if !ok {
		return record{}, fmt.Errorf("%w: backup payload: malformed key ID", ErrCorrupt)
	}
	r := record{
		id:        id,
		notBefore: m.GetNotBeforeUnix(),
		notAfter:  m.GetNotAfterUnix(),
		created:   m.GetCreatedUnix(),
		state:     KeyState(m.GetState()),
		shredded:  m.GetShreddedUnix(),
	}
	return r, r.validateMeta()
}

// checkBackupKey checks that a backed-up key has the shape its record says.
func checkBackupKey(r *record, key []byte, identityID [keyIDSize]byte) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: backup payload: key %s: %s", ErrCorrupt, r.id, what)
	}
	switch {
	case r.state == StateShredded:
		if len(key) != 0 {
			return bad("shredded key with key bytes")
		}
		if r.id.purpose == PurposeIdentity {
			return bad("shredded identity")
		}
	case r.id.purpose == PurposeEpoch:
		if len(key) != 32 {
			return bad("epoch key not 32 bytes")
		}
	case r.id.purpose == PurposeIdentity:
		if r.id.raw != identityID {
			return bad("identity key under a foreign ID")
		}
		if len(key) > maxIdentityKey {
			return bad("identity key too long")
		}
		priv, err := crypto.UnmarshalPrivateKey(key)
		if err != nil || priv.Type() != crypto.Ed25519 {
			return bad("identity is not an Ed25519 key")
		}
	}
	return nil
}

// readBackupFile reads a backup with a bounded size, telling a file that is
// not a backup at all (ErrNotBackup) apart from an oversized one.
func readBackupFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no backup at %s: %w", path, fs.ErrNotExist)
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", ErrNotBackup)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxBackupSize+1))
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte(backupMagic)) {
		return nil, ErrNotBackup
	}
	if len(data) > maxBackupSize {
		return nil, fmt.Errorf("%w: backup larger than %d bytes", ErrCorrupt, maxBackupSize)
	}
	return data, nil
}

// Restore rebuilds a vault at vaultPath from the backup at backupPath, sealed
// under newPassphrase with a new master key and opts.KDF (opts.Period is
// ignored: the backup's period is kept). Keys, their IDs and states, the vault
// ID and the node identity (so the peer ID) are exactly those of the backed-up
// vault. Restore refuses an existing vaultPath (ErrExists), and returns
// ErrNotBackup, ErrVersion, ErrCorrupt or ErrWrongPassphrase for a bad
// backup; in every failure the backup is untouched and no vault is created.
func Restore(backupPath string, backupPassphrase []byte, vaultPath string, newPassphrase []byte, opts Options) (*Vault, error) {
	v, err := restore(backupPath, backupPassphrase, vaultPath, newPassphrase, opts)
	if err != nil {
		return nil, fmt.Errorf("restoring backup %s into %s: %w", backupPath, vaultPath, err)
	}
	return v, nil
}

func restore(backupPath string, backupPassphrase []byte, vaultPath string, newPassphrase []byte, opts Options) (*Vault, error) {
	if len(newPassphrase) == 0 {
		return nil, fmt.Errorf("empty new passphrase: %w", ErrInvalid)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if ok, err := exists(vaultPath); err != nil {
		return nil, err
	} else if ok {
		return nil, ErrExists
	}
	data, err := readBackupFile(backupPath)
	if err != nil {
		return nil, err
	}
	c, err := openBackup(data, backupPassphrase, defaultLimits)
	if err != nil {
		return nil, err
	}
	defer c.wipe()
	h := header{
		version:    formatVersion,
		vaultID:    c.vaultID,
		kdf:        opts.KDF,
		period:     c.period,
		created:    c.created,
		identityID: c.identityID,
	}
	return build(vaultPath, h, newPassphrase, c.keys)
}
