package flow

import (
	"unsafe"

	"github.com/flowfed/flowfed/share/packet"
)

// Tunnel contexts are interned: a flow key holds a small number that
// stands for the tunnel's kind, ID, depth and outer addresses, instead of
// the 32 bytes of addresses that most flows, outside tunnels, would carry
// as zeros. The outer addresses are stored in order (lower first); a bit of
// the key says whether endpoint a of the flow sits on the side of the
// higher one, so that both directions of a flow meet the same context.
// Contexts are counted by the flows and fragment entries that use them and
// forgotten when none does, so their number stays bounded by those.

// tunnelCtx is one interned tunnel context.
type tunnelCtx struct {
	lo, hi [2]uint64 // outer addresses, the lower first
	id     uint32
	kind   packet.Kind
	depth  uint8
	v6     bool
}

// oswapBit in key.w1 marks that endpoint a is on the side of the higher
// outer address.
const oswapBit = 1 << 63

// tunnels interns tunnel contexts. Context numbers start at 1.
type tunnels struct {
	ids  map[tunnelCtx]uint32
	ctxs []tunnelCtx // by number - 1
	refs []int32
	free []uint32
	// fresh lists contexts created for the current packet, which are
	// forgotten at its end unless something took a reference.
	fresh []uint32
}

// intern returns the number of context c, creating it when absent.
func (tu *tunnels) intern(c *tunnelCtx) uint32 {
	if tu.ids == nil {
		tu.ids = make(map[tunnelCtx]uint32)
	}
	if n, ok := tu.ids[*c]; ok {
		return n
	}
	var n uint32
	if k := len(tu.free); k > 0 {
		n = tu.free[k-1]
		tu.free = tu.free[:k-1]
		tu.ctxs[n-1], tu.refs[n-1] = *c, 0
	} else {
		tu.ctxs = append(tu.ctxs, *c)
		tu.refs = append(tu.refs, 0)
		n = uint32(len(tu.ctxs))
	}
	tu.ids[*c] = n
	tu.fresh = append(tu.fresh, n)
	return n
}

// ref and unref count a user of context n (0 is no context).
func (tu *tunnels) ref(n uint64) {
	if n != 0 {
		tu.refs[n-1]++
	}
}

func (tu *tunnels) unref(n uint64) {
	if n == 0 {
		return
	}
	if tu.refs[n-1]--; tu.refs[n-1] == 0 {
		tu.drop(uint32(n))
	}
}

// drop forgets context n.
func (tu *tunnels) drop(n uint32) {
	delete(tu.ids, tu.ctxs[n-1])
	tu.ctxs[n-1] = tunnelCtx{}
	tu.free = append(tu.free, n)
}

// settle forgets the contexts created for the packet just added that no
// flow or fragment entry took.
func (tu *tunnels) settle() {
	for _, n := range tu.fresh {
		if tu.refs[n-1] == 0 && tu.ctxs[n-1].kind != 0 {
			tu.drop(n)
		}
	}
	tu.fresh = tu.fresh[:0]
}

// get returns context n.
func (tu *tunnels) get(n uint64) *tunnelCtx { return &tu.ctxs[n-1] }

// bytes estimates the memory held.
func (tu *tunnels) bytes() int {
	const per = int(2*unsafe.Sizeof(tunnelCtx{})) + 4 + 4 + 8
	return len(tu.ctxs)*per + cap(tu.free)*4
}
