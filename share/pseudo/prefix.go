package pseudo

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
)

// Crypto-PAn and ipcrypt-pfx share one shape: output bit i is input bit i
// XOR f(first i input bits), for a keyed function f. Only f differs. This
// file holds everything built on that shape: the precomputed top of the
// prefix tree, the prefix caches, the forward map and its bit-serial inverse.
//
// Bit positions count from the most significant bit: position 0 is the top
// bit of the address. An IPv4 address is a uint32, an IPv6 address a pair
// (hi, lo) of uint64 in big-endian order.

// bitFunc evaluates f. The AES inputs of all positions of one address
// depend only on that address, so bits4 and bits6 compute a run of
// positions as one batch of independent AES blocks. The table construction
// needs f at arbitrary prefixes (input4/input6 and evalBits), the inverse
// at the small subtree below a known prefix (tree4/tree6).
type bitFunc interface {
	// bits4 returns f at positions [from, to) of a; the bit for position
	// i is at 1<<(31-i), all other bits are zero.
	bits4(a uint32, from, to int) uint32
	// bits6 is bits4 for IPv6: position i < 64 is at hi bit 63-i,
	// position i >= 64 at lo bit 127-i.
	bits6(hi, lo uint64, from, to int) (mhi, mlo uint64)
	// input4 and input6 return the AES input block for position i, given
	// the address whose first i bits are the prefix; later bits are
	// ignored.
	input4(a uint32, i int) (hi, lo uint64)
	input6(hi, lo uint64, i int) (ihi, ilo uint64)
	// evalBits returns f for the first n (1 to 64) blocks of buf as bits
	// 0 to n-1. buf must hold n rounded up to 8 blocks.
	evalBits(buf []byte, n int) uint64
	// tree4 and tree6 return f for the 2^invDepth-1 prefixes that extend
	// the first i bits of the address by 0 to invDepth-1 bits,
	// breadth-first: the prefix of length i+k whose k new bits are e is
	// bit 2^k-1+e. (Callers cannot build these blocks and use evalBits:
	// a buffer handed to an interface method escapes to the heap.)
	tree4(a uint32, i int) uint64
	tree6(hi, lo uint64, i int) uint64
}

// topLevels is the number of tree levels (prefix lengths 0 to 15) whose f
// values are precomputed once per key.
const topLevels = 16

// levelTable stores f for every prefix shorter than topLevels bits: the bit
// for prefix p of length L sits at index 1<<L | p. That is 2^16-1 bits in
// 8 KiB, filled with 65535 AES evaluations when a mapper is created. It is a
// fixed-size part of the key schedule, not a cache: nothing is added later.
type levelTable struct {
	bits [(1 << topLevels) / 64]uint64
	// top8[b] holds the f bits of the first 8 positions for addresses
	// whose first byte is b (position 0 at bit 7), so mask16 needs 1+8
	// look-ups instead of 16. 256 bytes, derived from bits.
	top8 [256]uint8
	// inv8 inverts the first 8 levels, which permute the first byte:
	// inv8[p] is the original first byte of a pseudonym whose first byte
	// is p. It saves the inverse 8 dependent look-ups.
	inv8 [256]uint8
}

func (t *levelTable) buildTop8() {
	for b := range t.top8 {
		var m uint8
		for l := range 8 {
			m |= uint8(t.bit(l, uint32(b)>>(8-l))) << (7 - l)
		}
		t.top8[b] = m
		t.inv8[uint8(b)^m] = uint8(b)
	}
}

func (t *levelTable) bit(level int, prefix uint32) uint32 {
	idx := uint32(1)<<(level&15) | prefix
	return uint32(t.bits[(idx>>6)&1023]>>(idx&63)) & 1
}

// mask16 returns the f bits of the first 16 positions of an address whose
// first 16 bits are top, as a 16-bit value (position 0 at bit 15).
func (t *levelTable) mask16(top uint32) uint32 {
	top &= 0xffff
	m := uint32(t.top8[top>>8]) << 8
	// Levels 8 to 15, unrolled by hand: constant shifts compile to single
	// instructions, and the eight loads are independent.
	m |= t.at(1<<8|top>>8) << 7
	m |= t.at(1<<9|top>>7) << 6
	m |= t.at(1<<10|top>>6) << 5
	m |= t.at(1<<11|top>>5) << 4
	m |= t.at(1<<12|top>>4) << 3
	m |= t.at(1<<13|top>>3) << 2
	m |= t.at(1<<14|top>>2) << 1
	m |= t.at(1<<15 | top>>1)
	return m
}

func (t *levelTable) at(idx uint32) uint32 {
	return uint32(t.bits[(idx>>6)&1023]>>(idx&63)) & 1
}

// fillLevels computes every entry of t from input, which returns the AES
// input block for a prefix p of the given length.
func fillLevels(t *levelTable, f bitFunc, input func(level int, p uint64) (hi, lo uint64)) {
	var buf [64 * blockSize]byte
	for start := 0; start < len(t.bits)*64; start += 64 {
		// Index 0 is unused (no prefix has it); computing it anyway keeps
		// every batch at 64 and costs one block.
		for j := range 64 {
			idx := max(start+j, 1)
			level := bits.Len(uint(idx)) - 1
			hi, lo := input(level, uint64(idx-1<<level))
			putBlock(buf[j*blockSize:], hi, lo)
		}
		t.bits[start/64] = f.evalBits(buf[:], 64)
	}
	t.bits[0] &^= 1
	t.buildTop8()
}

// putBlock writes a 128-bit value as a big-endian 16-byte block, with two
// 8-byte stores.
func putBlock(b []byte, hi, lo uint64) {
	b = b[:blockSize]
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
}

// Prefix caches. In real traffic most addresses share their /24 (IPv4) or
// /48 (IPv6) with an address seen shortly before. A cache entry maps such a
// prefix to the f bits of its first 24 or 48 positions, so a hit leaves only
// 8 (IPv4) or 80 (IPv6) AES evaluations instead of 16 and 112. The caches
// are direct-mapped arrays of fixed size: memory is bounded by construction
// and a colliding prefix simply replaces the old entry. They never change a
// result, only how fast it is found.
//
// Both caches are safe for concurrent use without locks: an IPv4 entry is
// one atomic word; an IPv6 entry (48-bit tag and 48-bit value) is guarded by
// a per-entry sequence counter (a seqlock), so a reader that races a writer
// sees a miss, never a torn entry.

const (
	v4CacheBits = 24 // IPv4 cache key: /24
	v6CacheBits = 48 // IPv6 cache key: /48

	// cacheEntryBytes is the memory of one IPv4 plus one IPv6 entry.
	cacheEntryBytes = 8 + 24
)

type cache4 struct {
	shift   uint // 32 - log2(len(entries))
	entries []atomic.Uint64
}

// An IPv4 entry packs valid<<63 | prefix<<24 | mask: prefix and mask are
// both 24 bits.
func (c *cache4) slot(prefix uint32) *atomic.Uint64 {
	// Fibonacci hashing spreads neighbouring prefixes over the table.
	return &c.entries[(prefix*0x9e3779b1)>>c.shift]
}

func (c *cache4) get(prefix uint32) (mask uint32, ok bool) {
	e := c.slot(prefix).Load()
	if e>>63 == 0 || uint32(e>>24)&0xffffff != prefix {
		return 0, false
	}
	return uint32(e) & 0xffffff, true
}

func (c *cache4) put(prefix, mask uint32) {
	c.slot(prefix).Store(1<<63 | uint64(prefix)<<24 | uint64(mask))
}

type entry6 struct {
	seq atomic.Uint32 // odd while a writer is updating the entry
	tag atomic.Uint64 // valid<<63 | prefix (48 bits)
	val atomic.Uint64 // mask of the first 48 positions
}

type cache6 struct {
	shift   uint // 64 - log2(len(entries))
	entries []entry6
}

func (c *cache6) slot(prefix uint64) *entry6 {
	return &c.entries[(prefix*0x9e3779b97f4a7c15)>>c.shift]
}

func (c *cache6) get(prefix uint64) (mask uint64, ok bool) {
	e := c.slot(prefix)
	s := e.seq.Load()
	if s&1 != 0 {
		return 0, false
	}
	tag, val := e.tag.Load(), e.val.Load()
	if e.seq.Load() != s || tag != 1<<63|prefix {
		return 0, false
	}
	return val, true
}

func (c *cache6) put(prefix, mask uint64) {
	e := c.slot(prefix)
	s := e.seq.Load()
	// A concurrent writer owns the entry: skip, it is only a cache.
	if s&1 != 0 || !e.seq.CompareAndSwap(s, s+1) {
		return
	}
	e.tag.Store(1<<63 | prefix)
	e.val.Store(mask)
	e.seq.Store(s + 2)
}

// prefixPerm is a prefix-preserving permutation of IPv4 and IPv6 addresses
// built from a bitFunc. It is safe for concurrent use.
type prefixPerm struct {
	f    bitFunc
	top4 *levelTable // f at positions 0-15 of IPv4 addresses
	top6 *levelTable // f at positions 0-15 of IPv6 addresses
	c4   *cache4     // nil when caching is off
	c6   *cache6
}

// newPrefixPerm builds the tables and caches. When sharedTop is set, IPv4
// and IPv6 addresses start at the same bit function (Crypto-PAn), and one
// table serves both.
func newPrefixPerm(f bitFunc, cfg config, sharedTop bool) *prefixPerm {
	p := &prefixPerm{f: f, top6: new(levelTable)}
	fillLevels(p.top6, f, func(level int, prefix uint64) (uint64, uint64) {
		return f.input6(prefix<<(64-level), 0, level) // level 0: a shift by 64 gives 0
	})
	if sharedTop {
		p.top4 = p.top6
	} else {
		p.top4 = new(levelTable)
		fillLevels(p.top4, f, func(level int, prefix uint64) (uint64, uint64) {
			return f.input4(uint32(prefix<<(32-level)), level)
		})
	}
	if n := cfg.cacheEntries; n > 0 {
		lg := bits.Len(uint(n - 1)) // round up to a power of two
		p.c4 = &cache4{shift: uint(32 - lg), entries: make([]atomic.Uint64, 1<<lg)}
		p.c6 = &cache6{shift: uint(64 - lg), entries: make([]entry6, 1<<lg)}
		if lg == 0 {
			// A one-entry table: the shift must clear every hash bit.
			p.c4.shift, p.c6.shift = 32, 64
		}
	}
	return p
}

// perm4 maps an IPv4 address, using the cache when there is one.
func (p *prefixPerm) perm4(a uint32) uint32 {
	if p.c4 == nil {
		return p.perm4Uncached(a)
	}
	prefix := a >> (32 - v4CacheBits)
	if m, ok := p.c4.get(prefix); ok {
		return a ^ (m<<(32-v4CacheBits) | p.f.bits4(a, v4CacheBits, 32))
	}
	m := p.top4.mask16(a>>16)<<16 | p.f.bits4(a, topLevels, 32)
	p.c4.put(prefix, m>>(32-v4CacheBits))
	return a ^ m
}

func (p *prefixPerm) perm4Uncached(a uint32) uint32 {
	return a ^ (p.top4.mask16(a>>16)<<16 | p.f.bits4(a, topLevels, 32))
}

// perm6 maps an IPv6 address, using the cache when there is one.
func (p *prefixPerm) perm6(hi, lo uint64) (uint64, uint64) {
	if p.c6 == nil {
		return p.perm6Uncached(hi, lo)
	}
	prefix := hi >> (64 - v6CacheBits)
	if m, ok := p.c6.get(prefix); ok {
		mhi, mlo := p.f.bits6(hi, lo, v6CacheBits, 128)
		return hi ^ (m<<(64-v6CacheBits) | mhi), lo ^ mlo
	}
	mhi, mlo := p.f.bits6(hi, lo, topLevels, 128)
	mhi |= uint64(p.top6.mask16(uint32(hi>>48))) << 48
	p.c6.put(prefix, mhi>>(64-v6CacheBits))
	return hi ^ mhi, lo ^ mlo
}

func (p *prefixPerm) perm6Uncached(hi, lo uint64) (uint64, uint64) {
	mhi, mlo := p.f.bits6(hi, lo, topLevels, 128)
	mhi |= uint64(p.top6.mask16(uint32(hi>>48))) << 48
	return hi ^ mhi, lo ^ mlo
}

// invDepth is how many tree levels the inverse resolves per batch. The
// next original bit is unknown until f of the current prefix is, so the
// inverse evaluates f for every prefix the next invDepth bits could form:
// 2^invDepth-1 independent blocks, which one VAES group (16 blocks) takes
// about as long as a single block. That turns 16 (IPv4) or 112 (IPv6)
// dependent AES latencies into 4 or 28.
const invDepth = 4

// inv4 inverts perm4. 16 levels are a multiple of invDepth, so i+k never
// passes position 31.
func (p *prefixPerm) inv4(b uint32) uint32 {
	a := uint32(p.top4.inv8[b>>24]) << 24
	for i := 8; i < topLevels; i++ {
		f := p.top4.bit(i, a>>(32-i)) << (31 - i)
		a |= (b ^ f) & (1 << (31 - i))
	}
	for i := topLevels; i < 32; i += invDepth {
		r := p.f.tree4(a, i)
		var e uint32
		for k := range invDepth {
			pos := i + k
			f := uint32(r>>((1<<k)-1+e)) & 1
			bit := (b>>(31-pos))&1 ^ f
			a |= bit << (31 - pos)
			e = e<<1 | bit
		}
	}
	return a
}

// inv6 inverts perm6 like inv4.
func (p *prefixPerm) inv6(bhi, blo uint64) (uint64, uint64) {
	hi, lo := uint64(p.top6.inv8[bhi>>56])<<56, uint64(0)
	for i := 8; i < topLevels; i++ {
		f := uint64(p.top6.bit(i, uint32(hi>>(64-i)))) << (63 - i)
		hi |= (bhi ^ f) & (1 << (63 - i))
	}
	for i := topLevels; i < 128; i += invDepth {
		r := p.f.tree6(hi, lo, i)
		var e uint64
		for k := range invDepth {
			pos := i + k
			f := r >> ((1 << k) - 1 + e) & 1
			var bit uint64
			if pos < 64 {
				bit = bhi>>(63-pos)&1 ^ f
				hi |= bit << (63 - pos)
			} else {
				bit = blo>>(127-pos)&1 ^ f
				lo |= bit << (127 - pos)
			}
			e = e<<1 | bit
		}
	}
	return hi, lo
}

// shl128 returns e << s as a 128-bit value, 0 <= s < 128.
func shl128(e uint64, s int) (hi, lo uint64) {
	if s >= 64 {
		return e << (s - 64), 0
	}
	return e >> (64 - s), e << s // Go: a shift by 64 yields 0
}
