package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"
)

// Kinds of audit entries.
const (
	AuditEgress    = "egress"    // a decision to send or withhold an artifact
	AuditIngress   = "ingress"   // a decision to accept or reject an artifact
	AuditKey       = "key"       // a key was created, rotated or shredded
	AuditPolicy    = "policy"    // a new policy version was loaded
	AuditErasure   = "erasure"   // an artifact was erased (tombstone sent or honoured)
	AuditRetention = "retention" // an artifact was deleted at the end of its retention
)

// Decision words of audit entries.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// MaxFieldLen is the longest string field of an audit entry in bytes;
// [Chain] clips longer values and [DecodeEntry] rejects them.
const MaxFieldLen = 4096

// AuditEntry is one record of the hash-chained audit log. Entries are
// linked by Prev, the Hash of the entry before, so that editing, removing
// or reordering any entry breaks the chain ([VerifyChain]). Key material
// never goes into an entry: Reason and the other fields name keys by ID.
type AuditEntry struct {
	Seq           uint64    // 1 for the first entry, then +1
	Time          time.Time // kept to the nanosecond, in UTC
	Kind          string    // one of the Audit constants
	Artifact      string    // [ArtifactRef] of the artifact, if any
	Version       uint64    // artifact version
	Peer          string    // peer ID of the recipient or sender, if any
	Rule          string    // deciding rule
	PolicyVersion string    // [Policy.Version] in force
	Decision      string    // DecisionAllow or DecisionDeny, or what was done
	Reason        string
	Prev          [32]byte // Hash of the previous entry; zero for the first
	Hash          [32]byte // SHA-256 over the canonical encoding of everything above
}

// ArtifactRef is how an audit entry names an artifact: "kind/id".
func ArtifactRef(kind, id string) string { return kind + "/" + id }

// Entry returns the audit entry of a decision made at t under p, ready for
// [Chain].
func (p *Policy) Entry(dir Direction, t time.Time, peer Peer, a Artifact, d Decision) AuditEntry {
	return AuditEntry{
		Time: t, Kind: dir.String(), Artifact: ArtifactRef(a.Kind, a.ID), Version: a.Version, Peer: peer.ID,
		Rule: d.Rule, PolicyVersion: p.version, Decision: d.Verdict(), Reason: d.Reason,
	}
}

// Chain links e after prev (nil for the first entry): it sets Seq, Prev and
// Hash, puts Time in UTC and clips string fields to MaxFieldLen.
func Chain(prev *AuditEntry, e AuditEntry) AuditEntry {
	if prev == nil {
		e.Seq, e.Prev = 1, [32]byte{}
	} else {
		e.Seq, e.Prev = prev.Seq+1, prev.Hash
	}
	e.Time = e.Time.UTC()
	for _, f := range []*string{&e.Kind, &e.Artifact, &e.Peer, &e.Rule, &e.PolicyVersion, &e.Decision, &e.Reason} {
		*f = clipField(*f)
	}
	e.Hash = hashEntry(&e)
	return e
}

// clipField cuts s to MaxFieldLen bytes at a character boundary.
func clipField(s string) string {
	if len(s) <= MaxFieldLen {
		return s
	}
	cut := MaxFieldLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// VerifyChain checks a whole chain, which starts at Seq 1. It returns a
// *[ChainError] naming the first bad sequence number when an entry was
// edited (its hash no longer matches), removed, inserted or reordered (the
// sequence or the link to the previous entry breaks). Removing entries
// from the end leaves a valid shorter chain: keep the latest Seq and Hash
// elsewhere and compare.
func VerifyChain(entries []AuditEntry) error { return VerifyChainFrom(nil, entries) }

// VerifyChainFrom checks a part of a chain that follows anchor, an entry
// already trusted (nil: the chain starts at Seq 1).
func VerifyChainFrom(anchor *AuditEntry, entries []AuditEntry) error {
	want, prev := uint64(1), [32]byte{}
	if anchor != nil {
		want, prev = anchor.Seq+1, anchor.Hash
	}
	for i := range entries {
		e := &entries[i]
		if hashEntry(e) != e.Hash {
			return &ChainError{Seq: want, Index: i, Reason: fmt.Sprintf("entry with seq %d does not match its hash (edited)", e.Seq)}
		}
		if e.Seq != want {
			what := "removed"
			if e.Seq < want {
				what = "reordered or repeated"
			}
			return &ChainError{Seq: want, Index: i, Reason: fmt.Sprintf("found seq %d: an entry was %s", e.Seq, what)}
		}
		if e.Prev != prev {
			return &ChainError{Seq: want, Index: i, Reason: "link to the previous entry does not match (an entry was replaced)"}
		}
		want, prev = e.Seq+1, e.Hash
	}
	return nil
}

// entryFormat is the first byte of an encoded entry.
const entryFormat = 1

// hashPrefix separates audit hashes from any other SHA-256 use.
const hashPrefix = "flowfed audit entry\x00"

func hashEntry(e *AuditEntry) [32]byte {
	var buf [512]byte
	b := append(buf[:0], hashPrefix...)
	b = appendBody(b, e)
	return sha256.Sum256(b)
}

// Valid Unix seconds of an encoded time: years 1 to 9999.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// appendBody appends the canonical encoding of every field but Hash:
//
//	format byte 1
//	uvarint Seq
//	int64 Unix seconds, uint32 nanoseconds (big endian)
//	string Kind, string Artifact, uvarint Version
//	string Peer, Rule, PolicyVersion, Decision, Reason
//	32 bytes Prev
//
// where a string is a uvarint byte length and the bytes.
func appendBody(b []byte, e *AuditEntry) []byte {
	b = append(b, entryFormat)
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(e.Time.Nanosecond()))
	b = appendString(b, e.Kind)
	b = appendString(b, e.Artifact)
	b = binary.AppendUvarint(b, e.Version)
	for _, s := range [...]string{e.Peer, e.Rule, e.PolicyVersion, e.Decision, e.Reason} {
		b = appendString(b, s)
	}
	return append(b, e.Prev[:]...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// EncodeEntry returns the canonical bytes of e: the hashed body followed by
// the 32-byte Hash. Equal entries encode to equal bytes, and [DecodeEntry]
// reads back exactly e, provided its fields are within MaxFieldLen and its
// time within years 1 to 9999 (as every entry made by [Chain] is).
func EncodeEntry(e AuditEntry) []byte {
	b := appendBody(make([]byte, 0, 128+len(e.Reason)), &e)
	return append(b, e.Hash[:]...)
}

// DecodeEntry reads one entry encoded by [EncodeEntry]. It rejects, with an
// error wrapping [ErrEntry], anything that EncodeEntry would not produce, so
// that decoding and encoding again gives the same bytes. It does not check
// the hash; [VerifyChain] does.
func DecodeEntry(b []byte) (AuditEntry, error) {
	d := decoder{b: b}
	var e AuditEntry
	if f := d.byte(); d.err == nil && f != entryFormat {
		return AuditEntry{}, fmt.Errorf("%w: format %d (want %d)", ErrEntry, f, entryFormat)
	}
	e.Seq = d.uvarint("seq")
	sec, nsec := int64(d.uint64("time")), d.uint32("time")
	if d.err == nil && (sec < minUnix || sec > maxUnix || nsec >= 1e9) {
		d.fail("time out of range")
	}
	e.Time = time.Unix(sec, int64(nsec)).UTC()
	e.Kind = d.string("kind")
	e.Artifact = d.string("artifact")
	e.Version = d.uvarint("version")
	e.Peer = d.string("peer")
	e.Rule = d.string("rule")
	e.PolicyVersion = d.string("policy version")
	e.Decision = d.string("decision")
	e.Reason = d.string("reason")
	copy(e.Prev[:], d.bytes("prev", 32))
	copy(e.Hash[:], d.bytes("hash", 32))
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return AuditEntry{}, d.err
	}
	return e, nil
}

// decoder reads the canonical encoding; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrEntry, what)
	}
}

func (d *decoder) bytes(what string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail("truncated " + what)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.bytes("format", 1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) uint64(what string) uint64 {
	if v := d.bytes(what, 8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) uint32(what string) uint32 {
	if v := d.bytes(what, 4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// uvarint reads a minimal uvarint (non-minimal encodings would give one
// entry several encodings).
func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad " + what)
		return 0
	}
	if n != uvarintLen(v) {
		d.fail("non-minimal " + what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (d *decoder) string(what string) string {
	n := d.uvarint(what + " length")
	if d.err == nil && n > MaxFieldLen {
		d.fail(fmt.Sprintf("%s longer than %d bytes", what, MaxFieldLen))
	}
	if d.err != nil {
		return ""
	}
	return string(d.bytes(what, int(n)))
}
