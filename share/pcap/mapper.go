package pcap

import (
	"encoding/binary"
	"fmt"

	"github.com/flowfed/flowfed/share/pseudo"
)

// Sizes of the per-rewriter address caches (entries, powers of two). A rewriter
// runs in one goroutine, so these are plain arrays: a hit costs a multiply, a load
// and a compare, against about 50 ns (IPv4), 300 ns (IPv6) or 400 ns (MAC) to
// compute a pseudonym.
const (
	cache4Bits   = 14
	cache6Bits   = 12
	cacheMACBits = 12
)

// prefixCacheEntries is the size of the prefix cache of the pseudo mappers: large
// captures hold many /24s and /48s.
const prefixCacheEntries = 1 << 14

type entry4 struct {
	in, out uint32
	ok      bool
}

type entry6 struct {
	in, out [16]byte
	ok      bool
}

type entryMAC struct {
	in, out uint64
	ok      bool
}

// mapper pseudonymizes (or, with restore set, restores) address fields. It applies
// the pass-through list and cycle walking around the raw permutations of share/pseudo
// and caches results. A mapper is not safe for concurrent use.
type mapper struct {
	restore bool
	f4      func(uint32) uint32     // the IPv4 permutation, or its inverse
	f16     func([16]byte) [16]byte // the IPv6 permutation, or its inverse
	fmac    func([6]byte) [6]byte   // the MAC permutation, or its inverse
	fsn     func([6]byte) [6]byte   // the solicited-node permutation (low 24 bits)
	pass    passSet

	c4 *[1 << cache4Bits]entry4
	c6 *[1 << cache6Bits]entry6
	cm *[1 << cacheMACBits]entryMAC
}

type pfx4 struct{ base, mask uint32 }

type pfx6 struct{ hi, lo, mhi, mlo uint64 }

// passSet is a Passthrough compiled for fast membership tests.
type passSet struct {
	v4                    []pfx4
	v6                    []pfx6
	macZero, macBcast     bool
	macMcast              bool
	snMAC                 bool // solicited-node group MACs get their low 24 bits mapped
	snV6                  bool // so do solicited-node IPv6 addresses that pass through
	macMcastOrBcastOrZero bool // any MAC entry at all
}

func compilePass(p Passthrough) passSet {
	var s passSet
	for _, pf := range p.Prefixes {
		a, bits := pf.Masked().Addr(), pf.Bits()
		if a.Is4() {
			b := a.As4()
			mask := uint32(0)
			if bits > 0 {
				mask = ^uint32(0) << (32 - bits)
			}
			s.v4 = append(s.v4, pfx4{binary.BigEndian.Uint32(b[:]), mask})
			continue
		}
		b := a.As16()
		mhi, mlo := mask128(bits)
		s.v6 = append(s.v6, pfx6{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), mhi, mlo})
	}
	s.macZero, s.macBcast, s.macMcast = p.MACZero, p.MACBroadcast, p.MACMulticast
	s.snMAC = p.MACMulticast
	s.snV6 = true
	s.macMcastOrBcastOrZero = p.MACZero || p.MACBroadcast || p.MACMulticast
	return s
}

// mask128 returns the mask of the first bits bits of a 128-bit value.
func mask128(bits int) (hi, lo uint64) {
	switch {
	case bits <= 0:
		return 0, 0
	case bits < 64:
		return ^uint64(0) << (64 - bits), 0
	case bits == 64:
		return ^uint64(0), 0
	case bits < 128:
		return ^uint64(0), ^uint64(0) << (128 - bits)
	}
	return ^uint64(0), ^uint64(0)
}

func (s *passSet) has4(a uint32) bool {
	for _, p := range s.v4 {
		if a&p.mask == p.base {
			return true
		}
	}
	return false
}

func (s *passSet) has6(hi, lo uint64) bool {
	for _, p := range s.v6 {
		if hi&p.mhi == p.hi && lo&p.mlo == p.lo {
			return true
		}
	}
	return false
}

func (s *passSet) hasMAC(a uint64) bool {
	return s.macZero && a == 0 || s.macBcast && a == 0xffffffffffff || s.macMcast && a&(1<<40) != 0
}

// newMapper builds the mapper of one direction for a prefix-preserving mode.
func newMapper(mode pseudo.Mode, addrKey, macKey []byte, keepOUI bool, pass Passthrough, restore bool) (*mapper, error) {
	m := &mapper{
		restore: restore,
		pass:    compilePass(pass),
		c4:      new([1 << cache4Bits]entry4),
		c6:      new([1 << cache6Bits]entry6),
		cm:      new([1 << cacheMACBits]entryMAC),
	}
	opt := pseudo.WithPrefixCache(prefixCacheEntries)
	switch mode {
	case pseudo.ModeCryptoPAn:
		c, err := pseudo.NewCryptoPAn(addrKey, opt)
		if err != nil {
			return nil, fmt.Errorf("creating address mapper: %w", err)
		}
		m.f4, m.f16 = c.AnonymizeIPv4, c.Anonymize16
		if restore {
			m.f4, m.f16 = c.DeanonymizeIPv4, c.Deanonymize16
		}
	case pseudo.ModePFX:
		c, err := pseudo.NewIPCryptPFX(addrKey, opt)
		if err != nil {
			return nil, fmt.Errorf("creating address mapper: %w", err)
		}
		m.f4, m.f16 = c.EncryptIPv4, c.Encrypt16
		if restore {
			m.f4, m.f16 = c.DecryptIPv4, c.Decrypt16
		}
	default:
		return nil, fmt.Errorf("creating address mapper: mode %q maps IPv4 to IPv6, use cryptopan or ipcrypt-pfx: %w", string(mode), ErrMode)
	}
	mm, err := pseudo.NewMACMapper(macKey, keepOUI)
	if err != nil {
		return nil, fmt.Errorf("creating MAC mapper: %w", err)
	}
	// The solicited-node mapper permutes the low 24 bits under the fixed OUI
	// 33:33:ff; keepOUI gives it its own round keys (see pseudo.MACMapper).
	sn, err := pseudo.NewMACMapper(macKey, true)
	if err != nil {
		return nil, fmt.Errorf("creating MAC mapper: %w", err)
	}
	// Method values bind the direction once, so the hot path has no branch on it.
	m.fmac, m.fsn = mm.Map, sn.Map
	if restore {
		m.fmac, m.fsn = mm.Unmap, sn.Unmap
	}
	return m, nil
}

// v4 maps a whole IPv4 address: pass-through addresses stay, every other address
// goes to a pseudonym outside the pass-through list.
func (m *mapper) v4(a uint32) uint32 {
	e := &m.c4[(a*0x9e3779b1)>>(32-cache4Bits)]
	if e.ok && e.in == a {
		return e.out
	}
	out := a
	if !m.pass.has4(a) {
		// Cycle walking: the same loop inverts itself when f4 is the inverse
		// permutation (see Passthrough).
		out = m.f4(a)
		for m.pass.has4(out) {
			out = m.f4(out)
		}
	}
	*e = entry4{in: a, out: out, ok: true}
	return out
}

// v4prefix maps the first bits bits of an IPv4 address with the plain
// prefix-preserving permutation and clears the rest: for addresses cut short and
// for prefixes, which are mapped over all the bytes they hold (bits = 8 times the
// bytes), so that the mapping stays a bijection of those bytes whatever their
// content. Since the first n bits of a pseudonym depend only on the first n bits
// of the address, the result is the prefix of the pseudonym that the whole address
// would get (unless cycle walking moved that one), and the first bits of a prefix
// field (its prefix length) are the pseudonym of the prefix.
func (m *mapper) v4prefix(a uint32, bits int) uint32 {
	mask := uint32(0)
	if bits > 0 {
		mask = ^uint32(0) << (32 - min(bits, 32))
	}
	return m.f4(a&mask) & mask
}

// isMapped4 reports whether a 128-bit value is an IPv4-mapped address ::ffff:a.b.c.d.
func isMapped4(hi, lo uint64) bool { return hi == 0 && lo>>32 == 0xffff }

// isSolicited reports whether a 128-bit value is in ff02::1:ff00:0/104.
func isSolicited(hi, lo uint64) bool {
	return hi == 0xff02<<48 && lo>>24 == 0x0000_0001_ff
}

// v6 maps a whole IPv6 address. IPv4-mapped addresses map as their IPv4 address,
// as share/pseudo's Map does, so a host has one pseudonym however it is written.
func (m *mapper) v6(a [16]byte) [16]byte {
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	if isMapped4(hi, lo) {
		binary.BigEndian.PutUint32(a[12:], m.v4(uint32(lo)))
		return a
	}
	e := &m.c6[((hi^lo)*0x9e3779b97f4a7c15)>>(64-cache6Bits)]
	if e.ok && e.in == a {
		return e.out
	}
	out := a
	switch {
	case m.pass.has6(hi, lo):
		if m.pass.snV6 && isSolicited(hi, lo) {
			// The low 24 bits repeat those of a unicast address (often from a
			// MAC): map them as the group MAC 33:33:ff:xx:xx:xx is mapped.
			r := m.fsn([6]byte{0x33, 0x33, 0xff, a[13], a[14], a[15]})
			out[13], out[14], out[15] = r[3], r[4], r[5]
		}
	default:
		x := m.f16(a)
		for {
			xh, xl := binary.BigEndian.Uint64(x[:8]), binary.BigEndian.Uint64(x[8:])
			if !m.pass.has6(xh, xl) && !isMapped4(xh, xl) {
				break
			}
			x = m.f16(x)
		}
		out = x
	}
	*e = entry6{in: a, out: out, ok: true}
	return out
}

// v6prefix is v4prefix for IPv6.
func (m *mapper) v6prefix(a [16]byte, bits int) [16]byte {
	mhi, mlo := mask128(bits)
	hi, lo := binary.BigEndian.Uint64(a[:8])&mhi, binary.BigEndian.Uint64(a[8:])&mlo
	var in [16]byte
	binary.BigEndian.PutUint64(in[:8], hi)
	binary.BigEndian.PutUint64(in[8:], lo)
	out := m.f16(in)
	binary.BigEndian.PutUint64(out[:8], binary.BigEndian.Uint64(out[:8])&mhi)
	binary.BigEndian.PutUint64(out[8:], binary.BigEndian.Uint64(out[8:])&mlo)
	return out
}

// mac maps a 48-bit MAC address held in the low bits of a uint64.
func (m *mapper) mac(a uint64) uint64 {
	e := &m.cm[(a*0x9e3779b97f4a7c15)>>(64-cacheMACBits)]
	if e.ok && e.in == a {
		return e.out
	}
	out := a
	switch {
	case m.pass.hasMAC(a):
		if m.pass.snMAC && a>>24 == 0x3333ff {
			out = macUint(m.fsn(macBytes(a)))
		}
	default:
		out = macUint(m.fmac(macBytes(a)))
		for m.pass.hasMAC(out) {
			out = macUint(m.fmac(macBytes(out)))
		}
	}
	*e = entryMAC{in: a, out: out, ok: true}
	return out
}

func macUint(b [6]byte) uint64 {
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

func macBytes(v uint64) [6]byte {
	return [6]byte{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// Kinds of address fields, as the rewriter and the application-layer parsers
// report them.
type fieldKind uint8

const (
	fieldV4       fieldKind = iota + 1 // a whole IPv4 address
	fieldV6                            // a whole IPv6 address
	fieldMAC                           // a hardware address of any length
	fieldV4XOR                         // an IPv4 address with every bit inverted (Teredo)
	fieldV4Prefix                      // the first n bytes of an IPv4 address, or a prefix
	fieldV6Prefix                      // the first n bytes of an IPv6 address, or a prefix
	fieldText                          // replacement bytes computed in advance
)

// field is one address field to rewrite.
type field struct {
	off  int
	n    int // bytes of the field present in the packet
	kind fieldKind
	text [3]byte // for fieldText: the new bytes
}

// rewrite maps the field f of b in place and reports how it went: whether the field
// changed and whether its content was cleared rather than mapped.
func (m *mapper) rewrite(b []byte, f *field) (changed, cleared bool) {
	d := b[f.off : f.off+f.n]
	switch f.kind {
	case fieldV4:
		a := binary.BigEndian.Uint32(d)
		o := m.v4(a)
		binary.BigEndian.PutUint32(d, o)
		return o != a, false
	case fieldV4XOR:
		a := ^binary.BigEndian.Uint32(d)
		o := m.v4(a)
		binary.BigEndian.PutUint32(d, ^o)
		return o != a, false
	case fieldV6:
		a := [16]byte(d)
		o := m.v6(a)
		copy(d, o[:])
		return o != a, false
	case fieldV4Prefix:
		var a [4]byte
		copy(a[:], d)
		o := m.v4prefix(binary.BigEndian.Uint32(a[:]), 8*len(d))
		binary.BigEndian.PutUint32(a[:], o)
		copy(d, a[:])
		return true, false
	case fieldV6Prefix:
		var a [16]byte
		copy(a[:], d)
		o := m.v6prefix(a, 8*len(d))
		copy(d, o[:])
		return true, false
	case fieldMAC:
		return m.rewriteMAC(d)
	case fieldText:
		copy(d, f.text[:f.n])
		return true, false
	}
	return false, false
}

// rewriteMAC maps a hardware address. A 6-byte one is a MAC; a longer one (up to
// 8 bytes in Linux cooked captures, 16 in DHCP) is mapped as two overlapping 6-byte
// windows, first and last, which is a bijection that leaves no original byte in
// place (the permutation keeps the I/G and U/L bits of the window's first byte);
// a shorter one, cut or of another hardware type, is cleared, since no permutation
// of so few bytes hides them.
func (m *mapper) rewriteMAC(d []byte) (changed, cleared bool) {
	switch {
	case len(d) == 6:
		a := macUint([6]byte(d))
		o := m.mac(a)
		w := macBytes(o)
		copy(d, w[:])
		return o != a, false
	case len(d) > 6:
		first, last := d[:6], d[len(d)-6:]
		if m.restore {
			first, last = last, first
		}
		// The raw permutation, without the pass-through list: a window is no
		// address, and a group bit in it must not keep it as it is.
		for _, w := range [2][]byte{first, last} {
			o := m.fmac([6]byte(w))
			copy(w, o[:])
		}
		return true, false
	}
	for i := range d {
		d[i] = 0
	}
	return true, true
}
