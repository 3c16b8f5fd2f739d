package keyvault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestPeriodBounds(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		period      Period
		at          time.Time
		start, end  string
		description string
	}{
		{PeriodDay, utc(t, "2024-03-10T23:59:59Z"), "2024-03-10T00:00:00Z", "2024-03-11T00:00:00Z", "last second of a day"},
		{PeriodDay, utc(t, "2024-03-11T00:00:00Z"), "2024-03-11T00:00:00Z", "2024-03-12T00:00:00Z", "first second of a day"},
		{PeriodDay, time.Date(2024, 3, 11, 0, 30, 0, 0, cet), "2024-03-10T00:00:00Z", "2024-03-11T00:00:00Z", "local midnight is not UTC midnight"},
		{PeriodDay, utc(t, "2024-02-29T12:00:00Z"), "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z", "leap day"},
		{PeriodWeek, utc(t, "2024-03-10T23:59:59Z"), "2024-03-04T00:00:00Z", "2024-03-11T00:00:00Z", "Sunday belongs to the week before"},
		{PeriodWeek, utc(t, "2024-03-11T00:00:00Z"), "2024-03-11T00:00:00Z", "2024-03-18T00:00:00Z", "Monday 00:00 starts a week"},
		{PeriodWeek, utc(t, "2024-03-13T15:04:05Z"), "2024-03-11T00:00:00Z", "2024-03-18T00:00:00Z", "midweek"},
		{PeriodWeek, utc(t, "2025-01-01T00:00:00Z"), "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z", "ISO week 1 of 2025 starts in 2024"},
		{PeriodWeek, time.Date(2024, 3, 11, 0, 30, 0, 0, cet), "2024-03-04T00:00:00Z", "2024-03-11T00:00:00Z", "Monday 00:30 CET is still Sunday UTC"},
		{PeriodMonth, utc(t, "2024-02-29T23:59:59Z"), "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", "end of a leap February"},
		{PeriodMonth, utc(t, "2024-03-01T00:00:00Z"), "2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z", "first second of a month"},
		{PeriodMonth, utc(t, "2024-12-31T23:59:59Z"), "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z", "year end"},
	} {
		start, end := tc.period.Bounds(tc.at)
		if !start.Equal(utc(t, tc.start)) || !end.Equal(utc(t, tc.end)) || start.Location() != time.UTC {
			t.Errorf("%v.Bounds(%v) = [%v, %v), want [%s, %s) (%s)", tc.period, tc.at, start, end, tc.start, tc.end, tc.description)
		}
	}
}

func TestPeriodText(t *testing.T) {
	for _, p := range []Period{PeriodDay, PeriodWeek, PeriodMonth} {
		text, err := p.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText() = %v", p, err)
		}
		var got Period
		if err := got.UnmarshalText(text); err != nil || got != p {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, got, err, p)
		}
	}
	for _, s := range []string{"", "Day", "year", "weekly"} {
		if _, err := ParsePeriod(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePeriod(%q) = %v, want ErrInvalid", s, err)
		}
	}
	if _, err := Period(7).MarshalText(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Period(7).MarshalText() = %v, want ErrInvalid", err)
	}
}

// TestEpochForBoundaries checks that EpochFor hands out one key per epoch
// with the epoch's exact bounds, for every period.
func TestEpochForBoundaries(t *testing.T) {
	for _, tc := range []struct {
		period Period
		at     string
	}{
		{PeriodDay, "2024-03-10T13:00:00Z"},
		{PeriodWeek, "2024-03-13T13:00:00Z"},
		{PeriodMonth, "2024-02-15T13:00:00Z"},
	} {
		t.Run(tc.period.String(), func(t *testing.T) {
			v := newVault(t, tc.period)
			at := utc(t, tc.at)
			k, err := v.EpochFor(at)
			if err != nil {
				t.Fatalf("EpochFor = %v", err)
			}
			start, end := tc.period.Bounds(at)
			if !k.Start().Equal(start) || !k.End().Equal(end) {
				t.Errorf("key covers [%v, %v), want [%v, %v)", k.Start(), k.End(), start, end)
			}
			for _, same := range []time.Time{start, end.Add(-time.Second), at.In(time.FixedZone("X", -7*3600))} {
				got, err := v.EpochFor(same)
				if err != nil || got.ID() != k.ID() {
					t.Errorf("EpochFor(%v) = %v, %v; want %v", same, got, err, k)
				}
			}
			for _, other := range []time.Time{start.Add(-time.Second), end} {
				got, err := v.EpochFor(other)
				if err != nil || got.ID() == k.ID() {
					t.Errorf("EpochFor(%v) = %v, %v; want a key other than %v", other, got, err, k)
				}
			}
			infos, err := v.List()
			if err != nil || len(infos) != 4 { // identity + three epochs
				t.Fatalf("List = %d infos, %v; want 4", len(infos), err)
			}
		})
	}
}

func TestEpochForInvalidTime(t *testing.T) {
	v := newVault(t, PeriodDay)
	for _, at := range []time.Time{{}, time.Unix(-1, 0), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := v.EpochFor(at); !errors.Is(err, ErrInvalid) {
			t.Errorf("EpochFor(%v) = %v, want ErrInvalid", at, err)
		}
		if _, err := v.Rotate(at); !errors.Is(err, ErrInvalid) {
			t.Errorf("Rotate(%v) = %v, want ErrInvalid", at, err)
		}
	}
}

func TestEpochForConcurrent(t *testing.T) {
	v := newVault(t, PeriodWeek)
	at := utc(t, "2024-03-13T13:00:00Z")
	const n = 8
	ids := make([]KeyID, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := v.EpochFor(at.Add(time.Duration(i) * time.Hour))
			if err != nil {
				t.Errorf("EpochFor = %v", err)
			}
			ids[i] = k.ID()
		}()
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("concurrent EpochFor returned %v and %v for one epoch", ids[0], ids[i])
		}
	}
	infos, _ := v.List()
	if len(infos) != 2 {
		t.Errorf("List = %d keys after concurrent EpochFor, want identity + 1", len(infos))
	}
}

func TestRotateThenEpochFor(t *testing.T) {
	v := newVault(t, PeriodWeek)
	// Use the wall clock so that List's active/retired reflects now.
	now := time.Now().UTC().Truncate(time.Second)
	k1, err := v.EpochFor(now)
	if err != nil {
		t.Fatal(err)
	}
	rot := now.Add(time.Second)
	k2, err := v.Rotate(rot)
	if err != nil {
		t.Fatalf("Rotate = %v", err)
	}
	if k2.ID() == k1.ID() || *k2.k() == *k1.k() {
		t.Fatal("Rotate returned the old key")
	}
	if !k2.Start().Equal(rot) || !k2.End().Equal(k1.End()) {
		t.Errorf("rotated key covers [%v, %v), want [%v, %v)", k2.Start(), k2.End(), rot, k1.End())
	}
	// New data after the rotation gets the new key; data from before it
	// (for example a late capture) still maps to the old one.
	if got, _ := v.EpochFor(rot); got.ID() != k2.ID() {
		t.Errorf("EpochFor(rotation time) = %v, want %v", got, k2)
	}
	if got, _ := v.EpochFor(k2.End().Add(-time.Second)); got.ID() != k2.ID() {
		t.Errorf("EpochFor(end of epoch) = %v, want %v", got, k2)
	}
	if got, _ := v.EpochFor(now); got.ID() != k1.ID() {
		t.Errorf("EpochFor(before rotation) = %v, want %v", got, k1)
	}
	old, err := v.Key(k1.ID())
	if err != nil || *old.k() != *k1.k() || !old.End().Equal(rot) {
		t.Errorf("Key(old) = %v (end %v), %v; want old key ending at %v", old, old.End(), err, rot)
	}
	infos, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	states := map[KeyID]KeyState{}
	for _, ki := range infos {
		states[ki.ID] = ki.State
	}
	if states[k1.ID()] != StateRetired || states[k2.ID()] != StateActive {
		t.Errorf("states after Rotate: old %v, new %v; want retired, active", states[k1.ID()], states[k2.ID()])
	}
	// A cached lookup must not hand out the superseded key.
	k3, err := v.Rotate(rot.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.EpochFor(rot.Add(2 * time.Second)); got.ID() != k3.ID() {
		t.Errorf("EpochFor after second Rotate = %v, want %v", got, k3)
	}
}

func TestRotateWithoutCurrentKey(t *testing.T) {
	v := newVault(t, PeriodDay)
	at := utc(t, "2024-03-10T13:00:00Z")
	k, err := v.Rotate(at)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Start().Equal(at) || !k.End().Equal(utc(t, "2024-03-11T00:00:00Z")) {
		t.Errorf("Rotate in an empty epoch covers [%v, %v)", k.Start(), k.End())
	}
	// The morning before the rotation gets its own key, which stops where
	// the rotated one starts.
	early, err := v.EpochFor(utc(t, "2024-03-10T01:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if early.ID() == k.ID() || !early.Start().Equal(utc(t, "2024-03-10T00:00:00Z")) || !early.End().Equal(at) {
		t.Errorf("EpochFor(morning) = %v covering [%v, %v), want a new key for [00:00, 13:00)", early, early.Start(), early.End())
	}
}

func TestShredThenLookup(t *testing.T) {
	v := newVault(t, PeriodDay)
	at := utc(t, "2024-03-10T13:00:00Z")
	k, err := v.EpochFor(at)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := v.EpochFor(at.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeRecord(nil, rawRecord(t, v, k.ID()))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Shred(k.ID()); err != nil {
		t.Fatalf("Shred = %v", err)
	}

	_, err = v.Key(k.ID())
	wantErr(t, "Key(shredded)", err, ErrShredded)
	if errors.Is(err, ErrUnknownKey) {
		t.Error("a shredded key must not look unknown")
	}
	if got, err := v.Key(keep.ID()); err != nil || *got.k() != *keep.k() {
		t.Errorf("Key(other) = %v, %v after Shred", got, err)
	}
	infos, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ki := range infos {
		if ki.ID == k.ID() {
			found = true
			if ki.State != StateShredded || ki.Shredded.IsZero() || !ki.Start.Equal(k.Start()) {
				t.Errorf("List entry of shredded key = %+v", ki)
			}
		}
	}
	if !found {
		t.Error("List lost the shredded key's metadata")
	}

	// Not even the sealed bytes may remain in the file.
	file := readFile(t, v.Path())
	for name, b := range map[string][]byte{"ciphertext": rec.ct, "nonce": rec.nonce, "key": k.k.bytes()} {
		if bytes.Contains(file, b) {
			t.Errorf("vault file still contains the shredded key's %s", name)
		}
	}
	if headerOf(t, v).compactionPending {
		t.Error("compaction still pending after Shred")
	}

	// The epoch gets a fresh key; the shredded one is never handed out again.
	fresh, err := v.EpochFor(at)
	if err != nil || fresh.ID() == k.ID() || *fresh.k() == *k.k() {
		t.Errorf("EpochFor(shredded epoch) = %v, %v; want a new key", fresh, err)
	}
	if err := v.Shred(k.ID()); err != nil {
		t.Errorf("second Shred = %v, want nil", err)
	}

	// It stays shredded across a reopen.
	path := v.Path()
	v.Close()
	v2, err := Open(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	_, err = v2.Key(k.ID())
	wantErr(t, "Key(shredded) after reopen", err, ErrShredded)
}

func TestShredAndKeyErrors(t *testing.T) {
	v := newVault(t, PeriodDay)
	ik, err := v.IdentityKey()
	if err != nil {
		t.Fatal(err)
	}
	unknown := newKeyID(PurposeEpoch)
	for name, id := range map[string]KeyID{
		"unknown":                       unknown,
		"identity":                      ik.ID(),
		"zero":                          {},
		"identity ID with epoch prefix": {purpose: PurposeEpoch, raw: ik.ID().raw},
	} {
		_, err := v.Key(id)
		wantErr(t, "Key("+name+")", err, ErrUnknownKey)
		wantErr(t, "Shred("+name+")", v.Shred(id), ErrUnknownKey)
	}
	if _, err := v.PeerID(); err != nil {
		t.Errorf("identity damaged by Shred attempts: %v", err)
	}
}

// TestShredInterrupted simulates a crash after the shred transaction and
// before the rewrite: the freed page still holds the sealed key, and the next
// Open must finish the job.
func TestShredInterrupted(t *testing.T) {
	v := newVault(t, PeriodDay)
	k, err := v.EpochFor(utc(t, "2024-03-10T13:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := decodeRecord(nil, rawRecord(t, v, k.ID()))
	v.mu.Lock()
	pending, err := v.markShreddedLocked(k.ID(), time.Now())
	v.mu.Unlock()
	if err != nil || !pending {
		t.Fatalf("markShreddedLocked = %v, %v", pending, err)
	}
	path := v.Path()
	v.Close()
	if !bytes.Contains(readFile(t, path), rec.ct) {
		t.Fatal("test premise: bbolt should leave the freed record in the file")
	}
	v2, err := Open(path, testPass)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer v2.Close()
	if bytes.Contains(readFile(t, path), rec.ct) {
		t.Error("Open did not finish the interrupted shred")
	}
	if headerOf(t, v2).compactionPending {
		t.Error("compaction still pending after Open")
	}
	_, err = v2.Key(k.ID())
	wantErr(t, "Key", err, ErrShredded)
}

func TestListRetiredByTime(t *testing.T) {
	v := newVault(t, PeriodDay)
	past, err := v.EpochFor(utc(t, "2020-01-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := v.EpochFor(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	infos, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 || infos[0].Purpose != PurposeIdentity || infos[1].ID != past.ID() || infos[2].ID != cur.ID() {
		t.Fatalf("List order = %+v; want identity, past, current", infos)
	}
	if infos[0].State != StateActive || infos[1].State != StateRetired || infos[2].State != StateActive {
		t.Errorf("states = %v %v %v; want active retired active", infos[0].State, infos[1].State, infos[2].State)
	}
	if !infos[0].End.IsZero() || !infos[1].End.Equal(past.End()) {
		t.Errorf("ends = %v, %v", infos[0].End, infos[1].End)
	}
}

// TestOpenAfterSlackTruncated makes sure the pre-open check does not mistake
// bbolt's unused preallocated tail for damage.
func TestOpenAfterSlackTruncated(t *testing.T) {
	path, id := createClosed(t, utc(t, "2024-03-10T13:00:00Z"))
	m := parseBoltMeta(readFile(t, path)[:80])
	if err := os.Truncate(path, int64(m.pgid)*int64(m.pageSize)); err != nil {
		t.Fatal(err)
	}
	v, err := Open(path, testPass)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer v.Close()
	if _, err := v.Key(id); err != nil {
		t.Errorf("Key = %v", err)
	}
}

func TestKeyIDText(t *testing.T) {
	v := newVault(t, PeriodDay)
	k, _ := v.EpochFor(time.Now())
	ik, _ := v.IdentityKey()
	for _, id := range []KeyID{k.ID(), ik.ID()} {
		text, err := id.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if len(text) != 29 || string(text[:3]) != id.Purpose().idPrefix() {
			t.Errorf("MarshalText = %q, want prefix %q and 29 characters", text, id.Purpose().idPrefix())
		}
		var got KeyID
		if err := got.UnmarshalText(text); err != nil || got != id {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, got, err, id)
		}
	}
	if _, err := (KeyID{}).MarshalText(); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero MarshalText = %v, want ErrInvalid", err)
	}
	if (KeyID{}).String() != "none" {
		t.Errorf("zero String = %q", KeyID{}.String())
	}
	good := k.ID().String()
	for _, s := range []string{
		"",
		"ek_",
		"xk_" + good[3:],
		"EK_" + good[3:],
		"ek_" + good[3:28],
		good + "a",
		"ek_" + string(bytes.ToUpper([]byte(good[3:]))),
		"ek_" + good[3:28] + "1",        // '1' is not in the alphabet
		"ek_aaaaaaaaaaaaaaaaaaaaaaaaab", // spare bits set: non-canonical
	} {
		if _, err := ParseKeyID(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseKeyID(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestRestoreKeepsEpochsWorking(t *testing.T) {
	// EpochFor on a restored vault continues the same epochs.
	v := newVault(t, PeriodWeek)
	at := utc(t, "2024-03-13T13:00:00Z")
	k, _ := v.EpochFor(at)
	bpath := filepath.Join(t.TempDir(), "vault.backup")
	if err := v.Backup(bpath, otherPass); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(bpath, otherPass, filepath.Join(t.TempDir(), "vault.db"), testPass, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.EpochFor(at.Add(24 * time.Hour))
	if err != nil || got.ID() != k.ID() {
		t.Errorf("EpochFor on restored vault = %v, %v; want %v", got, err, k)
	}
}

// TestShredThroughSymlink: when the vault path is a symlink, the rewrite
// after a shred must replace the real file and keep the link.
func TestShredThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	realPath := filepath.Join(dir, "real.db")
	path, _ := createClosed(t, utc(t, "2024-03-10T13:00:00Z"))
	if err := os.Rename(path, realPath); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "vault.db")
	if err := os.Symlink(realPath, link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	v, err := Open(link, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	k, err := v.EpochFor(utc(t, "2024-03-10T13:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := decodeRecord(nil, rawRecord(t, v, k.ID()))
	if err := v.Shred(k.ID()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("vault path is no longer a symlink: %v, %v", fi.Mode(), err)
	}
	if bytes.Contains(readFile(t, realPath), rec.ct) {
		t.Error("the realPath vault file still holds the shredded key")
	}
	if v.Path() != link {
		t.Errorf("Path() = %q, want the path given to Open", v.Path())
	}
}
