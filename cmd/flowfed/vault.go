package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"

	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/node"
)

// openVault unlocks the vault of a data directory, turning the common failures
// into messages that say what to do.
func openVault(e *env, df *dataFlags) (*keyvault.Vault, error) {
	// Say a missing vault is missing before asking for its passphrase.
	if _, err := os.Stat(df.vaultPath()); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no vault in %s: run 'flowfed init --dir %s' first", df.dir, df.dir)
	}
	// Nor ask for a passphrase when the running node holds the vault.
	if _, err := node.Dial(df.dir); err == nil {
		return nil, fmt.Errorf("%w: %s", keyvault.ErrLocked, lockedHint(df.dir))
	}
	pass, err := passphraseSource{file: df.passphraseFile, envVar: "FLOWFED_PASSPHRASE", label: "Vault passphrase"}.read(e)
	if err != nil {
		return nil, err
	}
	v, err := keyvault.Open(df.vaultPath(), pass)
	// Argon2id has just used (by default) 64 MiB; give it back now rather than
	// letting the heap grow to twice that before the next collection.
	debug.FreeOSMemory()
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no vault in %s: run 'flowfed init --dir %s' first", df.dir, df.dir)
	case errors.Is(err, keyvault.ErrLocked):
		return nil, fmt.Errorf("%w: %s", err, lockedHint(df.dir))
	case errors.Is(err, keyvault.ErrCorrupt):
		return nil, fmt.Errorf("%w (restore it with 'flowfed keys restore BACKUP' into a new --dir)", err)
	}
	return nil, err
}

// lockedHint says what to do when the running node holds the vault.
func lockedHint(dir string) string {
	return "the node running on " + dir + " holds it; stop it (Ctrl-C or SIGTERM) to use this command, or use the commands that go through the node (ingest, datasets, intel, peers, policy, audit, erase)"
}
