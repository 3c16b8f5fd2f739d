package keyvault

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	flowfedv1 "github.com/flowfed/flowfed/proto/flowfed/v1"
)

var backupPass = []byte("backup passphrase kept offline")

// populated returns a vault with three epochs, a rotation and a shredded key.
func populated(t testing.TB) (*Vault, []EpochKey, KeyID) {
	t.Helper()
	v := newVault(t, PeriodDay)
	at := utc(t, "2024-03-10T13:00:00Z")
	var keys []EpochKey
	for i := range 3 {
		k, err := v.EpochFor(at.AddDate(0, 0, i))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	rot, err := v.Rotate(at.AddDate(0, 0, 2).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, rot)
	shredded := keys[0].ID()
	if err := v.Shred(shredded); err != nil {
		t.Fatal(err)
	}
	return v, keys[1:], shredded
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	v, keys, shredded := populated(t)
	bpath := filepath.Join(t.TempDir(), "vault.backup")
	if err := v.Backup(bpath, backupPass); err != nil {
		t.Fatalf("Backup = %v", err)
	}
	data := readFile(t, bpath)
	if !bytes.HasPrefix(data, []byte(backupMagic)) {
		t.Errorf("backup starts with %q, want the magic line", data[:min(len(data), 24)])
	}
	for _, k := range keys {
		if bytes.Contains(data, k.k.bytes()) {
			t.Fatal("backup holds a key in the clear")
		}
	}

	rpath := filepath.Join(t.TempDir(), "restored.db")
	newPass := []byte("new passphrase for the restored vault")
	r, err := Restore(bpath, backupPass, rpath, newPass, Options{KDF: fastKDF, Period: PeriodMonth})
	if err != nil {
		t.Fatalf("Restore = %v", err)
	}
	defer r.Close()

	if r.Period() != PeriodDay {
		t.Errorf("restored Period = %v, want the backup's day", r.Period())
	}
	for _, k := range keys {
		got, err := r.Key(k.ID())
		if err != nil || *got.k() != *k.k() || !got.Start().Equal(k.Start()) {
			t.Errorf("restored Key(%v) = %v, %v; want identical key", k.ID(), got, err)
		}
	}
	_, err = r.Key(shredded)
	wantErr(t, "restored Key(shredded)", err, ErrShredded)

	wantPID, _ := v.PeerID()
	gotPID, err := r.PeerID()
	if err != nil || gotPID != wantPID {
		t.Errorf("restored PeerID = %v, %v; want %v", gotPID, err, wantPID)
	}
	wantPriv, _ := v.Identity()
	gotPriv, _ := r.Identity()
	if !gotPriv.Equals(wantPriv) {
		t.Error("restored identity key differs")
	}
	wantList, _ := v.List()
	gotList, err := r.List()
	if err != nil || len(gotList) != len(wantList) {
		t.Fatalf("restored List = %d entries, %v; want %d", len(gotList), err, len(wantList))
	}
	for i := range wantList {
		if gotList[i] != wantList[i] {
			t.Errorf("restored List[%d] = %+v, want %+v", i, gotList[i], wantList[i])
		}
	}
	if headerOf(t, r).vaultID != v.vaultID {
		t.Error("restored vault ID differs")
	}
	if *r.master.s() == *v.master.s() {
		t.Error("restored vault reuses the master key")
	}

	// The restored vault opens with the new passphrase only.
	r.Close()
	_, err = Open(rpath, testPass)
	wantErr(t, "Open restored with old passphrase", err, ErrWrongPassphrase)
	r2, err := Open(rpath, newPass)
	if err != nil {
		t.Fatalf("Open restored = %v", err)
	}
	r2.Close()
}

func TestBackupRefusesExisting(t *testing.T) {
	v := newVault(t, PeriodDay)
	bpath := filepath.Join(t.TempDir(), "vault.backup")
	if err := os.WriteFile(bpath, []byte("older backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Backup over existing file", v.Backup(bpath, backupPass), ErrExists)
	if got := readFile(t, bpath); string(got) != "older backup" {
		t.Error("Backup overwrote the existing file")
	}
	wantErr(t, "Backup with empty passphrase", v.Backup(filepath.Join(t.TempDir(), "b"), nil), ErrInvalid)
}

// TestRestoreFailures checks each way Restore can fail: no vault appears,
// an existing vault and the backup stay byte-for-byte the same.
func TestRestoreFailures(t *testing.T) {
	v := newVault(t, PeriodDay)
	if _, err := v.EpochFor(time.Now()); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "vault.backup")
	if err := v.Backup(good, backupPass); err != nil {
		t.Fatal(err)
	}
	// rewrite returns a copy of the good backup with its protobuf edited.
	rewrite := func(t *testing.T, fn func(bf *flowfedv1.VaultBackupFile)) string {
		data := readFile(t, good)
		var bf flowfedv1.VaultBackupFile
		if err := proto.Unmarshal(data[len(backupMagic):], &bf); err != nil {
			t.Fatal(err)
		}
		fn(&bf)
		out, _ := proto.Marshal(&bf)
		p := filepath.Join(t.TempDir(), "edited.backup")
		os.WriteFile(p, append([]byte(backupMagic), out...), 0o600)
		return p
	}
	writeTemp := func(t *testing.T, data []byte) string {
		p := filepath.Join(t.TempDir(), "file")
		os.WriteFile(p, data, 0o600)
		return p
	}
	for _, tc := range []struct {
		name   string
		backup func(t *testing.T) string
		pass   []byte
		// target returns the vault path to restore into.
		target func(t *testing.T) string
		opts   Options
		want   []error
	}{
		{name: "vault path exists", backup: func(*testing.T) string { return good },
			target: func(*testing.T) string { return v.Path() }, want: []error{ErrExists}},
		{name: "wrong backup passphrase", backup: func(*testing.T) string { return good },
			pass: otherPass, want: []error{ErrWrongPassphrase}},
		{name: "vault passphrase instead of backup passphrase", backup: func(*testing.T) string { return good },
			pass: testPass, want: []error{ErrWrongPassphrase}},
		{name: "missing backup", backup: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			want: []error{fs.ErrNotExist}},
		{name: "vault file as backup", backup: func(*testing.T) string { return v.Path() },
			want: []error{ErrNotBackup}},
		{name: "empty file", backup: func(t *testing.T) string { return writeTemp(t, nil) },
			want: []error{ErrNotBackup}},
		{name: "directory", backup: func(t *testing.T) string { return t.TempDir() },
			want: []error{ErrNotBackup}},
		{name: "magic only", backup: func(t *testing.T) string { return writeTemp(t, []byte(backupMagic)) },
			want: []error{ErrCorrupt}},
		{name: "truncated", backup: func(t *testing.T) string {
			d := readFile(t, good)
			return writeTemp(t, d[:len(d)-10])
		}, want: []error{ErrCorrupt}},
		{name: "payload flipped", backup: func(t *testing.T) string {
			return rewrite(t, func(bf *flowfedv1.VaultBackupFile) { bf.SealedPayload[5] ^= 0x80 })
		}, want: []error{ErrCorrupt}},
		{name: "creation time edited", backup: func(t *testing.T) string {
			return rewrite(t, func(bf *flowfedv1.VaultBackupFile) { bf.CreatedUnix++ })
		}, want: []error{ErrCorrupt}},
		{name: "KDF memory 1 TiB", backup: func(t *testing.T) string {
			return rewrite(t, func(bf *flowfedv1.VaultBackupFile) { bf.Kdf.MemoryKib = 1 << 30 })
		}, want: []error{ErrCorrupt, ErrKDFParams}},
		{name: "KDF salt 65 bytes", backup: func(t *testing.T) string {
			return rewrite(t, func(bf *flowfedv1.VaultBackupFile) { bf.Kdf.Salt = make([]byte, 65) })
		}, want: []error{ErrCorrupt, ErrKDFParams}},
		{name: "newer format", backup: func(t *testing.T) string {
			return rewrite(t, func(bf *flowfedv1.VaultBackupFile) { bf.FormatVersion = 9 })
		}, want: []error{ErrVersion}},
		{name: "empty new passphrase", backup: func(*testing.T) string { return good },
			opts: Options{KDF: fastKDF}, want: []error{ErrInvalid}},
		{name: "bad KDF for the new vault", backup: func(*testing.T) string { return good },
			opts: Options{KDF: KDFParams{MemoryKiB: 1, Time: 1, Threads: 1}}, want: []error{ErrKDFParams}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bpath := tc.backup(t)
			dir := t.TempDir()
			target := filepath.Join(dir, "vault.db")
			if tc.target != nil {
				target = tc.target(t)
			}
			hashOf := func(p string) (h [32]byte) {
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
					h = fileHash(t, p)
				}
				return h
			}
			backupBefore, targetBefore := hashOf(bpath), hashOf(target)
			pass := tc.pass
			if pass == nil {
				pass = backupPass
			}
			newPass := testPass
			if tc.name == "empty new passphrase" {
				newPass = nil
			}
			opts := tc.opts
			if opts == (Options{}) {
				opts = Options{KDF: fastKDF}
			}
			r, err := Restore(bpath, pass, target, newPass, opts)
			if err == nil {
				r.Close()
			}
			wantErr(t, "Restore", err, tc.want...)
			if hashOf(bpath) != backupBefore {
				t.Error("failed Restore changed the backup")
			}
			if hashOf(target) != targetBefore {
				t.Error("failed Restore changed the existing vault")
			}
			if tc.target == nil {
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("failed Restore left %d files", len(entries))
				}
			}
		})
	}
}

// TestBackupPayloadValidation feeds sealed but malformed payloads: a valid
// seal must not stand in for validation.
func TestBackupPayloadValidation(t *testing.T) {
	v := newVault(t, PeriodDay)
	k, _ := v.EpochFor(time.Now())
	ik, _ := v.IdentityKey()
	base := func() *flowfedv1.VaultBackupPayload {
		var p flowfedv1.VaultBackupPayload
		v.view(func(tx *bolt.Tx) error {
			h, _ := headerTx(tx)
			p.VaultId = h.vaultID[:]
			p.EpochPeriod = flowfedv1.VaultEpochPeriod(h.period)
			p.VaultCreatedUnix = h.created
			p.IdentityKeyId = h.identityID[:]
			return forEachRecord(tx, func(r *record) error {
				pt, err := v.openRecord(r)
				m := *r
				m.nonce, m.ct = nil, nil
				p.Keys = append(p.Keys, &flowfedv1.VaultBackupKey{Record: m.toProto(), Key: pt})
				return err
			})
		})
		return &p
	}
	find := func(p *flowfedv1.VaultBackupPayload, id KeyID) *flowfedv1.VaultBackupKey {
		for _, bk := range p.Keys {
			if bytes.Equal(bk.Record.KeyId, id.raw[:]) {
				return bk
			}
		}
		t.Fatalf("key %v not in payload", id)
		return nil
	}
	for _, tc := range []struct {
		name string
		edit func(p *flowfedv1.VaultBackupPayload)
	}{
		{"no identity", func(p *flowfedv1.VaultBackupPayload) {
			var keep []*flowfedv1.VaultBackupKey
			for _, bk := range p.Keys {
				if bk.Record.Purpose != flowfedv1.VaultKeyPurpose_VAULT_KEY_PURPOSE_IDENTITY {
					keep = append(keep, bk)
				}
			}
			p.Keys = keep
		}},
		{"duplicate key", func(p *flowfedv1.VaultBackupPayload) { p.Keys = append(p.Keys, find(p, k.ID())) }},
		{"short epoch key", func(p *flowfedv1.VaultBackupPayload) { find(p, k.ID()).Key = make([]byte, 31) }},
		{"shredded with bytes", func(p *flowfedv1.VaultBackupPayload) {
			r := find(p, k.ID()).Record
			r.State, r.ShreddedUnix = flowfedv1.VaultKeyState_VAULT_KEY_STATE_SHREDDED, 1
		}},
		{"identity not Ed25519", func(p *flowfedv1.VaultBackupPayload) { find(p, ik.ID()).Key = []byte{1, 2, 3} }},
		{"bad period", func(p *flowfedv1.VaultBackupPayload) { p.EpochPeriod = 257 }},
		{"negative state", func(p *flowfedv1.VaultBackupPayload) { find(p, k.ID()).Record.State = -255 }},
		{"short vault ID", func(p *flowfedv1.VaultBackupPayload) { p.VaultId = p.VaultId[:15] }},
		{"inverted interval", func(p *flowfedv1.VaultBackupPayload) {
			r := find(p, k.ID()).Record
			r.NotAfterUnix = r.NotBeforeUnix - 1
		}},
		{"nil record", func(p *flowfedv1.VaultBackupPayload) {
			p.Keys = append(p.Keys, &flowfedv1.VaultBackupKey{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.edit(p)
			data, err := sealBackup(mustMarshal(p), backupPass, fastKDF, time.Now().Unix())
			if err != nil {
				t.Fatal(err)
			}
			_, err = openBackup(data, backupPass, defaultLimits)
			wantErr(t, "openBackup", err, ErrCorrupt)
		})
	}
	// And the unedited payload passes, so the cases above test what they say.
	data, _ := sealBackup(mustMarshal(base()), backupPass, fastKDF, time.Now().Unix())
	if _, err := openBackup(data, backupPass, defaultLimits); err != nil {
		t.Errorf("openBackup(valid) = %v", err)
	}
}
