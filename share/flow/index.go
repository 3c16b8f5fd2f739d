package flow

// index maps flow keys to slots: an open-addressing hash table with linear
// probing whose entries hold the upper 32 bits of the key's hash (the tag)
// and the slot number plus one, so that an empty entry is zero. The home
// position of an entry is its tag modulo the table size, which lets a
// deletion shift the entries after it back without tombstones. Full keys
// live in the slots and are compared only when the tags match.
type index struct {
	e    []uint64
	mask uint32
	n    int // entries in use
}

const minIndex = 1 << 10

func newIndex() index {
	return index{e: make([]uint64, minIndex), mask: minIndex - 1}
}

func tagOf(h uint64) uint32 { return uint32(h >> 32) }

// insertAt stores slot under tag at pos, an empty position that find
// returned, and grows the table past three quarters full.
func (x *index) insertAt(pos, tag uint32, slot int32) {
	x.e[pos] = uint64(tag)<<32 | uint64(uint32(slot+1))
	x.n++
	if x.n*4 > len(x.e)*3 {
		x.grow()
	}
}

// grow doubles the table.
func (x *index) grow() {
	old := x.e
	x.e = make([]uint64, 2*len(old))
	x.mask = uint32(len(x.e) - 1)
	for _, e := range old {
		if e == 0 {
			continue
		}
		pos := uint32(e>>32) & x.mask
		for x.e[pos] != 0 {
			pos = (pos + 1) & x.mask
		}
		x.e[pos] = e
	}
}

// remove deletes the entry of slot under tag.
func (x *index) remove(tag uint32, slot int32) {
	want := uint64(tag)<<32 | uint64(uint32(slot+1))
	for pos := tag & x.mask; x.e[pos] != 0; pos = (pos + 1) & x.mask {
		if x.e[pos] == want {
			x.deleteAt(pos)
			return
		}
	}
}

// deleteAt removes the entry at pos, moving back the entries of the probe
// run after it that may take its place.
func (x *index) deleteAt(pos uint32) {
	x.n--
	hole := pos
	for {
		pos = (pos + 1) & x.mask
		e := x.e[pos]
		if e == 0 {
			break
		}
		home := uint32(e>>32) & x.mask
		// The entry at pos may move to hole unless its home lies
		// cyclically in (hole, pos].
		if (pos-home)&x.mask >= (pos-hole)&x.mask {
			x.e[hole] = e
			hole = pos
		}
	}
	x.e[hole] = 0
}

// bytes returns the memory the index holds.
func (x *index) bytes() int { return len(x.e) * 8 }
