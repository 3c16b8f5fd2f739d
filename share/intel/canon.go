package intel

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// CanonVersion is the version of the canonical forms produced by
// Canonicalize. It is stored with every indicator; a change of any rule
// below increments it, and stored indicators of an older version are
// canonicalised again (their ids may change, their sources stay).
const CanonVersion = 1

// MaxValueLen bounds the length in bytes of an indicator value.
const MaxValueLen = 8192

// Type is the kind of an indicator's value.
type Type string

// Indicator types.
const (
	TypeIPv4     Type = "ipv4"     // one IPv4 address: "192.0.2.1"
	TypeIPv6     Type = "ipv6"     // one IPv6 address, RFC 5952 text: "2001:db8::1"
	TypeCIDR     Type = "cidr"     // an IPv4 or IPv6 network: "192.0.2.0/24"
	TypeDomain   Type = "domain"   // a DNS name, lower-case A-labels: "xn--bcher-kva.example"
	TypeURL      Type = "url"      // an absolute URL, normalised (RFC 3986 section 6)
	TypeEmail    Type = "email"    // an e-mail address: "Local@example.org"
	TypeMD5      Type = "md5"      // file hash, 32 lower-case hex digits
	TypeSHA1     Type = "sha1"     // file hash, 40 lower-case hex digits
	TypeSHA256   Type = "sha256"   // file hash, 64 lower-case hex digits
	TypeSHA512   Type = "sha512"   // file hash, 128 lower-case hex digits
	TypeJA3      Type = "ja3"      // JA3 TLS client fingerprint (MD5), 32 hex digits
	TypeJA4      Type = "ja4"      // JA4 TLS client fingerprint: "t13d1516h2_8daaf6152771_02713d6af862"
	TypeFilename Type = "filename" // a file name, kept byte for byte
	TypeRegKey   Type = "regkey"   // a Windows registry key, kept byte for byte
)

// Types lists every indicator type, in a fixed order.
var Types = []Type{TypeIPv4, TypeIPv6, TypeCIDR, TypeDomain, TypeURL, TypeEmail,
	TypeMD5, TypeSHA1, TypeSHA256, TypeSHA512, TypeJA3, TypeJA4, TypeFilename, TypeRegKey}

var typeAliases = map[string]Type{
	"ip": TypeIPv4, "ipv4-addr": TypeIPv4, "ipv6-addr": TypeIPv6, "prefix": TypeCIDR, "network": TypeCIDR,
	"hostname": TypeDomain, "domain-name": TypeDomain, "fqdn": TypeDomain,
	"uri": TypeURL, "email-addr": TypeEmail, "sha-1": TypeSHA1, "sha-256": TypeSHA256, "sha-512": TypeSHA512,
	"file-name": TypeFilename, "windows-registry-key": TypeRegKey,
}

// ParseType reads a type name ("ipv4", "domain", "sha256") or one of its
// aliases ("hostname", "ipv4-addr", "sha-256"), case-insensitively.
func ParseType(s string) (Type, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, t := range Types {
		if string(t) == v {
			return t, nil
		}
	}
	if t, ok := typeAliases[v]; ok {
		return t, nil
	}
	return "", fmt.Errorf("type %q: %w", s, ErrUnsupportedType)
}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool {
	for _, u := range Types {
		if t == u {
			return true
		}
	}
	return false
}

// IsAddress reports whether t is matched against addresses (ipv4, ipv6, cidr).
func (t Type) IsAddress() bool { return t == TypeIPv4 || t == TypeIPv6 || t == TypeCIDR }

// IsHash reports whether t is a file hash.
func (t Type) IsHash() bool {
	return t == TypeMD5 || t == TypeSHA1 || t == TypeSHA256 || t == TypeSHA512
}

// Canonicalize returns the canonical type and value of an indicator. The
// type may change with the value: ipv4, ipv6 and cidr are one family whose
// canonical type follows the value ("10.0.0.0/8" is a cidr, "10.0.0.1/32" an
// ipv4, "::ffff:192.0.2.1" an ipv4). The rules, version CanonVersion:
//
//   - addresses: Go's netip text form (dotted quad, RFC 5952 for IPv6),
//     IPv4-mapped IPv6 as IPv4, zones refused; networks masked to their
//     prefix ("10.1.2.3/8" is "10.0.0.0/8").
//   - domain: surrounding space and one trailing dot removed; names with
//     non-ASCII characters or "xn--" labels go through IDNA
//     (golang.org/x/net/idna: UTS #46 non-transitional mapping, so case
//     and width folding and NFC, ideographic full stops as dots, the Bidi
//     rule, Punycode A-labels, which must be valid); lower-cased; labels of
//     1-63 characters from [a-z0-9_-], at most 253 characters, and a last
//     label that is not all digits.
//   - url: scheme and host lower-case, host canonical as a domain or an
//     address, default port dropped, empty path made "/", dot segments
//     removed, percent-escapes of unreserved characters decoded and the
//     others upper-cased, characters outside RFC 3986 escaped, fragment
//     dropped. A URL without "://" is read as http.
//   - email: the domain part canonical as a domain, the local part kept.
//   - md5, sha1, sha256, sha512, ja3: lower-case hex of the right length.
//   - ja4: lower-case, the a_b_c shape of JA4 TLS client fingerprints.
//   - filename, regkey: kept byte for byte (no NUL, valid UTF-8).
func Canonicalize(t Type, value string) (Type, string, error) {
	if len(value) > MaxValueLen {
		return "", "", fmt.Errorf("%s value of %d bytes: %w (limit %d)", t, len(value), ErrInvalidValue, MaxValueLen)
	}
	if !utf8.ValidString(value) || strings.IndexByte(value, 0) >= 0 {
		return "", "", fmt.Errorf("%s value %q: %w: not UTF-8 text", t, value, ErrInvalidValue)
	}
	var (
		out string
		err error
	)
	switch t {
	case TypeIPv4, TypeIPv6, TypeCIDR:
		return canonIP(value)
	case TypeDomain:
		out, err = canonDomain(strings.TrimSpace(value))
	case TypeURL:
		out, err = canonURL(strings.TrimSpace(value))
	case TypeEmail:
		out, err = canonEmail(strings.TrimSpace(value))
	case TypeMD5, TypeJA3:
		out, err = canonHex(value, 32)
	case TypeSHA1:
		out, err = canonHex(value, 40)
	case TypeSHA256:
		out, err = canonHex(value, 64)
	case TypeSHA512:
		out, err = canonHex(value, 128)
	case TypeJA4:
		out, err = canonJA4(value)
	case TypeFilename, TypeRegKey:
		if value == "" {
			err = fmt.Errorf("empty value")
		}
		out = value
	default:
		return "", "", fmt.Errorf("type %q: %w", string(t), ErrUnsupportedType)
	}
	if err != nil {
		return "", "", fmt.Errorf("%s value %q: %w: %v", t, clip(value), ErrInvalidValue, err)
	}
	return t, out, nil
}

// clip shortens long values in error messages.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	i := 77
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

func canonIP(value string) (Type, string, error) {
	s := strings.TrimSpace(value)
	if strings.Contains(s, "%") {
		return "", "", fmt.Errorf("address %q: %w: zones are not indicators", clip(value), ErrInvalidValue)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", "", fmt.Errorf("network %q: %w: %v", clip(value), ErrInvalidValue, err)
		}
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		if bits == a.BitLen() {
			return addrType(a), a.String(), nil
		}
		return TypeCIDR, netip.PrefixFrom(a, bits).Masked().String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", "", fmt.Errorf("address %q: %w: %v", clip(value), ErrInvalidValue, err)
	}
	a = a.Unmap()
	return addrType(a), a.String(), nil
}

func addrType(a netip.Addr) Type {
	if a.Is4() {
		return TypeIPv4
	}
	return TypeIPv6
}

func canonHex(value string, n int) (string, error) {
	s := strings.ToLower(strings.TrimSpace(value))
	if len(s) != n {
		return "", fmt.Errorf("%d characters, want %d hex digits", len(s), n)
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return "", fmt.Errorf("non-hex character %q", s[i])
		}
	}
	return s, nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLowerAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' }

// canonJA4 checks the JA4 shape: protocol (t, q, d), two version
// characters, SNI flag (d, i), two digits of cipher and of extension count,
// two ALPN characters, then two sections of 12 hex digits.
func canonJA4(value string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(value))
	if len(s) != 36 || s[10] != '_' || s[23] != '_' {
		return "", fmt.Errorf("not of the form t13d1516h2_8daaf6152771_02713d6af862")
	}
	if !strings.ContainsRune("tqd", rune(s[0])) || !isLowerAlnum(s[1]) || !isLowerAlnum(s[2]) ||
		(s[3] != 'd' && s[3] != 'i') || !isLowerAlnum(s[8]) || !isLowerAlnum(s[9]) {
		return "", fmt.Errorf("bad JA4 prefix %q", s[:10])
	}
	for i := 4; i < 8; i++ {
		if !isDigit(s[i]) {
			return "", fmt.Errorf("bad JA4 counts %q", s[4:8])
		}
	}
	for i := 11; i < 36; i++ {
		if i != 23 && !isHex(s[i]) {
			return "", fmt.Errorf("non-hex character %q in JA4 hash", s[i])
		}
	}
	return s, nil
}

// idnaProfile maps and encodes names as resolvers look them up: UTS #46
// non-transitional mapping (case and width folding, NFC; ß and ς kept),
// the Bidi rule, Punycode. Underscores are left to canonDomain's rules.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false), idna.BidiRule())

// canonDomain implements the domain rule of Canonicalize on trimmed input.
func canonDomain(s string) (string, error) {
	if !isASCII(s) || strings.Contains(strings.ToLower(s), "xn--") {
		a, err := idnaProfile.ToASCII(s)
		if err != nil {
			return "", fmt.Errorf("IDNA: %v", err)
		}
		s = a
	}
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" {
		return "", fmt.Errorf("empty name")
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" {
			return "", fmt.Errorf("empty label")
		}
		if len(l) > 63 {
			return "", fmt.Errorf("label of %d characters (limit 63)", len(l))
		}
		for j := 0; j < len(l); j++ {
			if c := l[j]; !isLowerAlnum(c) && c != '-' && c != '_' {
				return "", fmt.Errorf("character %q not allowed in a domain name", c)
			}
		}
	}
	if len(s) > 253 {
		return "", fmt.Errorf("name of %d characters (limit 253)", len(s))
	}
	last := labels[len(labels)-1]
	allDigits := true
	for j := 0; j < len(last); j++ {
		if !isDigit(last[j]) {
			allDigits = false
			break
		}
	}
	if allDigits {
		return "", fmt.Errorf("last label %q is numeric (an address is not a domain)", last)
	}
	return s, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func canonEmail(s string) (string, error) {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", fmt.Errorf("not local@domain")
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return "", fmt.Errorf("local part of %d characters (limit 64)", len(local))
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c == 0x7f {
			return "", fmt.Errorf("control or space character in local part")
		}
	}
	d, err := canonDomain(domain)
	if err != nil {
		return "", err
	}
	return local + "@" + d, nil
}

// opaqueSchemes are URL schemes without an authority part.
var opaqueSchemes = map[string]bool{"mailto": true, "javascript": true, "data": true, "tel": true, "urn": true, "magnet": true}

var defaultPorts = map[string]string{"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}

func validScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// canonURL implements the url rule of Canonicalize on trimmed input.
func canonURL(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty URL")
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	var scheme, rest string
	if i := strings.Index(s, "://"); i > 0 && validScheme(s[:i]) {
		scheme, rest = strings.ToLower(s[:i]), s[i+3:]
	} else if i := strings.IndexByte(s, ':'); i > 0 && opaqueSchemes[strings.ToLower(s[:i])] {
		return strings.ToLower(s[:i]) + ":" + pctNormalize(s[i+1:], "/?:@"), nil
	} else if i > 0 && strings.Contains(s[:i], "://") {
		return "", fmt.Errorf("invalid scheme")
	} else {
		scheme, rest = "http", s
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	var userinfo string
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, authority = authority[:at], authority[at+1:]
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		rb := strings.IndexByte(authority, ']')
		if rb < 0 {
			return "", fmt.Errorf("unterminated IPv6 literal")
		}
		host, port = authority[:rb+1], authority[rb+1:]
		if port != "" && port[0] != ':' {
			return "", fmt.Errorf("junk after IPv6 literal")
		}
		port = strings.TrimPrefix(port, ":")
	} else if c := strings.LastIndexByte(authority, ':'); c >= 0 {
		host, port = authority[:c], authority[c+1:]
	}
	if host == "" {
		if scheme != "file" {
			return "", fmt.Errorf("no host")
		}
	} else if h, err := canonHost(host); err != nil {
		return "", err
	} else {
		host = h
	}
	if port != "" {
		for i := 0; i < len(port); i++ {
			if !isDigit(port[i]) {
				return "", fmt.Errorf("port %q is not a number", port)
			}
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return "", fmt.Errorf("port %q out of range", port)
		}
		port = strconv.FormatUint(n, 10)
		if defaultPorts[scheme] == port {
			port = ""
		}
	}
	path, query, hasQuery := tail, "", false
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		path, query, hasQuery = tail[:q], tail[q+1:], true
	}
	path = removeDotSegments(pctNormalize(path, "/:@"))
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if userinfo != "" {
		b.WriteString(pctNormalize(userinfo, ":"))
		b.WriteByte('@')
	}
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(path)
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(pctNormalize(query, "/?:@"))
	}
	return b.String(), nil
}

func canonHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("invalid IPv6 literal %q", clip(h))
		}
		if a.Is4In6() {
			return a.Unmap().String(), nil
		}
		return "[" + a.String() + "]", nil
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
		return a.String(), nil
	}
	return canonDomain(h)
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

func isSubDelim(c byte) bool { return strings.IndexByte("!$&'()*+,;=", c) >= 0 }

// pctNormalize applies RFC 3986 section 6.2.2 to one component: escapes of
// unreserved characters are decoded, other escapes upper-cased, a stray
// "%" escaped, and characters outside unreserved, sub-delims and extra
// escaped as UTF-8 bytes.
func pctNormalize(s, extra string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 < len(s) && isHexAny(s[i+1]) && isHexAny(s[i+2]) {
				v := unhex(s[i+1])<<4 | unhex(s[i+2])
				if isUnreserved(v) {
					b.WriteByte(v)
				} else {
					b.WriteByte('%')
					b.WriteByte(hexDigits[v>>4])
					b.WriteByte(hexDigits[v&15])
				}
				i += 2
				continue
			}
			b.WriteString("%25")
			continue
		}
		if isUnreserved(c) || isSubDelim(c) || strings.IndexByte(extra, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func isHexAny(c byte) bool { return isHex(c) || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// removeDotSegments is RFC 3986 section 5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string
	segs := strings.Split(in, "/")
	abs := strings.HasPrefix(in, "/")
	if abs {
		segs = segs[1:]
	}
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	res := strings.Join(out, "/")
	if abs {
		res = "/" + res
	}
	return res
}
