package flow

// A step of a flow's sequence is packed into one uint64, so that 128 steps
// take 1 KiB:
//
//	bits  0-15  IP length (saturating)
//	bits 16-31  payload length (saturating)
//	bits 32-39  TCP flags
//	bit     40  from the responder
//	bits 41-63  inter-arrival time: 22 bits of value and a unit bit
//	            (microseconds when clear, milliseconds when set)
//
// The first inlineSteps steps live in the flow's slot; the rest in a chain
// of blocks of a stepPool, so that the many short flows of a capture take
// little memory and a flow with a full sequence wastes none.
const (
	inlineSteps = 8
	iatBits     = 22
	iatMax      = 1<<iatBits - 1
	iatMilli    = 1 << iatBits
)

// packStep packs one step; gap is the time since the previous packet of the
// flow in nanoseconds.
func packStep(ipLen, payLen int, flags uint8, fromResp bool, gap int64) uint64 {
	v := uint64(sat16(ipLen)) | uint64(sat16(payLen))<<16 | uint64(flags)<<32
	if fromResp {
		v |= 1 << 40
	}
	return v | encodeIAT(gap)<<41
}

// sat16 clamps n to 0..65535.
func sat16(n int) uint16 {
	switch {
	case n < 0:
		return 0
	case n > 0xffff:
		return 0xffff
	}
	return uint16(n)
}

// encodeIAT encodes a gap in nanoseconds as 23 bits: microseconds below
// 2^22, else milliseconds (saturating).
func encodeIAT(ns int64) uint64 {
	if ns <= 0 {
		return 0
	}
	if us := ns / 1e3; us <= iatMax {
		return uint64(us)
	}
	ms := ns / 1e6
	if ms > iatMax {
		ms = iatMax
	}
	return iatMilli | uint64(ms)
}

// unpackStep expands a packed step.
func unpackStep(v uint64) Step {
	code := uint32(v >> 41)
	iat := code & iatMax
	if code&iatMilli != 0 {
		iat *= 1000
	}
	return Step{
		IPLen:      uint16(v),
		PayloadLen: uint16(v >> 16),
		Flags:      uint8(v >> 32),
		FromResp:   v&(1<<40) != 0,
		IAT:        iat,
	}
}

// blockSteps is the number of steps in a block of a stepPool: steps 8 to
// 31 take one block, 8 to 127 five.
const blockSteps = 24

// stepPool holds the steps of flows beyond the inline ones, in blocks of
// blockSteps steps chained from each flow's slot, allocated from pages of
// 256 blocks and reused when freed. Blocks are numbered from 1; 0 is none.
type stepPool struct {
	pages [][]uint64 // blockSteps steps per block
	links [][]int32  // the next block of the chain
	free  []int32
	n     int32 // blocks handed out from pages so far
}

const (
	poolPageBits = 8
	poolPage     = 1 << poolPageBits
)

// alloc returns a free block whose link is 0.
func (p *stepPool) alloc() int32 {
	var b int32
	if n := len(p.free); n > 0 {
		b = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		if int(p.n) == len(p.pages)*poolPage {
			p.pages = append(p.pages, make([]uint64, poolPage*blockSteps))
			p.links = append(p.links, make([]int32, poolPage))
		}
		p.n++
		b = p.n
	}
	*p.link(b) = 0
	return b
}

// block returns the steps of block b.
func (p *stepPool) block(b int32) []uint64 {
	i := int(b - 1)
	off := (i & (poolPage - 1)) * blockSteps
	return p.pages[i>>poolPageBits][off : off+blockSteps : off+blockSteps]
}

// link returns the link field of block b.
func (p *stepPool) link(b int32) *int32 {
	i := int(b - 1)
	return &p.links[i>>poolPageBits][i&(poolPage-1)]
}

// bytes returns the memory held by the pool.
func (p *stepPool) bytes() int { return len(p.pages)*poolPage*(blockSteps*8+4) + cap(p.free)*4 }

// seqStore is a table's storage of steps.
type seqStore struct {
	n    int // steps per flow (Config.SeqLen); 0 when off
	pool stepPool
}

func newSeqStore(n int) seqStore { return seqStore{n: max(n, 0)} }

// add appends a packed step to the sequence of slot sl, unless it is full.
func (st *seqStore) add(sl *slot, v uint64) {
	i := int(sl.seqN)
	if i >= st.n {
		return
	}
	sl.seqN++
	if i < inlineSteps {
		sl.seq[i] = v
		return
	}
	r := (i - inlineSteps) % blockSteps
	if r == 0 {
		b := st.pool.alloc()
		if sl.seqTail != 0 {
			*st.pool.link(sl.seqTail) = b
		} else {
			sl.seqHead = b
		}
		sl.seqTail = b
	}
	st.pool.block(sl.seqTail)[r] = v
}

// reset releases the steps of slot sl.
func (st *seqStore) reset(sl *slot) {
	for b := sl.seqHead; b != 0; b = *st.pool.link(b) {
		st.pool.free = append(st.pool.free, b)
	}
	sl.seqN, sl.seqHead, sl.seqTail = 0, 0, 0
}

// appendSteps appends the unpacked steps of slot sl to out.
func (st *seqStore) appendSteps(out []Step, sl *slot) []Step {
	n := int(sl.seqN)
	for i := 0; i < min(n, inlineSteps); i++ {
		out = append(out, unpackStep(sl.seq[i]))
	}
	n -= inlineSteps
	for b := sl.seqHead; b != 0 && n > 0; b = *st.pool.link(b) {
		for _, v := range st.pool.block(b)[:min(n, blockSteps)] {
			out = append(out, unpackStep(v))
		}
		n -= blockSteps
	}
	return out
}

// bytes returns the memory held by the pool.
func (st *seqStore) bytes() int { return st.pool.bytes() }
