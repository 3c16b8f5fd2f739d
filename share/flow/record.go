package flow

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/packet"
)

// Record is a finished flow as it is kept and shared: every field of [Flow] that
// describes the flow, with the derived history and connection state as text, and
// the facts needed to interpret it (the flow-meter settings and, once
// pseudonymized, the key the addresses were mapped under). A Record owns all its
// memory.
type Record struct {
	Key        Key
	Start, End int64
	Orig, Resp Counters
	ICMPErrors uint32
	Carries    packet.Kind
	Reason     EndReason
	Continued  bool
	Label      label.Label
	Seq        []Step
	History    string
	ConnState  string
	// ConfigDigest names the flow-meter settings (Config.Digest).
	ConfigDigest string
	// KeyID names the epoch key under which the addresses (Key.Src, Key.Dst, the
	// tunnel endpoints and addresses in the label evidence) are pseudonyms. It is
	// empty while the record holds raw addresses.
	KeyID string
}

// Record copies f into a Record made under the settings cfg.
func (f *Flow) Record(cfg Config) Record {
	r := Record{
		Key:          f.Key,
		Start:        f.Start,
		End:          f.End,
		Orig:         f.Orig,
		Resp:         f.Resp,
		ICMPErrors:   f.ICMPErrors,
		Carries:      f.Carries,
		Reason:       f.Reason,
		Continued:    f.Continued,
		Label:        f.Label,
		Seq:          append([]Step(nil), f.Seq...),
		History:      f.History(),
		ConnState:    f.ConnState(),
		ConfigDigest: cfg.Digest(),
	}
	if f.Label.Evidence != nil {
		ev := *f.Label.Evidence
		r.Label.Evidence = &ev
	}
	return r
}

// AddrMapper maps an address to its pseudonym; share/pseudo's mappers satisfy it.
type AddrMapper interface {
	Map(a netip.Addr) netip.Addr
}

// Pseudonymize replaces every address in r with its pseudonym under m and records
// keyID: the flow's endpoints, the tunnel endpoints, and IP address literals in the
// label evidence (a DNS answer, an HTTP Host given as an address, an SMTP greeting
// naming one). Host and service names are not addresses and stay.
func (r *Record) Pseudonymize(m AddrMapper, keyID string) {
	pseudonymizeKey(&r.Key, m)
	pseudonymizeEvidence(r.Label.Evidence, m)
	r.KeyID = keyID
}

// Pseudonymize replaces every address in f as Record.Pseudonymize does. Use it on
// a Clone: a Flow handed to emit belongs to its table.
func (f *Flow) Pseudonymize(m AddrMapper) {
	pseudonymizeKey(&f.Key, m)
	pseudonymizeEvidence(f.Label.Evidence, m)
}

func pseudonymizeKey(k *Key, m AddrMapper) {
	mapRaw := func(b *[16]byte, v6 bool) {
		var a netip.Addr
		if v6 {
			a = netip.AddrFrom16(*b)
		} else {
			a = netip.AddrFrom4([4]byte(b[:4]))
		}
		p := m.Map(a)
		if v6 {
			*b = p.As16()
		} else {
			p4 := p.As4()
			*b = [16]byte{}
			copy(b[:4], p4[:])
		}
	}
	mapRaw(&k.Src, k.IPv6)
	mapRaw(&k.Dst, k.IPv6)
	if k.Tunnel.Kind != 0 {
		mapRaw(&k.Tunnel.OuterSrc, k.Tunnel.OuterIPv6)
		mapRaw(&k.Tunnel.OuterDst, k.Tunnel.OuterIPv6)
	}
}

func pseudonymizeEvidence(ev *label.Evidence, m AddrMapper) {
	if ev == nil {
		return
	}
	for _, s := range []*string{&ev.DNSQuery, &ev.DNSAnswer, &ev.HTTPHost, &ev.TLSSNI, &ev.Banner,
		&ev.Command, &ev.SSHBanner, &ev.UserAgent, &ev.Detail} {
		*s = MapAddrLiterals(*s, m)
	}
}

// MapAddrLiterals replaces each IPv4 or IPv6 address literal in s by its pseudonym
// under m. A literal is a maximal run of hex digits, dots and colons (with an
// optional %zone) that parses as an address; bracketed IPv6 ("[2001:db8::1]:80")
// and address:port forms are found too.
func MapAddrLiterals(s string, m AddrMapper) string {
	if !strings.ContainsAny(s, ".:") {
		return s
	}
	if r, ok := mapReverseName(s, m); ok {
		return r
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		if !isAddrChar(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isAddrChar(s[j]) {
			j++
		}
		b.WriteString(mapToken(s[i:j], m))
		i = j
	}
	return b.String()
}

func isAddrChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
}

// mapToken maps a token that is an address, an IPv4 address with a :port, or
// trims separators around one; anything else comes back unchanged.
func mapToken(t string, m AddrMapper) string {
	if a, err := netip.ParseAddr(t); err == nil {
		return m.Map(a).String()
	}
	if ap, err := netip.ParseAddrPort(t); err == nil && ap.Addr().Is4() {
		return netip.AddrPortFrom(m.Map(ap.Addr()), ap.Port()).String()
	}
	// Separators glued to an address: "192.0.2.1." at the end of a sentence, or
	// ":192.0.2.1".
	l, r := 0, len(t)
	for l < r && (t[l] == '.' || t[l] == ':') {
		l++
	}
	for r > l && (t[r-1] == '.' || t[r-1] == ':') {
		r--
	}
	if l > 0 || r < len(t) {
		if a, err := netip.ParseAddr(t[l:r]); err == nil {
			return t[:l] + m.Map(a).String() + t[r:]
		}
	}
	return t
}

// mapReverseName pseudonymizes a reverse-lookup name (…in-addr.arpa, …ip6.arpa),
// whose labels spell an address or a prefix backwards. The address labels are
// mapped as a prefix of that length (prefix-preserving mappers keep a prefix's
// pseudonym a prefix of its members' pseudonyms). Labels beyond a full address,
// as in RFC 2317 classless delegation ("70.64.2.6.216.in-addr.arpa"), are
// mapped as the host part: each is replaced by the last octet of the pseudonym
// of the network with that octet.
func mapReverseName(s string, m AddrMapper) (string, bool) {
	lower := strings.ToLower(strings.TrimSuffix(s, "."))
	switch {
	case strings.HasSuffix(lower, ".in-addr.arpa"):
		labels := strings.Split(strings.TrimSuffix(lower, ".in-addr.arpa"), ".")
		var oct []byte // in address order
		for i := len(labels) - 1; i >= 0; i-- {
			n, err := strconv.Atoi(labels[i])
			if err != nil || n < 0 || n > 255 {
				return "", false
			}
			oct = append(oct, byte(n))
		}
		if len(oct) == 0 {
			return "", false
		}
		var a [4]byte
		k := copy(a[:], oct)
		p := m.Map(netip.AddrFrom4(a)).As4()
		out := append([]byte(nil), p[:k]...)
		// Extra labels (RFC 2317): map each as the last octet under the prefix.
		for _, h := range oct[k:] {
			a[3] = h
			q := m.Map(netip.AddrFrom4(a)).As4()
			out = append(out, q[3])
		}
		var b strings.Builder
		for i := len(out) - 1; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(out[i])))
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa")
		return b.String(), true
	case strings.HasSuffix(lower, ".ip6.arpa"):
		labels := strings.Split(strings.TrimSuffix(lower, ".ip6.arpa"), ".")
		if len(labels) == 0 || len(labels) > 32 {
			return "", false
		}
		var a [16]byte
		for i, l := range labels {
			if len(l) != 1 {
				return "", false
			}
			n, err := strconv.ParseUint(l, 16, 8)
			if err != nil {
				return "", false
			}
			pos := len(labels) - 1 - i // nibble index from the left
			a[pos/2] |= byte(n) << (4 * (1 - pos%2))
		}
		p := m.Map(netip.AddrFrom16(a)).As16()
		var b strings.Builder
		for pos := len(labels) - 1; pos >= 0; pos-- {
			nib := p[pos/2] >> (4 * (1 - pos%2)) & 0xf
			b.WriteString(strconv.FormatUint(uint64(nib), 16))
			b.WriteByte('.')
		}
		b.WriteString("ip6.arpa")
		return b.String(), true
	}
	return "", false
}
