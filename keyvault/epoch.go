package keyvault

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// epochCache remembers the last epoch key EpochFor returned, so that the hot
// path (one lookup per record batch at the current time) needs no
// transaction. gen counts changes that can supersede a key (Rotate, Shred,
// Close): a lookup that started before such a change does not fill the cache.
type epochCache struct {
	mu         sync.Mutex
	gen        uint64
	key        EpochKey
	start, end int64
}

func (c *epochCache) get(ts int64) (EpochKey, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.key.IsZero() && c.start <= ts && ts < c.end {
		return c.key, c.gen, true
	}
	return EpochKey{}, c.gen, false
}

func (c *epochCache) put(k EpochKey, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.key, c.start, c.end = k, k.start.Unix(), k.end.Unix()
	}
}

func (c *epochCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.key = EpochKey{}
}

// EpochFor returns the epoch key covering now: the live (not shredded) key
// whose interval contains it. If there is none, it creates one in the same
// transaction, persisted before it is returned, covering now's epoch (see
// [Period.Bounds]) minus any part already covered by other live keys. Calls
// for the same epoch, concurrent or not, return the same key. now may lie in
// the past, for data captured earlier; the zero time is refused (ErrInvalid).
func (v *Vault) EpochFor(now time.Time) (EpochKey, error) {
	k, err := v.epochFor(now)
	if err != nil {
		return EpochKey{}, fmt.Errorf("getting epoch key for %s: %w", now.UTC().Format(time.RFC3339), err)
	}
	return k, nil
}

func (v *Vault) epochFor(now time.Time) (EpochKey, error) {
	ts, err := unixSeconds(now)
	if err != nil {
		return EpochKey{}, err
	}
	k, gen, ok := v.cache.get(ts)
	if ok {
		return k, nil
	}
	// A read transaction first: creating a key is rare, and a write
	// transaction would serialise every lookup.
	found := false
	err = v.view(func(tx *bolt.Tx) error {
		r, ok, err := findCovering(tx, ts)
		if err != nil || !ok {
			return err
		}
		found = true
		k, err = v.epochKeyFrom(&r)
		return err
	})
	if err == nil && !found {
		err = v.update(func(tx *bolt.Tx) error {
			// Another caller may have created it in between.
			r, ok, err := findCovering(tx, ts)
			if err != nil {
				return err
			}
			if ok {
				k, err = v.epochKeyFrom(&r)
				return err
			}
			start, end := v.period.Bounds(now)
			lo, hi, err := liveGap(tx, ts, start.Unix(), end.Unix())
			if err != nil {
				return err
			}
			k, err = v.newEpochKey(tx, lo, hi)
			return err
		})
	}
	if err != nil {
		return EpochKey{}, err
	}
	v.cache.put(k, gen)
	return k, nil
}

// Rotate creates a new epoch key starting at now that supersedes the key
// covering now for all new data: the old key's interval is cut to end at now
// and it is marked retired, and the new key covers the rest of its interval
// (or, when no key covered now, the rest of now's epoch). The old key stays
// available through [Vault.Key] for reversing pseudonyms until it is shredded.
// Times are kept in whole seconds.
func (v *Vault) Rotate(now time.Time) (EpochKey, error) {
	k, err := v.rotate(now)
	if err != nil {
		return EpochKey{}, fmt.Errorf("rotating epoch key at %s: %w", now.UTC().Format(time.RFC3339), err)
	}
	return k, nil
}

func (v *Vault) rotate(now time.Time) (EpochKey, error) {
	ts, err := unixSeconds(now)
	if err != nil {
		return EpochKey{}, err
	}
	var k EpochKey
	err = v.update(func(tx *bolt.Tx) error {
		cur, ok, err := findCovering(tx, ts)
		if err != nil {
			return err
		}
		var end int64
		if ok {
			pt, err := v.openRecord(&cur)
			if err != nil {
				return err
			}
			defer clear(pt)
			end = cur.notAfter
			cur.notAfter, cur.state = ts, StateRetired
			if err := v.sealRecord(&cur, pt); err != nil {
				return err
			}
			if err := putRecord(tx, &cur); err != nil {
				return err
			}
		} else {
			_, pe := v.period.Bounds(now)
			if _, end, err = liveGap(tx, ts, ts, pe.Unix()); err != nil {
				return err
			}
		}
		k, err = v.newEpochKey(tx, ts, end)
		return err
	})
	// Invalidate even on failure: a partly run transaction is rolled back,
	// but the cache must never outlive a possible change.
	v.cache.invalidate()
	if err != nil {
		return EpochKey{}, err
	}
	return k, nil
}

// findCovering returns the live epoch record whose interval contains ts. Live
// intervals never overlap (creation fills gaps only, rotation cuts the old
// interval), so there is at most one; the latest start wins regardless, to
// stay deterministic on a vault edited by hand.
func findCovering(tx *bolt.Tx, ts int64) (record, bool, error) {
	var (
		best  record
		found bool
	)
	err := forEachRecord(tx, func(r *record) error {
		if r.id.purpose != PurposeEpoch || r.state == StateShredded || !r.covers(ts) {
			return nil
		}
		if !found || r.notBefore > best.notBefore || (r.notBefore == best.notBefore && r.created > best.created) {
			best, found = *r, true
		}
		return nil
	})
	return best, found, err
}

// liveGap narrows [lo, hi) around ts so that it overlaps no live epoch key.
// ts itself must not be covered by one.
func liveGap(tx *bolt.Tx, ts, lo, hi int64) (int64, int64, error) {
	err := forEachRecord(tx, func(r *record) error {
		if r.id.purpose != PurposeEpoch || r.state == StateShredded {
			return nil
		}
		if r.notAfter <= ts && r.notAfter > lo {
			lo = r.notAfter
		}
		if r.notBefore > ts && r.notBefore < hi {
			hi = r.notBefore
		}
		return nil
	})
	return lo, hi, err
}

// forEachRecord decodes every record; a damaged one stops the walk with
// ErrCorrupt, since skipping it could hand out a second key for its epoch.
func forEachRecord(tx *bolt.Tx, fn func(r *record) error) error {
	kb := tx.Bucket(bucketKeys)
	if kb == nil {
		return fmt.Errorf("%w: keys bucket missing", ErrCorrupt)
	}
	return kb.ForEach(func(k, b []byte) error {
		r, err := decodeRecord(k, b)
		if err != nil {
			return err
		}
		return fn(&r)
	})
}

// newEpochKey generates and stores a key for [start, end).
func (v *Vault) newEpochKey(tx *bolt.Tx, start, end int64) (EpochKey, error) {
	kb := tx.Bucket(bucketKeys)
	if kb == nil {
		return EpochKey{}, fmt.Errorf("%w: keys bucket missing", ErrCorrupt)
	}
	id := newKeyID(PurposeEpoch)
	if kb.Get(id.raw[:]) != nil {
		// 128 random bits do not collide; a repeat means the random source
		// is broken, and storing anything would be wrong.
		return EpochKey{}, fmt.Errorf("generating key ID: random source returned a used ID")
	}
	r := record{id: id, notBefore: start, notAfter: end, created: time.Now().Unix(), state: StateActive}
	s := newSecret()
	if err := v.sealRecord(&r, s.bytes()); err != nil {
		return EpochKey{}, err
	}
	if err := putRecord(tx, &r); err != nil {
		return EpochKey{}, err
	}
	return epochKeyOf(&r, s), nil
}

func (v *Vault) epochKeyFrom(r *record) (EpochKey, error) {
	pt, err := v.openRecord(r)
	if err != nil {
		return EpochKey{}, err
	}
	defer clear(pt)
	s, ok := secretFrom(pt)
	if !ok {
		return EpochKey{}, fmt.Errorf("%w: epoch key %s of %d bytes", ErrCorrupt, r.id, len(pt))
	}
	return epochKeyOf(r, s), nil
}

func epochKeyOf(r *record, s secret) EpochKey {
	return EpochKey{
		id:      r.id,
		start:   unixTime(r.notBefore),
		end:     unixTime(r.notAfter),
		created: unixTime(r.created),
		k:       s,
	}
}

// Key returns the epoch key with the given ID, whatever its interval, so that
// pseudonyms made with a retired key can still be reversed. It returns
// ErrUnknownKey when there is no such epoch key and ErrShredded when it was
// shredded.
func (v *Vault) Key(id KeyID) (EpochKey, error) {
	var k EpochKey
	err := v.view(func(tx *bolt.Tx) error {
		r, err := lookupEpoch(tx, id)
		if err != nil {
			return err
		}
		if r.state == StateShredded {
			// Authenticate the tombstone too: an edited record must not be
			// able to pass itself off as shredded.
			pt, err := v.openRecord(&r)
			if err != nil {
				return err
			}
			clear(pt)
			return fmt.Errorf("%w on %s", ErrShredded, unixTime(r.shredded).Format(time.RFC3339))
		}
		k, err = v.epochKeyFrom(&r)
		return err
	})
	if err != nil {
		return EpochKey{}, fmt.Errorf("looking up key %s: %w", id, err)
	}
	return k, nil
}

// lookupEpoch reads the epoch record for id.
func lookupEpoch(tx *bolt.Tx, id KeyID) (record, error) {
	if id.purpose != PurposeEpoch {
		return record{}, fmt.Errorf("not an epoch key: %w", ErrUnknownKey)
	}
	r, ok, err := getRecord(tx, id)
	switch {
	case err != nil:
		return record{}, err
	case !ok:
		return record{}, ErrUnknownKey
	case r.id.purpose != PurposeEpoch:
		return record{}, fmt.Errorf("not an epoch key: %w", ErrUnknownKey)
	}
	return r, nil
}

// List describes every key in the vault, the identity key first and then
// epoch keys by start time, without any key bytes. Each record's seal is
// verified, so a tampered record makes List fail with ErrCorrupt rather than
// show false metadata. An epoch key is reported as retired once its interval
// has ended by the wall clock, even if nothing superseded it.
func (v *Vault) List() ([]KeyInfo, error) {
	now := time.Now().Unix()
	var infos []KeyInfo
	err := v.view(func(tx *bolt.Tx) error {
		return forEachRecord(tx, func(r *record) error {
			pt, err := v.openRecord(r)
			if err != nil {
				return err
			}
			clear(pt)
			infos = append(infos, r.info(now))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing keys of vault %s: %w", v.path, err)
	}
	slices.SortFunc(infos, func(a, b KeyInfo) int {
		return cmp.Or(
			-cmp.Compare(a.Purpose, b.Purpose), // identity (2) before epoch (1)
			a.Start.Compare(b.Start),
			a.Created.Compare(b.Created),
			cmp.Compare(a.ID.String(), b.ID.String()),
		)
	})
	return infos, nil
}

// Shred destroys an epoch key: its bytes are removed from the vault, so the
// pseudonyms made with it can never be reversed or linked again. A metadata
// record stays behind (state shredded) so that lookups report ErrShredded
// rather than ErrUnknownKey. After the transaction commits, the vault file is
// rewritten without free pages and renamed over the original, so that not
// even the sealed bytes remain in it. Copies made before, such as backups
// from [Vault.Backup], still hold the key. Shredding a shredded key does
// nothing; the identity key cannot be shredded (ErrUnknownKey).
func (v *Vault) Shred(id KeyID) error {
	if err := v.shred(id); err != nil {
		return fmt.Errorf("shredding key %s: %w", id, err)
	}
	return nil
}

func (v *Vault) shred(id KeyID) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.db == nil {
		return ErrClosed
	}
	pending, err := v.markShreddedLocked(id, time.Now())
	v.cache.invalidate()
	if err != nil || !pending {
		return err
	}
	if err := v.compactLocked(); err != nil {
		return fmt.Errorf("key shredded, but rewriting the file failed (retried at next open): %w", err)
	}
	return nil
}

// markShreddedLocked replaces the record by its tombstone and flags the
// header for compaction, in one transaction. It reports whether a compaction
// is due. v.mu must be held.
func (v *Vault) markShreddedLocked(id KeyID, now time.Time) (bool, error) {
	var pending bool
	err := v.db.Update(func(tx *bolt.Tx) error {
		r, err := lookupEpoch(tx, id)
		if err != nil {
			return err
		}
		// Authenticate before replacing, so a damaged or moved record is
		// reported instead of being turned into a valid tombstone.
		pt, err := v.openRecord(&r)
		if err != nil {
			return err
		}
		clear(pt)
		h, err := headerTx(tx)
		if err != nil {
			return err
		}
		if r.state == StateShredded {
			pending = h.compactionPending
			return nil
		}
		r.state, r.shredded = StateShredded, now.Unix()
		if err := v.sealRecord(&r, nil); err != nil {
			return err
		}
		if err := putRecord(tx, &r); err != nil {
			return err
		}
		h.compactionPending, pending = true, true
		return putHeader(tx, &h)
	})
	return pending, err
}
