package keyvault

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	flowfedv1 "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// formatVersion is the layout version written into every vault header and
// backup file. Readers refuse newer versions (ErrVersion) instead of guessing.
const formatVersion = 1

// bbolt bucket and key names of the vault file.
var (
	// bucketVault holds the header. Its presence is what makes a bbolt file a
	// vault; the name is specific so that flowfed's data store or another
	// program's bbolt file is never mistaken for one.
	bucketVault = []byte("flowfed-vault")
	// keyHeader is the key of the header record in bucketVault.
	keyHeader = []byte("header")
	// bucketKeys maps a 16-byte key ID to its sealed record.
	bucketKeys = []byte("keys")
)

// Size bounds for decoded values. A vault is small; anything larger is damage.
const (
	vaultIDSize      = 16
	checkSize        = 32
	masterSealedSize = 32 + tagSize
	epochSealedSize  = 32 + tagSize
	maxIdentityKey   = 256 // libp2p's protobuf encoding of an Ed25519 key is 68 bytes
	maxHeaderSize    = 1 << 10
	maxRecordSize    = 1 << 10
	// maxUnix is 9999-12-31T23:59:59Z: times past it are damage, and keeping
	// them bounded keeps time arithmetic far from overflow.
	maxUnix = 253402300799
)

// header is the decoded, validated vault header.
type header struct {
	version           uint32
	vaultID           [vaultIDSize]byte
	kdf               KDFParams
	salt              []byte
	check             []byte
	masterNonce       []byte
	sealedMaster      []byte
	period            Period
	created           int64
	identityID        [keyIDSize]byte
	compactionPending bool
}

// decodeHeader parses and validates header bytes. Every problem wraps
// ErrCorrupt (with ErrKDFParams for out-of-bounds KDF parameters), except a
// newer format version, which wraps ErrVersion. No allocation depends on the
// KDF parameters: they are only compared with lim.
func decodeHeader(b []byte, lim kdfLimits) (header, error) {
	if len(b) > maxHeaderSize {
		return header{}, fmt.Errorf("%w: header of %d bytes", ErrCorrupt, len(b))
	}
	var m flowfedv1.VaultHeader
	if err := proto.Unmarshal(b, &m); err != nil {
		return header{}, fmt.Errorf("%w: decoding header: %v", ErrCorrupt, err)
	}
	h := header{
		version:           m.GetFormatVersion(),
		salt:              m.GetKdf().GetSalt(),
		check:             m.GetPassphraseCheck(),
		masterNonce:       m.GetMasterNonce(),
		sealedMaster:      m.GetSealedMasterKey(),
		period:            Period(m.GetEpochPeriod()),
		created:           m.GetCreatedUnix(),
		compactionPending: m.GetCompactionPending(),
	}
	switch {
	case h.version > formatVersion:
		return header{}, fmt.Errorf("%w: vault format %d, this build reads %d", ErrVersion, h.version, formatVersion)
	case h.version == 0:
		return header{}, fmt.Errorf("%w: header without format version", ErrCorrupt)
	case len(m.GetVaultId()) != vaultIDSize:
		return header{}, fmt.Errorf("%w: vault ID of %d bytes", ErrCorrupt, len(m.GetVaultId()))
	case len(m.GetIdentityKeyId()) != keyIDSize:
		return header{}, fmt.Errorf("%w: identity key ID of %d bytes", ErrCorrupt, len(m.GetIdentityKeyId()))
	case len(h.check) != checkSize:
		return header{}, fmt.Errorf("%w: passphrase check of %d bytes", ErrCorrupt, len(h.check))
	case len(h.masterNonce) != nonceSize || len(h.sealedMaster) != masterSealedSize:
		return header{}, fmt.Errorf("%w: malformed sealed master key", ErrCorrupt)
	case !enumIn(int32(m.GetEpochPeriod()), int32(PeriodDay), int32(PeriodMonth)):
		return header{}, fmt.Errorf("%w: unknown epoch period %d", ErrCorrupt, m.GetEpochPeriod())
	case !validUnix(h.created):
		return header{}, fmt.Errorf("%w: creation time out of range", ErrCorrupt)
	}
	kdf := m.GetKdf()
	if err := checkKDF(kdf.GetMemoryKib(), kdf.GetTime(), kdf.GetThreads(), lim); err != nil {
		return header{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkSalt(h.salt); err != nil {
		return header{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	// The bounds above make these conversions exact.
	h.kdf = KDFParams{MemoryKiB: uint32(kdf.GetMemoryKib()), Time: kdf.GetTime(), Threads: uint8(kdf.GetThreads())}
	copy(h.vaultID[:], m.GetVaultId())
	copy(h.identityID[:], m.GetIdentityKeyId())
	return h, nil
}

func (h *header) encode() []byte {
	m := &flowfedv1.VaultHeader{
		FormatVersion: h.version,
		VaultId:       h.vaultID[:],
		Kdf: &flowfedv1.VaultKdfParams{
			MemoryKib: uint64(h.kdf.MemoryKiB),
			Time:      h.kdf.Time,
			Threads:   uint32(h.kdf.Threads),
			Salt:      h.salt,
		},
		PassphraseCheck:   h.check,
		MasterNonce:       h.masterNonce,
		SealedMasterKey:   h.sealedMaster,
		EpochPeriod:       flowfedv1.VaultEpochPeriod(h.period),
		CreatedUnix:       h.created,
		IdentityKeyId:     h.identityID[:],
		CompactionPending: h.compactionPending,
	}
	return mustMarshal(m)
}

// masterAD binds the sealed master key to everything in the header that must
// not change under it: the vault's identity, format, period, creation time,
// identity key ID and the KDF parameters and salt. Only compactionPending is
// left out, because it changes without re-sealing.
func (h *header) masterAD() []byte {
	return newAD("flowfed/v1/master-key").
		bytes(h.vaultID[:]).
		u64(uint64(h.version)).
		u64(uint64(h.period)).
		i64(h.created).
		bytes(h.identityID[:]).
		u64(uint64(h.kdf.MemoryKiB)).
		u64(uint64(h.kdf.Time)).
		u64(uint64(h.kdf.Threads)).
		bytes(h.salt)
}

// setPassphrase draws a new salt, derives the passphrase keys and seals
// master into h. h.kdf must be valid; every other field must already be final,
// since they are bound into the seal.
func (h *header) setPassphrase(passphrase []byte, master masterKey) error {
	h.salt = randomBytes(saltSize)
	pk := derivePassphraseKeys(passphrase, h.kdf, h.salt, vaultPassphraseInfo)
	defer pk.wipe()
	nonce, ct, err := seal(pk.seal, master.s.bytes(), h.masterAD())
	if err != nil {
		return err
	}
	h.check = append([]byte(nil), pk.check[:]...)
	h.masterNonce, h.sealedMaster = nonce, ct
	return nil
}

// unlock derives the passphrase keys and opens the master key. A check value
// mismatch is a wrong passphrase; a seal that fails although the check matched
// means the header was damaged or edited.
func (h *header) unlock(passphrase []byte) (masterKey, error) {
	pk := derivePassphraseKeys(passphrase, h.kdf, h.salt, vaultPassphraseInfo)
	defer pk.wipe()
	if !pk.matches(h.check) {
		return masterKey{}, ErrWrongPassphrase
	}
	pt, err := unseal(pk.seal, h.masterNonce, h.sealedMaster, h.masterAD())
	if err != nil {
		return masterKey{}, fmt.Errorf("opening sealed master key: %w", err)
	}
	defer clear(pt)
	s, ok := secretFrom(pt)
	if !ok {
		return masterKey{}, fmt.Errorf("%w: master key of %d bytes", ErrCorrupt, len(pt))
	}
	return masterKey{s: s}, nil
}

// record is a decoded, validated key record.
type record struct {
	id        KeyID
	notBefore int64
	notAfter  int64
	created   int64
	state     KeyState
	shredded  int64
	nonce     []byte
	ct        []byte
}

// decodeRecord parses and validates a record stored under bbolt key k (nil to
// skip that comparison). Every problem wraps ErrCorrupt.
func decodeRecord(k, b []byte) (record, error) {
	if len(b) > maxRecordSize {
		return record{}, fmt.Errorf("%w: key record of %d bytes", ErrCorrupt, len(b))
	}
	var m flowfedv1.VaultKeyRecord
	if err := proto.Unmarshal(b, &m); err != nil {
		return record{}, fmt.Errorf("%w: decoding key record: %v", ErrCorrupt, err)
	}
	if !enumIn(int32(m.GetPurpose()), int32(PurposeEpoch), int32(PurposeIdentity)) {
		return record{}, fmt.Errorf("%w: key record with unknown purpose %d", ErrCorrupt, m.GetPurpose())
	}
	id, ok := keyIDFromBytes(Purpose(m.GetPurpose()), m.GetKeyId())
	if !ok {
		return record{}, fmt.Errorf("%w: key record with malformed ID or purpose", ErrCorrupt)
	}
	if k != nil && string(k) != string(id.raw[:]) {
		return record{}, fmt.Errorf("%w: key record %s stored under another key ID", ErrCorrupt, id)
	}
	if !enumIn(int32(m.GetState()), int32(StateActive), int32(StateShredded)) {
		return record{}, fmt.Errorf("%w: key record %s with unknown state %d", ErrCorrupt, id, m.GetState())
	}
	r := record{
		id:        id,
		notBefore: m.GetNotBeforeUnix(),
		notAfter:  m.GetNotAfterUnix(),
		created:   m.GetCreatedUnix(),
		state:     KeyState(m.GetState()),
		shredded:  m.GetShreddedUnix(),
		nonce:     m.GetNonce(),
		ct:        m.GetCiphertext(),
	}
	if err := r.validateMeta(); err != nil {
		return record{}, err
	}
	if len(r.nonce) != nonceSize || len(r.ct) != r.sealedSize() {
		// The identity key's size varies a little with its encoding; any
		// other mismatch is damage.
		if !(r.id.purpose == PurposeIdentity && r.state != StateShredded &&
			len(r.nonce) == nonceSize && len(r.ct) > tagSize && len(r.ct) <= maxIdentityKey+tagSize) {
			return record{}, fmt.Errorf("%w: key record %s with malformed seal", ErrCorrupt, id)
		}
	}
	return r, nil
}

// validateMeta checks the metadata fields (everything but the seal), shared by
// decodeRecord and the backup decoder.
func (r *record) validateMeta() error {
	bad := func(what string) error {
		return fmt.Errorf("%w: key record %s: %s", ErrCorrupt, r.id, what)
	}
	switch {
	case !r.id.purpose.valid():
		return bad("unknown purpose")
	case !r.state.valid():
		return bad("unknown state")
	case !validUnix(r.created) || !validUnix(r.notBefore):
		return bad("time out of range")
	case r.state == StateShredded && (r.shredded == 0 || !validUnix(r.shredded)):
		return bad("shredded without a valid shred time")
	case r.state != StateShredded && r.shredded != 0:
		return bad("shred time on a live key")
	}
	switch r.id.purpose {
	case PurposeEpoch:
		if !validUnix(r.notAfter) || r.notAfter < r.notBefore {
			return bad("malformed epoch interval")
		}
	case PurposeIdentity:
		if r.notAfter != 0 || r.state != StateActive {
			return bad("malformed identity record")
		}
	}
	return nil
}

// sealedSize is the exact ciphertext length of a record's seal: the key plus
// tag for a live epoch key, the bare tag for a shredded key (its empty seal
// still authenticates the metadata). Identity keys are checked by range.
func (r *record) sealedSize() int {
	if r.state == StateShredded {
		return tagSize
	}
	if r.id.purpose == PurposeEpoch {
		return epochSealedSize
	}
	return -1
}

func (r *record) toProto() *flowfedv1.VaultKeyRecord {
	return &flowfedv1.VaultKeyRecord{
		KeyId:         r.id.raw[:],
		Purpose:       flowfedv1.VaultKeyPurpose(r.id.purpose),
		NotBeforeUnix: r.notBefore,
		NotAfterUnix:  r.notAfter,
		CreatedUnix:   r.created,
		State:         flowfedv1.VaultKeyState(r.state),
		Nonce:         r.nonce,
		Ciphertext:    r.ct,
		ShreddedUnix:  r.shredded,
	}
}

func (r *record) encode() []byte { return mustMarshal(r.toProto()) }

// ad binds a record's seal to its vault, key ID, purpose and every metadata
// field: a record copied to another slot, another vault, or with an edited
// interval or state fails to open.
func (r *record) ad(vaultID [vaultIDSize]byte) []byte {
	return newAD("flowfed/v1/key-record").
		bytes(vaultID[:]).
		bytes(r.id.raw[:]).
		u64(uint64(r.id.purpose)).
		i64(r.notBefore).
		i64(r.notAfter).
		i64(r.created).
		u64(uint64(r.state)).
		i64(r.shredded)
}

// covers reports whether the live epoch key's interval contains ts.
func (r *record) covers(ts int64) bool {
	return r.notBefore <= ts && ts < r.notAfter
}

// info converts metadata for List. now decides whether an unshredded epoch
// key is still active.
func (r *record) info(now int64) KeyInfo {
	ki := KeyInfo{
		ID:      r.id,
		Purpose: r.id.purpose,
		Start:   unixTime(r.notBefore),
		Created: unixTime(r.created),
		State:   r.state,
	}
	if r.id.purpose == PurposeEpoch {
		ki.End = unixTime(r.notAfter)
		if r.state == StateActive && r.notAfter <= now {
			ki.State = StateRetired
		}
	}
	if r.state == StateShredded {
		ki.Shredded = unixTime(r.shredded)
	}
	return ki
}

// enumIn checks a decoded protobuf enum before it is narrowed to a Go uint8
// type, where a value like 257 or -255 would otherwise wrap into range.
func enumIn(v, lo, hi int32) bool { return v >= lo && v <= hi }

func validUnix(s int64) bool { return s >= 0 && s <= maxUnix }

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }

// unixSeconds converts a caller's time, refusing the zero time (almost always
// a bug) and times the format cannot hold.
func unixSeconds(t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, fmt.Errorf("zero time: %w", ErrInvalid)
	}
	s := t.Unix()
	if !validUnix(s) {
		return 0, fmt.Errorf("time %s out of range: %w", t.UTC().Format(time.RFC3339), ErrInvalid)
	}
	return s, nil
}

// mustMarshal encodes deterministically. Marshal fails only for invalid UTF-8
// in string fields (these messages have none) or messages over 2 GiB.
func mustMarshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic("keyvault: encoding " + string(m.ProtoReflect().Descriptor().FullName()) + ": " + err.Error())
	}
	return b
}
