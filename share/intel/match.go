package intel

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// AddrMapper maps an address to its pseudonym, as the flow store
// pseudonymizes addresses. A prefix-preserving mapper (Crypto-PAn,
// ipcrypt-pfx) maps every member of a network into the network's
// pseudonym prefix: the first n bits of Map(a) depend only on the first n
// bits of a.
type AddrMapper interface {
	Map(netip.Addr) (netip.Addr, error)
}

// AddrMapperFunc adapts a function to AddrMapper.
type AddrMapperFunc func(netip.Addr) (netip.Addr, error)

// Map calls f.
func (f AddrMapperFunc) Map(a netip.Addr) (netip.Addr, error) { return f(a) }

// Infallible adapts a mapper whose Map cannot fail, such as the
// AddrMapper of share/pseudo, to AddrMapper.
func Infallible(m interface{ Map(netip.Addr) netip.Addr }) AddrMapper {
	return AddrMapperFunc(func(a netip.Addr) (netip.Addr, error) { return m.Map(a), nil })
}

// NameKeyer turns a canonical domain name (lower-case A-labels, no trailing
// dot; see Canonicalize) into the token the flow store keeps for DNS names,
// TLS SNI and HTTP host names, such as a share/pseudo Tokenizer's Token.
type NameKeyer func(name string) string

// Matcher finds the indicators that match pseudonymized flow data. Only
// the indicators are pseudonymized, with the same mapper and keyer as the
// flows: no stored flow is ever turned back into an address or a name.
//
// Exact addresses live in a hash map. Networks live in a table sorted by
// first address (wider first on ties) where each entry links to the
// nearest network enclosing it: since networks are nested or disjoint,
// every network containing an address encloses the last entry starting at
// or before it, so a lookup is one binary search and a walk up that
// entry's chain. All matches are found, nested networks included. Names
// are matched exactly: the token of a sub-domain carries nothing of its
// parent's token.
//
// A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	exact4 map[uint32][]string
	exact6 map[u128][]string
	net4   []netEntry[uint32]
	net6   []netEntry[u128]
	names  map[string][]string
	n      int
}

// u128 is an IPv6 address as two big-endian halves.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// netEntry is one network of the sorted table: its first and last
// address, its indicators, and the index of the nearest enclosing network
// (-1 for none).
type netEntry[T uint32 | u128] struct {
	start, end T
	bits       int
	parent     int32
	ids        []string
}

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addr6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// range4 and range6 return the first and last address of a network.
func range4(p netip.Prefix) (uint32, uint32) {
	s := addr4(p.Masked().Addr())
	if p.Bits() == 0 {
		return 0, ^uint32(0)
	}
	return s, s | (^uint32(0) >> p.Bits())
}

func range6(p netip.Prefix) (u128, u128) {
	s := addr6(p.Masked().Addr())
	e := s
	switch b := p.Bits(); {
	case b == 0:
		e = u128{^uint64(0), ^uint64(0)}
	case b < 64:
		e.hi |= ^uint64(0) >> b
		e.lo = ^uint64(0)
	case b < 128:
		e.lo |= ^uint64(0) >> (b - 64)
	}
	return s, e
}

// link sorts a network table and sets the parent links.
func link[T uint32 | u128](t []netEntry[T], less func(a, b T) bool) []netEntry[T] {
	slices.SortFunc(t, func(a, b netEntry[T]) int {
		switch {
		case less(a.start, b.start):
			return -1
		case less(b.start, a.start):
			return 1
		}
		return a.bits - b.bits
	})
	// Merge equal networks.
	out := t[:0]
	for _, e := range t {
		if n := len(out); n > 0 && out[n-1].start == e.start && out[n-1].bits == e.bits {
			out[n-1].ids = append(out[n-1].ids, e.ids...)
			continue
		}
		out = append(out, e)
	}
	var stack []int32
	for i := range out {
		for len(stack) > 0 && less(out[stack[len(stack)-1]].end, out[i].start) {
			stack = stack[:len(stack)-1]
		}
		out[i].parent = -1
		if len(stack) > 0 {
			out[i].parent = stack[len(stack)-1]
		}
		out[i].ids = sortedUnique(out[i].ids)
		stack = append(stack, int32(i))
	}
	return slices.Clip(out)
}

// lookup appends the ids of the networks of t containing x, most specific
// first.
func lookup[T uint32 | u128](dst []string, t []netEntry[T], x T, less func(a, b T) bool) []string {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if less(x, t[m].start) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	for i := int32(lo - 1); i >= 0; i = t[i].parent {
		if !less(t[i].end, x) {
			dst = append(dst, t[i].ids...)
		}
	}
	return dst
}

func less4(a, b uint32) bool { return a < b }

func less6(a, b u128) bool { return a.less(b) }

// NewMatcher pseudonymizes the address and domain indicators with m and k
// and indexes them. Revoked and informational indicators are left out
// (callers leave out decayed ones with Indicator.Live). A nil m or k
// matches in the clear, for data that was never pseudonymized.
//
// CIDR indicators need a prefix-preserving mapper: with another mode
// (ipcrypt-det maps each address independently, even across families)
// the members of a network have unrelated pseudonyms, and NewMatcher
// returns an error wrapping ErrNotPrefixPreserving rather than matching
// nothing; leave CIDRs out for such a mapper. Errors name the indicator
// id, never its value.
func NewMatcher(indicators []Indicator, m AddrMapper, prefixPreserving bool, k NameKeyer) (*Matcher, error) {
	if m == nil {
		m = AddrMapperFunc(func(a netip.Addr) (netip.Addr, error) { return a, nil })
		prefixPreserving = true
	}
	mt := &Matcher{exact4: map[uint32][]string{}, exact6: map[u128][]string{}, names: map[string][]string{}}
	for _, ind := range indicators {
		if ind.Revoked || ind.Informational {
			continue
		}
		switch ind.Type {
		case TypeIPv4, TypeIPv6:
			a, err := netip.ParseAddr(ind.Value)
			if err != nil {
				return nil, fmt.Errorf("indexing %s: %w: %v", ind.ID, ErrInvalidValue, err)
			}
			p, err := m.Map(a)
			if err != nil {
				return nil, fmt.Errorf("pseudonymizing %s: %w", ind.ID, err)
			}
			switch p = p.Unmap(); {
			case p.Is4():
				k := addr4(p)
				mt.exact4[k] = append(mt.exact4[k], ind.ID)
			case p.Is6():
				k := addr6(p)
				mt.exact6[k] = append(mt.exact6[k], ind.ID)
			default:
				return nil, fmt.Errorf("pseudonymizing %s: %w: no address", ind.ID, ErrInvalidValue)
			}
		case TypeCIDR:
			if !prefixPreserving {
				return nil, fmt.Errorf("indexing %s: %w", ind.ID, ErrNotPrefixPreserving)
			}
			pfx, err := netip.ParsePrefix(ind.Value)
			if err != nil {
				return nil, fmt.Errorf("indexing %s: %w: %v", ind.ID, ErrInvalidValue, err)
			}
			p, err := m.Map(pfx.Addr())
			if err != nil {
				return nil, fmt.Errorf("pseudonymizing %s: %w", ind.ID, err)
			}
			p = p.Unmap()
			if p.Is4() != pfx.Addr().Is4() || !p.IsValid() {
				return nil, fmt.Errorf("indexing %s: %w: the mapper changed the address family", ind.ID, ErrNotPrefixPreserving)
			}
			np := netip.PrefixFrom(p, pfx.Bits())
			if p.Is4() {
				s, e := range4(np)
				mt.net4 = append(mt.net4, netEntry[uint32]{start: s, end: e, bits: pfx.Bits(), ids: []string{ind.ID}})
			} else {
				s, e := range6(np)
				mt.net6 = append(mt.net6, netEntry[u128]{start: s, end: e, bits: pfx.Bits(), ids: []string{ind.ID}})
			}
		case TypeDomain:
			key := ind.Value
			if k != nil {
				key = k(ind.Value)
			}
			mt.names[key] = append(mt.names[key], ind.ID)
		default:
			continue
		}
		mt.n++
	}
	for k, ids := range mt.exact4 {
		mt.exact4[k] = sortedUnique(ids)
	}
	for k, ids := range mt.exact6 {
		mt.exact6[k] = sortedUnique(ids)
	}
	for k, ids := range mt.names {
		mt.names[k] = sortedUnique(ids)
	}
	mt.net4 = link(mt.net4, less4)
	mt.net6 = link(mt.net6, less6)
	return mt, nil
}

func sortedUnique(ids []string) []string {
	slices.Sort(ids)
	return slices.Clip(slices.Compact(ids))
}

// Len returns the number of indexed indicators.
func (m *Matcher) Len() int { return m.n }

// MatchAddr returns the ids of the indicators matching a pseudonymized
// address: exact addresses first, then networks from the most to the
// least specific. It returns nil when nothing matches.
func (m *Matcher) MatchAddr(a netip.Addr) []string { return m.AppendMatchAddr(nil, a) }

// AppendMatchAddr appends the matches of a to dst; it does not allocate
// when nothing matches or dst has room.
func (m *Matcher) AppendMatchAddr(dst []string, a netip.Addr) []string {
	a = a.Unmap()
	switch {
	case a.Is4():
		x := addr4(a)
		dst = append(dst, m.exact4[x]...)
		return lookup(dst, m.net4, x, less4)
	case a.Is6():
		x := addr6(a)
		dst = append(dst, m.exact6[x]...)
		return lookup(dst, m.net6, x, less6)
	}
	return dst
}

// MatchName returns the ids of the domain indicators whose key equals
// token, or nil.
func (m *Matcher) MatchName(token string) []string {
	ids := m.names[token]
	if len(ids) == 0 {
		return nil
	}
	return slices.Clone(ids)
}

// Screenable reports whether indicators of type t can be matched against
// stored flows: addresses, networks and domain names.
func Screenable(t Type) bool {
	switch t {
	case TypeIPv4, TypeIPv6, TypeCIDR, TypeDomain:
		return true
	}
	return false
}
