// Package keyvault keeps a flowfed node's secret keys in a sealed vault file,
// separate from the node's data store (normally <datadir>/vault.db): the
// epoch keys that pseudonymize addresses, and the node's libp2p identity.
//
// A [Vault] is made by [Create] (`flowfed init`), unlocked by [Open] and
// rebuilt from a backup by [Restore]. [Vault.EpochFor] hands the
// pseudonymization code the [EpochKey] for a point in time, [EpochKey.Domain]
// specialises it per recipient, and [EpochKey.PseudoKey] or
// [DomainKey.PseudoKey] yields the bytes an algorithm needs. Key IDs
// ([KeyID]) travel with every pseudonym-bearing record so that the publisher
// can find the key again with [Vault.Key].
//
// # Threat model
//
// The vault protects key material at rest against someone who obtains the
// file (a stolen disk, a copied backup, a misconfigured file share) but not
// the passphrase. Every key is sealed with XChaCha20-Poly1305 under a master
// key, and the master key under a key derived from the operator's passphrase
// with Argon2id, so an attacker must guess the passphrase at Argon2id's cost.
// Sealed records are bound by their associated data to the vault, the key ID,
// the purpose and all metadata, so editing a record, moving it to another
// slot or into another vault makes it fail to open ([ErrCorrupt]) instead of
// yielding a wrong key. Parameters read from a file are bounded before use,
// so a crafted file cannot make Open allocate gigabytes or run for hours.
//
// The vault does not protect against someone who controls the running node:
// the master key and keys in use are in its memory. Go's garbage collector
// may leave copies of key bytes in memory; the package clears the copies it
// owns when done and on [Vault.Close], which limits but cannot rule out
// exposure in a memory dump. Someone who can write the file can delete it or
// roll it back to an earlier copy; the seals detect edits, not replays of
// whole earlier files.
//
// Key bytes never reach logs or errors: every key type implements String,
// GoString, fmt.Formatter and slog.LogValuer with a redacted form such as
// "EpochKey(ek_…, redacted)", and errors name keys only by ID. Raw bytes are
// available only through the explicit accessors [EpochKey.PseudoKey],
// [DomainKey.PseudoKey] and [IdentityKey.PrivKey] (and [Vault.Identity],
// which returns libp2p's key type for the libp2p host). The package does not
// log.
//
// # Key hierarchy
//
//	passphrase ──Argon2id(salt, params)──► passphrase key ──HKDF──┬─► seal key: seals the master key
//	                                                               └─► check value: stored, tells a wrong passphrase from damage
//	master key (32 random bytes) ──HKDF("flowfed/v1/record-seal", salt = vault ID)──► record key: seals every key record
//	epoch key (32 random bytes per epoch, its own random KeyID)
//	  ├─HKDF(info "flowfed/v1/domain-key" 0x00 domain)──► domain key (per peer ID or sharing group)
//	  └─HKDF(info "flowfed/v1/pseudo-key" 0x00 mode)───► algorithm key material (PseudoKey)
//	domain key ──HKDF(info "flowfed/v1/pseudo-key" 0x00 mode)──► algorithm key material
//	identity: libp2p Ed25519 key, random, independent of everything above; it only signs
//
// All HKDF uses are HKDF-SHA256. The info strings are versioned and pinned by
// golden tests: changing one would silently change every pseudonym. Domain
// keys give each recipient domain unlinkable pseudonyms: two recipients can
// only correlate what they received if policy puts them in the same domain.
// For "ipcrypt-pfx" a 32-byte PseudoKey has distinct 16-byte halves; if they
// ever collided, the derivation is repeated with 0x00 and a counter byte
// appended to the info.
//
// # Key rotation
//
// Epochs follow UTC calendar boundaries of the vault's [Period] (a day, an
// ISO week starting Monday 00:00 UTC, or a month), fixed at creation.
// [Vault.EpochFor] returns the key covering a time and creates one, in the
// same transaction, when the epoch has none yet, so rotation at epoch
// boundaries happens by itself. [Vault.Rotate] starts a new key immediately,
// for instance after a suspected compromise: the old key's interval is cut at
// that second and it is marked retired, and the new key covers the rest of
// the epoch. Retired keys remain available through [Vault.Key] so that the
// publisher can still reverse its own pseudonyms, until they are shredded.
// [Vault.List] reports each key as active, retired (superseded, or its
// interval is over) or shredded.
//
// # Crypto-shredding
//
// [Vault.Shred] destroys an epoch key, which makes every pseudonym made with
// it (and with domain keys derived from it) irreversible and unlinkable for
// good. The key's record is replaced by a tombstone with its metadata and
// state "shredded", so lookups report [ErrShredded] rather than
// [ErrUnknownKey]. Because bbolt keeps freed pages in the file, the shred
// transaction also flags the header, and the vault is then rewritten
// compactly into a new file that is renamed over the original, after which
// not even the sealed key bytes are in the vault file. If the process stops
// between the two steps, the next [Open] finishes the rewrite.
// [Vault.ChangePassphrase] does the same for the master key sealed under the
// old passphrase.
//
// Shredding reaches only the vault file. Backups made before the shred still
// hold the key (protected by their backup passphrase) and must be destroyed
// separately; blocks of the old file may also survive on the storage device
// until overwritten, which only full-disk encryption addresses.
//
// # File format
//
// The vault is a bbolt database (format version 1 in its header) with two
// buckets; values are protobuf messages from proto/flowfed/v1/vault.proto:
//
//	bucket "flowfed-vault"  key "header"        VaultHeader: format version, vault ID,
//	                                            Argon2id params + salt, passphrase check,
//	                                            nonce + sealed master key, epoch period,
//	                                            creation time, identity key ID,
//	                                            compaction-pending flag
//	bucket "keys"           key = 16-byte ID    VaultKeyRecord: key ID, purpose, interval
//	                                            [not_before, not_after), created, state,
//	                                            shredded time, nonce, ciphertext
//
// A key record's ciphertext is the 32-byte epoch key (or the identity's
// libp2p key encoding) sealed under the record key with associated data
// "flowfed/v1/key-record" 0x00, then the vault ID, key ID, purpose, interval,
// creation time, state and shred time. A shredded record seals the empty
// string, so its tag still authenticates the tombstone. Times are Unix
// seconds in UTC.
//
// A backup file is the line "flowfed-vault-backup\n" followed by a
// VaultBackupFile message: format version, Argon2id params + salt, passphrase
// check, nonce, creation time, and a VaultBackupPayload (vault ID, period,
// creation time, identity key ID, every key's metadata and plaintext bytes)
// sealed under the backup passphrase key, with the file's own fields as
// associated data.
//
// Files that this package writes outside bbolt transactions (new vaults,
// backups, compacted vaults) are written under a temporary name in the same
// directory, synced, and then linked or renamed into place, followed by a
// sync of the directory.
package keyvault
