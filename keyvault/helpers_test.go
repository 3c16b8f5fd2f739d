package keyvault

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	flowfedv1 "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// fastKDF keeps tests quick: Argon2id at its minimum cost.
var fastKDF = KDFParams{MemoryKiB: 64, Time: 1, Threads: 1}

var (
	testPass  = []byte("correct horse battery staple")
	otherPass = []byte("Tr0ub4dor&3")
)

// newVault creates a vault with fast KDF parameters in a temp dir and closes
// it at cleanup.
func newVault(t testing.TB, period Period) *Vault {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vault.db")
	v, err := Create(path, testPass, Options{KDF: fastKDF, Period: period})
	if err != nil {
		t.Fatalf("Create(%s) = %v", path, err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// createClosed creates a vault, adds an epoch key for at, closes it and
// returns its path and the key's ID.
func createClosed(t testing.TB, at time.Time) (string, KeyID) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vault.db")
	v, err := Create(path, testPass, Options{KDF: fastKDF, Period: PeriodDay})
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	k, err := v.EpochFor(at)
	if err != nil {
		t.Fatalf("EpochFor = %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	return path, k.ID()
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return sha256.Sum256(b)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return b
}

// editBolt changes a closed vault file directly through bbolt, the way an
// attacker or a disk fault could.
func editBolt(t testing.TB, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("bolt.Open(%s) = %v", path, err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatalf("editing %s: %v", path, err)
	}
}

// editHeader rewrites the header protobuf of a closed vault.
func editHeader(t testing.TB, path string, fn func(h *flowfedv1.VaultHeader)) {
	t.Helper()
	editBolt(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVault)
		var h flowfedv1.VaultHeader
		if err := proto.Unmarshal(b.Get(keyHeader), &h); err != nil {
			return err
		}
		fn(&h)
		out, err := proto.Marshal(&h)
		if err != nil {
			return err
		}
		return b.Put(keyHeader, out)
	})
}

// editRecord rewrites one key record protobuf of a closed vault.
func editRecord(t testing.TB, path string, id KeyID, fn func(r *flowfedv1.VaultKeyRecord)) {
	t.Helper()
	editBolt(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		var r flowfedv1.VaultKeyRecord
		if err := proto.Unmarshal(b.Get(id.raw[:]), &r); err != nil {
			return err
		}
		fn(&r)
		out, err := proto.Marshal(&r)
		if err != nil {
			return err
		}
		return b.Put(id.raw[:], out)
	})
}

// rawRecord returns a copy of the stored bytes of a record of an open vault.
func rawRecord(t testing.TB, v *Vault, id KeyID) []byte {
	t.Helper()
	var b []byte
	err := v.view(func(tx *bolt.Tx) error {
		b = bytes.Clone(tx.Bucket(bucketKeys).Get(id.raw[:]))
		return nil
	})
	if err != nil || b == nil {
		t.Fatalf("reading record %s: %v", id, err)
	}
	return b
}

func rawHeader(t testing.TB, v *Vault) []byte {
	t.Helper()
	var b []byte
	err := v.view(func(tx *bolt.Tx) error {
		b = bytes.Clone(tx.Bucket(bucketVault).Get(keyHeader))
		return nil
	})
	if err != nil {
		t.Fatalf("reading header: %v", err)
	}
	return b
}

// secretForms are the ways key bytes could show up in text output.
func secretForms(raw []byte) []string {
	return []string{
		hex.EncodeToString(raw),
		strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		string(raw),
		fmt.Sprint(raw), // [12 34 …] as fmt prints byte slices and arrays
		strings.Trim(fmt.Sprint(raw), "[]"),
	}
}

// assertNoSecret fails if any form of any secret appears in out.
func assertNoSecret(t testing.TB, what, out string, secrets ...[]byte) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range secretForms(s) {
			if strings.Contains(out, form) {
				t.Errorf("%s = %q contains key bytes", what, out)
				return
			}
		}
	}
}

func wantErr(t testing.TB, what string, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error, want %v", what, targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s = %v, want errors.Is(%v)", what, err, target)
		}
	}
}

// utc parses an RFC 3339 time for table tests.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return tm
}
