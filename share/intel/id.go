package intel

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// STIXNamespace is the UUIDv5 namespace of STIX 2.1 deterministic
// identifiers (STIX 2.1 section 2.9). flowfed derives its indicator and
// sighting ids under it.
const STIXNamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7"

var stixNS = mustParseUUID(STIXNamespace)

// IndicatorID returns the deterministic id of an indicator of canonical type
// t and canonical value v: "indicator--" followed by the UUIDv5, under
// STIXNamespace, of the RFC 8785 (JCS) serialisation of
// {"type": t, "value": v}. For example ipv4 10.0.0.1 hashes
// `{"type":"ipv4","value":"10.0.0.1"}`. The same value posted by any
// source gets the same id; callers pass the output of Canonicalize.
func IndicatorID(t Type, v string) string {
	return "indicator--" + uuid5(stixNS, `{"type":`+jcsString(string(t))+`,"value":`+jcsString(v)+`}`)
}

// SightingID returns the deterministic id of a sighting: "sighting--" and
// the UUIDv5 of the JCS serialisation of
// {"first_seen", "indicator", "kind", "observer"} (first_seen in RFC 3339
// with nanoseconds, UTC; observer "" when anonymous). One observer's
// sighting of one indicator that started at one time keeps its id while its
// count and last_seen grow.
func SightingID(indicatorID, observer string, kind SightingKind, firstSeen time.Time) string {
	name := `{"first_seen":` + jcsString(firstSeen.UTC().Format(time.RFC3339Nano)) +
		`,"indicator":` + jcsString(indicatorID) +
		`,"kind":` + jcsString(kind.String()) +
		`,"observer":` + jcsString(observer) + `}`
	return "sighting--" + uuid5(stixNS, name)
}

// uuid5 returns the RFC 9562 version 5 UUID of name in namespace ns.
func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// parseUUID reads the 8-4-4-4-12 hex form (either case).
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, false
	}
	return u, true
}

func mustParseUUID(s string) [16]byte {
	u, ok := parseUUID(s)
	if !ok {
		panic("intel: bad built-in UUID " + s)
	}
	return u
}

// isUUID reports whether s is a UUID in text form.
func isUUID(s string) bool {
	_, ok := parseUUID(s)
	return ok
}

// splitSTIXID splits "type--uuid" and reports whether it has that form.
func splitSTIXID(id string) (typ, uuid string, ok bool) {
	i := strings.Index(id, "--")
	if i <= 0 || !isUUID(id[i+2:]) {
		return "", "", false
	}
	return id[:i], id[i+2:], true
}

// uuidOf returns the UUID of a STIX id or a bare UUID, or "" when s is
// neither.
func uuidOf(s string) string {
	if isUUID(s) {
		return strings.ToLower(s)
	}
	if _, u, ok := splitSTIXID(s); ok {
		return strings.ToLower(u)
	}
	return ""
}

// derivedUUID returns a UUIDv5 under the STIX namespace for the given parts,
// used where an exporter needs a stable UUID it was not given (a MISP
// attribute for an indicator that came from elsewhere).
func derivedUUID(parts ...string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jcsString(p))
	}
	b.WriteByte(']')
	return uuid5(stixNS, b.String())
}

// jcsString serialises s as RFC 8785 does: only '"', '\\' and control
// characters are escaped, the short escapes where JSON has them and
// \u00XX otherwise; everything else, including non-ASCII, is copied.
// Invalid UTF-8 is replaced by U+FFFD as in any JSON encoder.
func jcsString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString("\ufffd")
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				const hexDigits = "0123456789abcdef"
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
	return b.String()
}
