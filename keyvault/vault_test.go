package keyvault

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	flowfedv1 "github.com/flowfed/flowfed/proto/flowfed/v1"
)

func TestCreateOpenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vault.db")
	v, err := Create(path, testPass, Options{KDF: fastKDF, Period: PeriodMonth})
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	pid, err := v.PeerID()
	if err != nil {
		t.Fatalf("PeerID = %v", err)
	}
	priv, err := v.Identity()
	if err != nil {
		t.Fatalf("Identity = %v", err)
	}
	at := utc(t, "2024-05-17T12:00:00Z")
	k, err := v.EpochFor(at)
	if err != nil {
		t.Fatalf("EpochFor = %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("vault file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	// No temporary file may be left behind: it would be a second copy.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %d entries after Create, want only vault.db", len(entries))
	}

	v2, err := Open(path, testPass)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer v2.Close()
	if v2.Period() != PeriodMonth || v2.Path() != path {
		t.Errorf("Period, Path = %v, %q; want month, %q", v2.Period(), v2.Path(), path)
	}
	pid2, err := v2.PeerID()
	if err != nil || pid2 != pid {
		t.Errorf("PeerID after reopen = %v, %v; want %v", pid2, err, pid)
	}
	priv2, err := v2.Identity()
	if err != nil || !priv2.Equals(priv) {
		t.Errorf("Identity after reopen differs (err %v)", err)
	}
	k2, err := v2.EpochFor(at)
	if err != nil || k2.ID() != k.ID() || *k2.k() != *k.k() {
		t.Errorf("EpochFor after reopen = %v, %v; want the same key %v", k2, err, k)
	}
	ik, err := v2.IdentityKey()
	if err != nil {
		t.Fatalf("IdentityKey = %v", err)
	}
	sig, err := ik.Sign([]byte("envelope"))
	if err != nil {
		t.Fatalf("Sign = %v", err)
	}
	if ok, err := ik.Public().Verify([]byte("envelope"), sig); !ok || err != nil {
		t.Errorf("Verify(Sign) = %v, %v; want true", ok, err)
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"vault", func(t *testing.T, path string) {
			v, err := Create(path, testPass, Options{KDF: fastKDF})
			if err != nil {
				t.Fatal(err)
			}
			v.Close()
		}},
		{"text file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("not a vault\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vault.db")
			tc.setup(t, path)
			before := fileHash(t, path)
			_, err := Create(path, otherPass, Options{KDF: fastKDF})
			wantErr(t, "Create over existing", err, ErrExists)
			if fileHash(t, path) != before {
				t.Error("Create changed the existing file")
			}
		})
	}
}

func TestCreateInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		pass []byte
		opts Options
		want error
	}{
		{"empty passphrase", nil, Options{KDF: fastKDF}, ErrInvalid},
		{"memory below 8 KiB per thread", testPass, Options{KDF: KDFParams{MemoryKiB: 16, Time: 1, Threads: 4}}, ErrKDFParams},
		{"memory above 1 GiB", testPass, Options{KDF: KDFParams{MemoryKiB: 1<<20 + 1, Time: 1, Threads: 1}}, ErrKDFParams},
		{"zero time", testPass, Options{KDF: KDFParams{MemoryKiB: 64, Time: 0, Threads: 1}}, ErrKDFParams},
		{"17 passes", testPass, Options{KDF: KDFParams{MemoryKiB: 64, Time: 17, Threads: 1}}, ErrKDFParams},
		{"zero threads", testPass, Options{KDF: KDFParams{MemoryKiB: 64, Time: 1, Threads: 0}}, ErrKDFParams},
		{"65 threads", testPass, Options{KDF: KDFParams{MemoryKiB: 1024, Time: 1, Threads: 65}}, ErrKDFParams},
		{"unknown period", testPass, Options{KDF: fastKDF, Period: 9}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Create(filepath.Join(dir, "vault.db"), tc.pass, tc.opts)
			wantErr(t, "Create", err, tc.want)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("failed Create left %d files", len(entries))
			}
		})
	}
}

func TestCreateMissingDir(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "no", "such", "vault.db"), testPass, Options{KDF: fastKDF})
	wantErr(t, "Create in a missing directory", err, fs.ErrNotExist)
}

// TestDefaultKDFParams runs the real RFC 9106 parameters once.
func TestDefaultKDFParams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB Argon2id is slow under -short")
	}
	path := filepath.Join(t.TempDir(), "vault.db")
	v, err := Create(path, testPass, Options{})
	if err != nil {
		t.Fatalf("Create with defaults = %v", err)
	}
	h, err := decodeHeader(rawHeader(t, v), defaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if h.kdf != (KDFParams{MemoryKiB: 65536, Time: 3, Threads: 4}) || len(h.salt) != 16 || h.period != PeriodWeek {
		t.Errorf("stored params = %+v, %d-byte salt, period %v; want RFC 9106 option 2, 16 bytes, week",
			h.kdf, len(h.salt), h.period)
	}
	v.Close()
	before := fileHash(t, path)
	_, err = Open(path, otherPass)
	wantErr(t, "Open with wrong passphrase", err, ErrWrongPassphrase)
	if fileHash(t, path) != before {
		t.Error("failed Open changed the file")
	}
	v, err = Open(path, testPass)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	v.Close()
}

// TestOpenFailures checks each way Open can fail, and that the file is
// byte-for-byte the same afterwards.
func TestOpenFailures(t *testing.T) {
	at := utc(t, "2024-05-17T12:00:00Z")
	for _, tc := range []struct {
		name string
		// setup returns the path to open; it may damage a fresh vault.
		setup func(t *testing.T) string
		pass  []byte
		want  []error
		// wantMsg must appear in the error text.
		wantMsg string
	}{
		{
			name:    "missing file",
			setup:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "vault.db") },
			want:    []error{fs.ErrNotExist},
			wantMsg: "flowfed init",
		},
		{
			name: "empty file",
			setup: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "vault.db")
				os.WriteFile(p, nil, 0o600)
				return p
			},
			want: []error{ErrNotVault},
		},
		{
			name: "text file",
			setup: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "vault.db")
				os.WriteFile(p, []byte(strings.Repeat("passphrase=hunter2\n", 400)), 0o600)
				return p
			},
			want: []error{ErrNotVault},
		},
		{
			name: "short text file",
			setup: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "vault.db")
				os.WriteFile(p, []byte("hi\n"), 0o600)
				return p
			},
			want: []error{ErrNotVault},
		},
		{
			name:  "directory",
			setup: func(t *testing.T) string { return t.TempDir() },
			want:  []error{ErrNotVault},
		},
		{
			name: "bbolt file that is not a vault",
			setup: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "store.db")
				db, err := bolt.Open(p, 0o600, nil)
				if err != nil {
					t.Fatal(err)
				}
				db.Update(func(tx *bolt.Tx) error {
					b, _ := tx.CreateBucket([]byte("flows"))
					return b.Put([]byte("k"), []byte("v"))
				})
				db.Close()
				return p
			},
			want: []error{ErrNotVault},
		},
		{
			name: "backup file instead of vault",
			setup: func(t *testing.T) string {
				v := newVault(t, PeriodDay)
				p := filepath.Join(t.TempDir(), "vault.backup")
				if err := v.Backup(p, testPass); err != nil {
					t.Fatal(err)
				}
				return p
			},
			want: []error{ErrNotVault},
		},
		{
			name:  "wrong passphrase",
			setup: func(t *testing.T) string { p, _ := createClosed(t, at); return p },
			pass:  otherPass,
			want:  []error{ErrWrongPassphrase},
		},
		{
			name:  "empty passphrase",
			setup: func(t *testing.T) string { p, _ := createClosed(t, at); return p },
			pass:  []byte{},
			want:  []error{ErrWrongPassphrase},
		},
		{
			name:  "truncated to one page",
			setup: func(t *testing.T) string { return truncated(t, at, 4096) },
			want:  []error{ErrCorrupt},
		},
		{
			name:  "truncated to two pages",
			setup: func(t *testing.T) string { return truncated(t, at, 8192) },
			want:  []error{ErrCorrupt},
		},
		{
			// bbolt grows files in steps; cutting the slack after the
			// last used page is harmless, cutting a used page is not.
			name:  "truncated below the high-water mark",
			setup: func(t *testing.T) string { return truncated(t, at, 5*4096) },
			want:  []error{ErrCorrupt},
		},
		{
			name:  "truncated inside the first meta page",
			setup: func(t *testing.T) string { return truncated(t, at, 40) },
			want:  []error{ErrCorrupt},
		},
		{
			name: "both meta pages damaged",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				b := readFile(t, p)
				b[16+40]++ // meta 0 high-water mark, breaks its checksum
				b[4096+16+40]++
				os.WriteFile(p, b, 0o600)
				return p
			},
			want: []error{ErrCorrupt},
		},
		{
			name: "sealed master key edited",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.SealedMasterKey[3] ^= 0x40 })
				return p
			},
			want: []error{ErrCorrupt},
		},
		{
			name: "master nonce edited",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.MasterNonce[0] ^= 1 })
				return p
			},
			want: []error{ErrCorrupt},
		},
		{
			name: "epoch period edited",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.EpochPeriod = flowfedv1.VaultEpochPeriod_VAULT_EPOCH_PERIOD_MONTH })
				return p
			},
			want: []error{ErrCorrupt},
		},
		{
			name: "header not protobuf",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editBolt(t, p, func(tx *bolt.Tx) error {
					return tx.Bucket(bucketVault).Put(keyHeader, []byte{0xff, 0xff, 0xff})
				})
				return p
			},
			want: []error{ErrCorrupt},
		},
		{
			name: "header missing",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editBolt(t, p, func(tx *bolt.Tx) error { return tx.Bucket(bucketVault).Delete(keyHeader) })
				return p
			},
			want: []error{ErrCorrupt},
		},
		{
			name: "keys bucket missing",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editBolt(t, p, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketKeys) })
				return p
			},
			want: []error{ErrCorrupt},
		},
		{
			name: "KDF memory 1 TiB",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.Kdf.MemoryKib = 1 << 30 })
				return p
			},
			want: []error{ErrCorrupt, ErrKDFParams},
		},
		{
			name: "KDF memory beyond uint32",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.Kdf.MemoryKib = 1<<32 + 64 })
				return p
			},
			want: []error{ErrCorrupt, ErrKDFParams},
		},
		{
			name: "KDF 1000 passes",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.Kdf.Time = 1000 })
				return p
			},
			want: []error{ErrCorrupt, ErrKDFParams},
		},
		{
			name: "KDF 300 threads",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.Kdf.Threads = 300; h.Kdf.MemoryKib = 1 << 20 })
				return p
			},
			want: []error{ErrCorrupt, ErrKDFParams},
		},
		{
			name: "KDF salt too short",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.Kdf.Salt = h.Kdf.Salt[:8] })
				return p
			},
			want: []error{ErrCorrupt, ErrKDFParams},
		},
		{
			name: "KDF parameters changed within bounds",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.Kdf.Time = 2 })
				return p
			},
			// A different KDF output is indistinguishable from a wrong
			// passphrase; what matters is that nothing opens.
			want: []error{ErrWrongPassphrase},
		},
		{
			name: "newer format version",
			setup: func(t *testing.T) string {
				p, _ := createClosed(t, at)
				editHeader(t, p, func(h *flowfedv1.VaultHeader) { h.FormatVersion = 2 })
				return p
			},
			want: []error{ErrVersion},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t)
			var before [32]byte
			fi, statErr := os.Stat(path)
			if statErr == nil && fi.Mode().IsRegular() {
				before = fileHash(t, path)
			}
			pass := tc.pass
			if pass == nil {
				pass = testPass
			}
			v, err := Open(path, pass)
			if err == nil {
				v.Close()
			}
			wantErr(t, "Open", err, tc.want...)
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Open error %q lacks the path or %q", err, tc.wantMsg)
			}
			if statErr == nil && fi.Mode().IsRegular() && fileHash(t, path) != before {
				t.Error("failed Open changed the file")
			}
			if errors.Is(tc.want[0], fs.ErrNotExist) {
				if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
					t.Error("Open of a missing vault created a file")
				}
			}
		})
	}
}

// truncated creates a vault and cuts it to n bytes.
func truncated(t *testing.T, at time.Time, n int64) string {
	p, _ := createClosed(t, at)
	if err := os.Truncate(p, n); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOpenHugeKDFFailsFast checks that a vault declaring 1 TiB of Argon2
// memory is refused before any of it is allocated.
func TestOpenHugeKDFFailsFast(t *testing.T) {
	path, _ := createClosed(t, utc(t, "2024-05-17T12:00:00Z"))
	editHeader(t, path, func(h *flowfedv1.VaultHeader) { h.Kdf.MemoryKib = 1 << 30; h.Kdf.Time = 16 })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Open(path, testPass)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	wantErr(t, "Open", err, ErrKDFParams)
	// Open itself allocates a few hundred KiB (bbolt, protobuf); a KDF run
	// with the declared parameters would need 1 TiB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("failed Open allocated %d bytes", alloc)
	}
	t.Logf("refused in %v", elapsed)
}

func TestOpenLocked(t *testing.T) {
	v := newVault(t, PeriodDay)
	before := fileHash(t, v.Path())
	start := time.Now()
	_, err := Open(v.Path(), testPass)
	wantErr(t, "second Open", err, ErrLocked)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("second Open took %v, want about 1s", d)
	}
	if fileHash(t, v.Path()) != before {
		t.Error("failed Open changed the file")
	}
	// Once released, it opens.
	v.Close()
	v2, err := Open(v.Path(), testPass)
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	v2.Close()
}

func TestClosed(t *testing.T) {
	v := newVault(t, PeriodDay)
	k, err := v.EpochFor(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	for name, call := range map[string]func() error{
		"EpochFor":         func() error { _, err := v.EpochFor(time.Now()); return err },
		"Rotate":           func() error { _, err := v.Rotate(time.Now()); return err },
		"Key":              func() error { _, err := v.Key(k.ID()); return err },
		"List":             func() error { _, err := v.List(); return err },
		"Shred":            func() error { return v.Shred(k.ID()) },
		"Backup":           func() error { return v.Backup(filepath.Join(t.TempDir(), "b"), testPass) },
		"ChangePassphrase": func() error { return v.ChangePassphrase(testPass, otherPass) },
		"Identity":         func() error { _, err := v.Identity(); return err },
		"PeerID":           func() error { _, err := v.PeerID(); return err },
	} {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	// Keys handed out before Close keep working.
	if got := k.PseudoKey("mac", 32); len(got) != 32 {
		t.Errorf("PseudoKey after Close returned %d bytes", len(got))
	}
}

func TestChangePassphrase(t *testing.T) {
	v := newVault(t, PeriodDay)
	at := utc(t, "2024-05-17T12:00:00Z")
	k, err := v.EpochFor(at)
	if err != nil {
		t.Fatal(err)
	}
	path := v.Path()
	newPass := []byte("a much longer new passphrase")

	t.Run("wrong old passphrase", func(t *testing.T) {
		before := fileHash(t, path)
		err := v.ChangePassphrase(otherPass, newPass)
		wantErr(t, "ChangePassphrase", err, ErrWrongPassphrase)
		if fileHash(t, path) != before {
			t.Error("failed ChangePassphrase changed the file")
		}
	})
	t.Run("empty new passphrase", func(t *testing.T) {
		before := fileHash(t, path)
		wantErr(t, "ChangePassphrase", v.ChangePassphrase(testPass, nil), ErrInvalid)
		if fileHash(t, path) != before {
			t.Error("failed ChangePassphrase changed the file")
		}
	})

	oldSealed := headerOf(t, v).sealedMaster
	if err := v.ChangePassphrase(testPass, newPass); err != nil {
		t.Fatalf("ChangePassphrase = %v", err)
	}
	// The vault stays usable without reopening.
	if got, err := v.Key(k.ID()); err != nil || *got.k() != *k.k() {
		t.Errorf("Key after ChangePassphrase = %v, %v", got, err)
	}
	h := headerOf(t, v)
	if h.compactionPending {
		t.Error("compaction still pending after ChangePassphrase")
	}
	v.Close()
	if bytes.Contains(readFile(t, path), oldSealed) {
		t.Error("master key sealed under the old passphrase is still in the file")
	}

	_, err = Open(path, testPass)
	wantErr(t, "Open with old passphrase", err, ErrWrongPassphrase)
	v2, err := Open(path, newPass)
	if err != nil {
		t.Fatalf("Open with new passphrase = %v", err)
	}
	defer v2.Close()
	if got, err := v2.Key(k.ID()); err != nil || *got.k() != *k.k() {
		t.Errorf("Key after reopen = %v, %v; want the same key", got, err)
	}
}

func headerOf(t testing.TB, v *Vault) header {
	t.Helper()
	h, err := decodeHeader(rawHeader(t, v), defaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRecordTampering edits single records of a closed vault: each edit must
// make that key fail with ErrCorrupt, leave the other key readable, and never
// lock the operator out of the vault as a whole.
func TestRecordTampering(t *testing.T) {
	a := utc(t, "2024-05-17T12:00:00Z")
	b := a.AddDate(0, 0, 1)
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, path string, idA, idB KeyID, rk secret)
		// wantKeyB is what Key(B) must return.
		wantKeyB error
	}{
		{"record of A copied to B's slot", func(t *testing.T, path string, idA, idB KeyID, _ secret) {
			editBolt(t, path, func(tx *bolt.Tx) error {
				kb := tx.Bucket(bucketKeys)
				return kb.Put(idB.raw[:], bytes.Clone(kb.Get(idA.raw[:])))
			})
		}, ErrCorrupt},
		{"record of A relabelled as B", func(t *testing.T, path string, idA, idB KeyID, _ secret) {
			editBolt(t, path, func(tx *bolt.Tx) error {
				kb := tx.Bucket(bucketKeys)
				var r flowfedv1.VaultKeyRecord
				if err := proto.Unmarshal(kb.Get(idA.raw[:]), &r); err != nil {
					return err
				}
				r.KeyId = idB.raw[:]
				out, _ := proto.Marshal(&r)
				return kb.Put(idB.raw[:], out)
			})
		}, ErrCorrupt},
		{"interval of B widened", func(t *testing.T, path string, idA, idB KeyID, _ secret) {
			editRecord(t, path, idB, func(r *flowfedv1.VaultKeyRecord) { r.NotAfterUnix += 86400 })
		}, ErrCorrupt},
		{"ciphertext of B flipped", func(t *testing.T, path string, idA, idB KeyID, _ secret) {
			editRecord(t, path, idB, func(r *flowfedv1.VaultKeyRecord) { r.Ciphertext[0] ^= 1 })
		}, ErrCorrupt},
		{"B marked shredded without a valid tag", func(t *testing.T, path string, idA, idB KeyID, _ secret) {
			editRecord(t, path, idB, func(r *flowfedv1.VaultKeyRecord) {
				r.State = flowfedv1.VaultKeyState_VAULT_KEY_STATE_SHREDDED
				r.ShreddedUnix = 1
				r.Ciphertext = r.Ciphertext[:tagSize]
			})
		}, ErrCorrupt},
		{"B relabelled as the identity", func(t *testing.T, path string, idA, idB KeyID, _ secret) {
			editRecord(t, path, idB, func(r *flowfedv1.VaultKeyRecord) {
				r.Purpose = flowfedv1.VaultKeyPurpose_VAULT_KEY_PURPOSE_IDENTITY
				r.NotAfterUnix = 0
			})
		}, ErrUnknownKey},
		{"B sealed for another vault", func(t *testing.T, path string, idA, idB KeyID, rk secret) {
			// Same record key and metadata, another vault ID in the
			// associated data: a record moved between vaults.
			editRecord(t, path, idB, func(m *flowfedv1.VaultKeyRecord) {
				r, err := decodeRecord(nil, mustMarshal(m))
				if err != nil {
					t.Fatal(err)
				}
				m.Nonce, m.Ciphertext, _ = seal(rk, make([]byte, 32), r.ad([vaultIDSize]byte{1}))
			})
		}, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vault.db")
			v, err := Create(path, testPass, Options{KDF: fastKDF, Period: PeriodDay})
			if err != nil {
				t.Fatal(err)
			}
			ka, _ := v.EpochFor(a)
			kb, _ := v.EpochFor(b)
			rk, _ := secretFrom(v.recordKey.bytes())
			v.Close()
			tc.edit(t, path, ka.ID(), kb.ID(), rk)

			v, err = Open(path, testPass)
			if err != nil {
				t.Fatalf("Open = %v (record damage must not lock the operator out)", err)
			}
			defer v.Close()
			_, err = v.Key(kb.ID())
			wantErr(t, "Key(B)", err, tc.wantKeyB)
			if got, err := v.Key(ka.ID()); err != nil || *got.k() != *ka.k() {
				t.Errorf("Key(A) = %v, %v; want A unharmed", got, err)
			}
			_, err = v.List()
			wantErr(t, "List", err, ErrCorrupt)
			err = v.Backup(filepath.Join(t.TempDir(), "b"), testPass)
			wantErr(t, "Backup (must not copy damage silently)", err, ErrCorrupt)
		})
	}
}

func TestEpochForDamagedRecord(t *testing.T) {
	at := utc(t, "2024-05-17T12:00:00Z")
	path, id := createClosed(t, at)
	editRecord(t, path, id, func(r *flowfedv1.VaultKeyRecord) { r.NotBeforeUnix -= 3600 })
	v, err := Open(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.EpochFor(at)
	wantErr(t, "EpochFor over an edited record", err, ErrCorrupt)
	if !strings.Contains(err.Error(), id.String()) {
		t.Errorf("error %q does not name the key", err)
	}
}

// TestNoGoroutineLeak runs a vault through its life cycle, including a
// refused second Open, and checks that nothing keeps running after Close.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	v := newVault(t, PeriodDay)
	k, _ := v.EpochFor(time.Now())
	if _, err := Open(v.Path(), testPass); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v", err)
	}
	v.Shred(k.ID())
	v.Backup(filepath.Join(t.TempDir(), "b"), testPass)
	path := v.Path()
	v.Close()
	v, err := Open(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}
