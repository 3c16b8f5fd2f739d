package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/node"
)

const keysUsage = `
Usage: flowfed keys SUBCOMMAND [flags]

Manages the keys in the node's vault. Key bytes are never printed.

Subcommands:
  list [--json]             list keys: ID, purpose, epoch, created, state
  rotate                    start a new epoch key now; older keys stay for reversal
  shred ID [--yes]          destroy an epoch key: its pseudonyms become irreversible
  backup FILE               write a sealed backup (its own passphrase: --backup-passphrase-file,
                            $FLOWFED_BACKUP_PASSPHRASE or a prompt; else the vault passphrase)
  restore FILE              restore a backup into --dir (which must not hold a vault yet);
                            the new vault passphrase is read like the one of init
  passwd                    change the vault passphrase (new one: --new-passphrase-file,
                            $FLOWFED_NEW_PASSPHRASE or a prompt)

Examples:
  flowfed keys list --dir ./node1
  flowfed keys shred ek_3fz... --dir ./node1 --yes
  FLOWFED_BACKUP_PASSPHRASE=... flowfed keys backup /safe/node1.ffbak --dir ./node1
`

func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, keysUsage[1:])
		return usagef("missing subcommand")
	}
	sub, rest := args[0], args[1:]
	var err error
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, keysUsage[1:])
		return nil
	case "list":
		err = keysList(e, rest)
	case "rotate":
		err = keysRotate(e, rest)
	case "shred":
		err = keysShred(e, rest)
	case "backup":
		err = keysBackup(e, rest)
	case "restore":
		err = keysRestore(e, rest)
	case "passwd":
		err = keysPasswd(e, rest)
	default:
		return usagef("unknown subcommand %q (list, rotate, shred, backup, restore, passwd)", sub)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%s: %w", sub, err)
	}
	return err
}

func keysList(e *env, args []string) error {
	fl := newFlagSet(e, "keys list", `
Usage: flowfed keys list [--dir D] [--json]

Lists the keys in the vault: ID, purpose, the epoch an epoch key covers, when it
was created and its state (active, retired, shredded).

Example:
  flowfed keys list --dir ./node1 --json
`)
	var df dataFlags
	df.register(fl, e)
	asJSON := fl.Bool("json", false, "print one JSON object per key")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected argument %q", fl.Arg(0))
	}
	v, err := openVault(e, &df)
	if err != nil {
		return err
	}
	defer v.Close()
	infos, err := v.List()
	if err != nil {
		return err
	}
	peer, err := v.PeerID()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, k := range infos {
			m := keyJSON(k)
			if k.Purpose == keyvault.PurposeIdentity {
				m["peer_id"] = peer.String()
			}
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(e.stdout, "peer ID %s\n\n", peer)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tPURPOSE\tEPOCH START\tEPOCH END\tCREATED\tSTATE")
	for _, k := range infos {
		start, end := fmtTime(k.Start), fmtTime(k.End)
		if k.Purpose != keyvault.PurposeEpoch {
			start, end = "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Purpose, start, end, fmtTime(k.Created), k.State)
	}
	return tw.Flush()
}

// keyJSON is the stable JSON form of a key's metadata.
func keyJSON(k keyvault.KeyInfo) map[string]any {
	m := map[string]any{
		"id":      k.ID.String(),
		"purpose": k.Purpose.String(),
		"created": k.Created.UTC().Format(time.RFC3339),
		"state":   k.State.String(),
	}
	if k.Purpose == keyvault.PurposeEpoch {
		m["epoch_start"] = k.Start.UTC().Format(time.RFC3339)
		m["epoch_end"] = k.End.UTC().Format(time.RFC3339)
	}
	if !k.Shredded.IsZero() {
		m["shredded"] = k.Shredded.UTC().Format(time.RFC3339)
	}
	return m
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04Z")
}

func keysRotate(e *env, args []string) error {
	fl := newFlagSet(e, "keys rotate", `
Usage: flowfed keys rotate [--dir D]

Creates a new epoch key now. New pseudonyms use it; the older keys stay in the
vault so their pseudonyms can still be reversed until they are shredded.

Example:
  flowfed keys rotate --dir ./node1
`)
	var df dataFlags
	df.register(fl, e)
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected argument %q", fl.Arg(0))
	}
	v, err := openVault(e, &df)
	if err != nil {
		return err
	}
	defer v.Close()
	k, err := v.Rotate(time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new epoch key %s (until %s)\n", k.ID(), fmtTime(k.End()))
	return recordKey(df.dir, "created", fmt.Sprintf("epoch key %s created by rotation, until %s", k.ID(), fmtTime(k.End())))
}

func keysShred(e *env, args []string) error {
	fl := newFlagSet(e, "keys shred", `
Usage: flowfed keys shred ID [--dir D] [--yes]

Destroys an epoch key. Every pseudonym made under it becomes irreversible, also
for you; data that carries its key ID stays usable but can no longer be linked
back to addresses. Backups made before still hold the key: destroy them too.
Without --yes it asks for confirmation on the terminal.

Example:
  flowfed keys shred ek_3fz... --dir ./node1 --yes
`)
	var df dataFlags
	df.register(fl, e)
	yes := fl.Bool("yes", false, "do not ask for confirmation")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return usagef("need exactly one key ID")
	}
	id, err := keyvault.ParseKeyID(fl.Arg(0))
	if err != nil {
		return usagef("key ID: %v", err)
	}
	if id.Purpose() != keyvault.PurposeEpoch {
		return usagef("%s is not an epoch key: only epoch keys can be shredded", id)
	}
	// Ask before unlocking: the vault stays locked while it is open.
	if !*yes && !confirm(e, fmt.Sprintf("Shred %s? Its pseudonyms become irreversible.", id)) {
		return errors.New("not confirmed: nothing shredded (use --yes in scripts)")
	}
	v, err := openVault(e, &df)
	if err != nil {
		return err
	}
	defer v.Close()
	if _, err := v.Key(id); err != nil {
		return err
	}
	current, err := v.EpochFor(time.Now())
	if err != nil {
		return err
	}
	if err := v.Shred(id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "shredded %s\n", id)
	if current.ID() == id {
		fmt.Fprintln(e.stdout, "it was the current epoch's key: the next pseudonyms use a new key")
	}
	return recordKey(df.dir, "shredded", fmt.Sprintf("epoch key %s shredded by the operator", id))
}

func keysBackup(e *env, args []string) error {
	fl := newFlagSet(e, "keys backup", `
Usage: flowfed keys backup FILE [--dir D] [--backup-passphrase-file F]

Writes a sealed backup of the whole vault to FILE (never overwriting it). The
backup is sealed under a backup passphrase from --backup-passphrase-file,
$FLOWFED_BACKUP_PASSPHRASE or a prompt; without any, the vault passphrase.

Example:
  flowfed keys backup /safe/node1.ffbak --dir ./node1
`)
	var df dataFlags
	df.register(fl, e)
	bfile := fl.String("backup-passphrase-file", "", "read the backup passphrase from the first line of `file`")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return usagef("need exactly one backup file name")
	}
	out := fl.Arg(0)
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s already exists: choose a new file name", out)
	}
	v, err := openVault(e, &df)
	if err != nil {
		return err
	}
	defer v.Close()
	bpass, err := backupPassphrase(e, *bfile, true)
	if err != nil {
		return err
	}
	if bpass == nil {
		bpass, err = passphraseSource{file: df.passphraseFile, envVar: "FLOWFED_PASSPHRASE", label: "Vault passphrase"}.read(e)
		if err != nil {
			return err
		}
	}
	if err := v.Backup(out, bpass); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote backup %s\n", out)
	return recordKey(df.dir, "backed-up", "sealed vault backup written (it holds every key not shredded)")
}

// backupPassphrase reads the backup passphrase from its own sources. It returns nil
// without error when none is configured and no terminal can ask.
func backupPassphrase(e *env, file string, confirm bool) ([]byte, error) {
	if file == "" && e.getenv("FLOWFED_BACKUP_PASSPHRASE") == "" && e.tty == nil {
		return nil, nil
	}
	return passphraseSource{file: file, envVar: "FLOWFED_BACKUP_PASSPHRASE", label: "Backup passphrase (empty: the vault passphrase)", confirm: confirm, allowEmpty: true}.read(e)
}

func keysRestore(e *env, args []string) error {
	fl := newFlagSet(e, "keys restore", `
Usage: flowfed keys restore FILE [--dir D] [--org NAME] [--backup-passphrase-file F] [--passphrase-file F]

Restores a backup into the data directory --dir, which must not hold a vault.
The backup passphrase is read like the one of 'keys backup' (else the vault
passphrase is tried); the restored vault is sealed under the vault passphrase.
The backup holds the keys only: --org names the organisation in the data
directory's config when it has none (or keep a copy of config.yaml).

Example:
  flowfed keys restore /safe/node1.ffbak --dir ./node1-restored
`)
	var df dataFlags
	df.register(fl, e)
	bfile := fl.String("backup-passphrase-file", "", "read the backup passphrase from the first line of `file`")
	org := fl.String("org", "", "this node's organisation `name`, written to the config")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return usagef("need exactly one backup file")
	}
	cfg, err := node.LoadConfig(df.dir)
	if err != nil {
		return err
	}
	if *org != "" {
		cfg.Org = *org
		if err := cfg.Validate(); err != nil {
			return usagef("--org: %v", err)
		}
	}
	if _, err := os.Stat(df.vaultPath()); err == nil {
		return fmt.Errorf("a vault already exists at %s: restore into an empty --dir", df.vaultPath())
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", df.vaultPath(), err)
	}
	bpass, err := backupPassphrase(e, *bfile, false)
	if err != nil {
		return err
	}
	vpass, err := passphraseSource{file: df.passphraseFile, envVar: "FLOWFED_PASSPHRASE", label: "New vault passphrase", confirm: true}.read(e)
	if err != nil {
		return err
	}
	if bpass == nil {
		bpass = vpass
	}
	if err := os.MkdirAll(df.dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	v, err := keyvault.Restore(fl.Arg(0), bpass, df.vaultPath(), vpass, keyvault.Options{})
	if errors.Is(err, keyvault.ErrWrongPassphrase) {
		return fmt.Errorf("wrong backup passphrase for %s: %w", fl.Arg(0), err)
	}
	if err != nil {
		return err
	}
	defer v.Close()
	id, err := v.PeerID()
	if err != nil {
		return err
	}
	if *org != "" {
		if err := node.WriteConfig(df.dir, cfg); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "restored %s\npeer ID     %s\n", df.vaultPath(), id)
	if cfg.Org == "" {
		fmt.Fprintf(e.stdout, "no organisation configured in %s: the backup holds keys only; restore config.yaml or give --org\n", df.dir)
	}
	return recordKey(df.dir, "restored", "vault restored from a backup, peer "+id.String())
}

func keysPasswd(e *env, args []string) error {
	fl := newFlagSet(e, "keys passwd", `
Usage: flowfed keys passwd [--dir D] [--passphrase-file F] [--new-passphrase-file F]

Changes the vault passphrase. Only the master key is sealed again; the other keys
and their IDs stay as they are. Backups keep their own passphrase.

Example:
  FLOWFED_PASSPHRASE=old FLOWFED_NEW_PASSPHRASE=new flowfed keys passwd --dir ./node1
`)
	var df dataFlags
	df.register(fl, e)
	nfile := fl.String("new-passphrase-file", "", "read the new passphrase from the first line of `file`")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected argument %q", fl.Arg(0))
	}
	old, err := passphraseSource{file: df.passphraseFile, envVar: "FLOWFED_PASSPHRASE", label: "Current vault passphrase"}.read(e)
	if err != nil {
		return err
	}
	v, err := keyvault.Open(df.vaultPath(), old)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no vault in %s: run 'flowfed init --dir %s' first", df.dir, df.dir)
		}
		return err
	}
	defer v.Close()
	nw, err := passphraseSource{file: *nfile, envVar: "FLOWFED_NEW_PASSPHRASE", label: "New vault passphrase", confirm: true}.read(e)
	if err != nil {
		return err
	}
	if err := v.ChangePassphrase(old, nw); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "passphrase changed")
	return recordKey(df.dir, "resealed", "vault passphrase changed; the master key is sealed again")
}

// recordKey appends a key operation to the data directory's audit chain.
// The operation has happened; failing to record it is reported as such.
func recordKey(dir, decision, reason string) error {
	err := withStore(dir, func(st *store.Store) error {
		return node.RecordKeyEvent(st, time.Now(), decision, reason)
	})
	if err != nil {
		return fmt.Errorf("done, but not recorded in the audit chain: %w", err)
	}
	return nil
}
