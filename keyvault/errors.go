package keyvault

import "errors"

// Sentinel errors. Every error returned by this package wraps at most a few of
// these with context ("opening vault /var/lib/flowfed/vault.db: wrong passphrase"),
// so callers test with [errors.Is]. No error ever carries key bytes.
var (
	// ErrExists is returned by [Create], [Restore] and [Vault.Backup] when the
	// file they would write already exists; nothing is overwritten.
	ErrExists = errors.New("file already exists")

	// ErrNotVault is returned by [Open] when the file is not a flowfed vault: an
	// empty file, a text file, a directory, or a bbolt database without the
	// vault bucket.
	ErrNotVault = errors.New("not a flowfed vault")

	// ErrNotBackup is returned by [Restore] when the file does not start with
	// the backup magic line.
	ErrNotBackup = errors.New("not a flowfed vault backup")

	// ErrCorrupt is returned when a vault or backup has the right type but is
	// damaged: truncated, inconsistent bbolt pages, a malformed or tampered
	// record, or a seal that does not open although the passphrase was right.
	ErrCorrupt = errors.New("file is damaged")

	// ErrKDFParams is returned when Argon2id parameters are outside the
	// accepted bounds: by [Create] and [Restore] for [Options.KDF], and, wrapped
	// together with [ErrCorrupt], when a vault or backup on disk declares them.
	// The bounds are checked before any memory is allocated for the KDF.
	ErrKDFParams = errors.New("argon2id parameters out of bounds")

	// ErrVersion is returned when a vault or backup was written in a format
	// version this build does not know (by a newer flowfed).
	ErrVersion = errors.New("unsupported format version")

	// ErrWrongPassphrase is returned by [Open], [Restore] and
	// [Vault.ChangePassphrase] when the passphrase does not unlock the vault or
	// backup.
	ErrWrongPassphrase = errors.New("wrong passphrase")

	// ErrLocked is returned by [Open] when another process (or another [Vault]
	// in this one) holds the vault open; the lock is waited for about a second.
	ErrLocked = errors.New("vault is in use by another process")

	// ErrUnknownKey is returned when no epoch key has the given [KeyID], or the
	// ID names a key that is not an epoch key.
	ErrUnknownKey = errors.New("unknown key")

	// ErrShredded is returned when the requested epoch key was destroyed by
	// [Vault.Shred]; pseudonyms made with it can no longer be reversed.
	ErrShredded = errors.New("key was shredded")

	// ErrClosed is returned by every method of a [Vault] after [Vault.Close].
	ErrClosed = errors.New("vault is closed")

	// ErrInvalid is returned for an invalid argument: an empty passphrase, a
	// zero or out-of-range time, an empty domain name, an unknown period, or
	// malformed key ID text.
	ErrInvalid = errors.New("invalid argument")
)
