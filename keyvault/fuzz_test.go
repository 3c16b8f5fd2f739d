package keyvault

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	flowfedv1 "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// fuzzLimits keep a fuzzed file's in-bounds KDF parameters cheap: the fuzzer
// should explore the decoder, not spend its time in Argon2. The production
// bounds are tested separately (TestOpenFailures).
var fuzzLimits = kdfLimits{maxMemoryKiB: 256, maxTime: 2}

const fuzzPass = "fuzz passphrase"

// seedVault builds a vault with a live, a rotated and a shredded epoch key and
// returns its header bytes and record bytes, keyed by ID, plus a backup.
func seedVault(f *testing.F) (hdr []byte, recs map[KeyID][]byte, backup []byte) {
	path := filepath.Join(f.TempDir(), "vault.db")
	v, err := Create(path, []byte(fuzzPass), Options{KDF: fastKDF, Period: PeriodWeek})
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()
	at := time.Date(2024, 3, 13, 12, 0, 0, 0, time.UTC)
	a, _ := v.EpochFor(at)
	if _, err := v.Rotate(at.Add(time.Hour)); err != nil {
		f.Fatal(err)
	}
	b, _ := v.EpochFor(at.AddDate(0, 0, 7))
	if err := v.Shred(b.ID()); err != nil {
		f.Fatal(err)
	}
	recs = map[KeyID][]byte{}
	err = v.view(func(tx *bolt.Tx) error {
		hdr = bytes.Clone(tx.Bucket(bucketVault).Get(keyHeader))
		return forEachRecord(tx, func(r *record) error {
			recs[r.id] = bytes.Clone(tx.Bucket(bucketKeys).Get(r.id.raw[:]))
			return nil
		})
	})
	if err != nil || recs[a.ID()] == nil {
		f.Fatalf("reading seeds: %v", err)
	}
	bpath := filepath.Join(f.TempDir(), "vault.backup")
	if err := v.Backup(bpath, []byte(fuzzPass)); err != nil {
		f.Fatal(err)
	}
	backup, err = readBackupFile(bpath)
	if err != nil {
		f.Fatal(err)
	}
	return hdr, recs, backup
}

func FuzzDecodeHeader(f *testing.F) {
	hdr, _, _ := seedVault(f)
	f.Add(hdr)
	f.Add(hdr[:len(hdr)/2])
	f.Add([]byte{})
	var m flowfedv1.VaultHeader
	if err := proto.Unmarshal(hdr, &m); err != nil {
		f.Fatal(err)
	}
	for _, edit := range []func(m *flowfedv1.VaultHeader){
		func(m *flowfedv1.VaultHeader) { m.Kdf.MemoryKib = 1 << 40 },
		func(m *flowfedv1.VaultHeader) { m.Kdf.Threads = 0 },
		func(m *flowfedv1.VaultHeader) { m.FormatVersion = 2 },
		func(m *flowfedv1.VaultHeader) { m.EpochPeriod = -1 },
	} {
		c := proto.Clone(&m).(*flowfedv1.VaultHeader)
		edit(c)
		b, _ := proto.Marshal(c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := decodeHeader(data, defaultLimits)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("decodeHeader error %v wraps neither ErrCorrupt nor ErrVersion", err)
			}
			if !reflect.DeepEqual(h, header{}) {
				t.Fatal("decodeHeader returned a value with its error")
			}
			return
		}
		// Whatever decodes must be within bounds and survive a round trip.
		if h.kdf.Validate() != nil || !h.period.valid() {
			t.Fatalf("decodeHeader accepted %+v", h)
		}
		h2, err := decodeHeader(h.encode(), defaultLimits)
		if err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("round trip: %+v, %v; want %+v", h2, err, h)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	_, recs, _ := seedVault(f)
	for id, b := range recs {
		f.Add(id.raw[:], b)
		f.Add([]byte(nil), b)
		f.Add(id.raw[:], b[:len(b)-1])
	}
	f.Add([]byte("k"), []byte{})
	f.Fuzz(func(t *testing.T, key, data []byte) {
		if len(key) == 0 {
			key = nil // bbolt keys are never empty; nil skips the slot check
		}
		r, err := decodeRecord(key, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeRecord error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if r.validateMeta() != nil || len(r.nonce) != nonceSize || len(r.ct) < tagSize || len(r.ct) > maxIdentityKey+tagSize {
			t.Fatalf("decodeRecord accepted %+v", r)
		}
		if key != nil && !bytes.Equal(key, r.id.raw[:]) {
			t.Fatal("decodeRecord accepted a record under another key ID")
		}
		r2, err := decodeRecord(key, r.encode())
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v, %v; want %+v", r2, err, r)
		}
	})
}

func FuzzOpenBackup(f *testing.F) {
	_, _, backup := seedVault(f)
	f.Add(backup)
	f.Add(backup[:len(backupMagic)])
	f.Add(backup[:len(backup)-1])
	f.Add([]byte("flowfed-vault-backup\n\x08\x01"))
	f.Add([]byte{})
	// The seed must really open, or the fuzzer never reaches the payload.
	if _, err := openBackup(backup, []byte(fuzzPass), fuzzLimits); err != nil {
		f.Fatalf("seed backup does not open: %v", err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := openBackup(data, []byte(fuzzPass), fuzzLimits)
		if err != nil {
			for _, target := range []error{ErrNotBackup, ErrCorrupt, ErrVersion, ErrWrongPassphrase} {
				if errors.Is(err, target) {
					return
				}
			}
			t.Fatalf("openBackup error %v wraps no sentinel", err)
		}
		// An accepted backup must restore into a valid vault shape.
		if len(c.keys) == 0 || !c.period.valid() {
			t.Fatalf("openBackup accepted %+v", c)
		}
		for _, k := range c.keys {
			if err := k.rec.validateMeta(); err != nil {
				t.Fatalf("openBackup accepted an invalid record: %v", err)
			}
		}
	})
}

func FuzzParseKeyID(f *testing.F) {
	f.Add("ek_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("ik_77777777777777777777777777")
	f.Add("ek_")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseKeyID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseKeyID error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// Exactly one text per ID.
		if id.String() != s {
			t.Fatalf("ParseKeyID(%q).String() = %q", s, id.String())
		}
	})
}
