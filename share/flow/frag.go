package flow

import (
	"unsafe"

	"github.com/flowfed/flowfed/share/packet"
)

// Fragments are attributed to their flow, not reassembled: the first
// fragment of a datagram carries the transport header and goes to its flow
// like any packet; the table then remembers the datagram by its addresses,
// protocol, identification and context, and accounts the later fragments
// to the same flow, each as a packet (their IP lengths, their data as
// payload). Fragments that arrive before the first one wait, up to
// maxPending per datagram; when the first never comes within FragTimeout,
// or the table of datagrams is full, they are accounted to the flow of
// their addresses and protocol with ports 0, so that no packet is lost
// from the counts.

// maxPending bounds the fragments that wait for the first one of their
// datagram (a 64 KiB datagram over a 1280-byte MTU has 52).
const maxPending = 64

// fragKey identifies a fragmented datagram.
type fragKey struct {
	k  key // as sent (not canonical), without ports
	id uint32
}

// fragEntry is what the table knows of one fragmented datagram.
type fragEntry struct {
	slot    int32  // slot of its flow; -1 until the first fragment came
	flowID  uint64 // ID of that flow, to notice that the slot was reused
	srcIsA  bool   // the datagram's source is endpoint a of the flow key
	created int64
	serial  uint64 // tells entries under the same key apart in the queue
	got     int    // fragment data bytes seen
	total   int    // data length of the datagram once its last fragment came; -1 before
	pending []pendingFrag
}

// pendingFrag is a fragment waiting for the first fragment of its datagram.
type pendingFrag struct {
	ts            int64
	ipLen, payLen int
}

// fragQueued records the creation order of datagram entries, for expiry.
type fragQueued struct {
	fk      fragKey
	created int64
	serial  uint64
}

// fragTable holds the fragmented datagrams being attributed.
type fragTable struct {
	m       map[fragKey]*fragEntry
	queue   []fragQueued // oldest first from head
	head    int
	timeout int64 // nanoseconds; negative: never
	max     int
	serial  uint64
}

func (f *fragTable) init(timeout int64, maxEntries int) {
	f.m = make(map[fragKey]*fragEntry)
	f.timeout, f.max = timeout, maxEntries
}

// due reports whether the oldest datagram entry has timed out at now.
func (f *fragTable) due(now int64) bool {
	return f.timeout >= 0 && f.head < len(f.queue) && now-f.queue[f.head].created > f.timeout
}

// bytes estimates the memory held.
func (f *fragTable) bytes() int {
	const entry = int(unsafe.Sizeof(fragKey{}) + unsafe.Sizeof(fragEntry{}) + 16)
	n := len(f.m)*entry + cap(f.queue)*int(unsafe.Sizeof(fragQueued{}))
	for _, e := range f.m {
		n += cap(e.pending) * int(unsafe.Sizeof(pendingFrag{}))
	}
	return n
}

// datagram returns the entry of datagram fk, creating it (and making room for
// it) when absent.
func (t *Table) datagram(fk *fragKey, ts int64) *fragEntry {
	f := &t.frags
	if e := f.m[*fk]; e != nil {
		return e
	}
	for len(f.m) >= f.max && f.head < len(f.queue) {
		t.dropOldestFrag()
	}
	f.serial++
	e := &fragEntry{slot: -1, created: ts, serial: f.serial, total: -1}
	f.m[*fk] = e
	t.tun.ref(fk.k.w2)
	if f.head > 0 && f.head >= len(f.queue)/2 {
		n := copy(f.queue, f.queue[f.head:])
		clear(f.queue[n:])
		f.queue, f.head = f.queue[:n], 0
	}
	f.queue = append(f.queue, fragQueued{*fk, ts, e.serial})
	return e
}

// dropOldestFrag forgets the oldest datagram, accounting its waiting
// fragments as orphans.
func (t *Table) dropOldestFrag() {
	f := &t.frags
	q := f.queue[f.head]
	f.queue[f.head] = fragQueued{}
	f.head++
	e := f.m[q.fk]
	if e == nil || e.serial != q.serial {
		return // completed earlier, or a newer entry under the same key
	}
	delete(f.m, q.fk)
	t.orphans(&q.fk.k, e)
	t.tun.unref(q.fk.k.w2)
}

// expireFrags forgets the datagrams older than the fragment timeout.
func (t *Table) expireFrags(now int64) {
	for t.frags.due(now) {
		t.dropOldestFrag()
	}
}

// flushFrags forgets every datagram, accounting waiting fragments as
// orphans.
func (t *Table) flushFrags() {
	f := &t.frags
	for f.head < len(f.queue) {
		t.dropOldestFrag()
	}
	f.queue, f.head = f.queue[:0], 0
	clear(f.m)
}

// orphans accounts the waiting fragments of entry e, whose datagram key is
// k, to the flow of their addresses and protocol.
func (t *Table) orphans(k *key, e *fragEntry) {
	for _, pf := range e.pending {
		t.orphan(k, &obs{ts: pf.ts, ipLen: pf.ipLen, payLen: pf.payLen, proto: k.proto(), frag: true})
	}
	e.pending = nil
}

// orphan accounts one fragment to the flow of its addresses and protocol,
// with ports 0.
func (t *Table) orphan(k *key, o *obs) {
	t.stats.OrphanFragments++
	ok := *k
	srcIsA := ok.canon()
	t.account(&ok, srcIsA, o)
}

// addFragment accounts a fragment after the first of its datagram; k is the
// datagram's key as sent, without ports.
func (t *Table) addFragment(k *key, fr packet.Frag, o *obs) {
	fk := fragKey{k: *k, id: fr.ID}
	e := t.datagram(&fk, o.ts)
	e.got += o.payLen
	if !fr.More {
		e.total = fr.Offset + o.payLen
	}
	switch {
	case e.slot >= 0:
		s := t.slot(e.slot)
		if !s.used || s.id != e.flowID {
			t.orphan(k, o) // its flow has ended
			break
		}
		dir := 0
		if e.srcIsA == s.flipped {
			dir = 1
		}
		t.update(e.slot, s, dir, o)
	case len(e.pending) < maxPending:
		e.pending = append(e.pending, pendingFrag{o.ts, o.ipLen, o.payLen})
		return
	default:
		t.orphan(k, o)
	}
	t.fragDone(&fk, e)
}

// firstFragment links the datagram of a first fragment, just accounted to
// the flow in slot i, to that flow, and accounts the fragments that came
// before it. k is the datagram's key as sent, without ports.
func (t *Table) firstFragment(k *key, srcIsA bool, p *packet.Packet, o *obs, i int32) {
	fk := fragKey{k: *k, id: p.Frag.ID}
	e := t.datagram(&fk, o.ts)
	s := t.slot(i)
	e.slot, e.flowID, e.srcIsA = i, s.id, srcIsA
	// The fragment's data starts after the IP header and, for IPv6, its
	// extension headers up to the fragment header.
	ip := p.Headers[p.Inner]
	dataOff := ip.End()
	if ip.Kind == packet.IPv6 {
		for j := p.Inner + 1; j < p.N; j++ {
			if p.Headers[j].Kind == packet.IPv6Frag {
				dataOff = p.Headers[j].End()
				break
			}
		}
	}
	e.got += max(ip.Off+o.ipLen-dataOff, 0)
	dir := 0
	if srcIsA == s.flipped {
		dir = 1
	}
	for _, pf := range e.pending {
		if !s.used || s.id != e.flowID {
			t.orphan(k, &obs{ts: pf.ts, ipLen: pf.ipLen, payLen: pf.payLen, proto: o.proto, frag: true})
			continue
		}
		t.update(i, s, dir, &obs{ts: pf.ts, ipLen: pf.ipLen, payLen: pf.payLen, proto: o.proto, frag: true})
	}
	e.pending = nil
	t.fragDone(&fk, e)
}

// fragDone forgets datagram fk once all of its data has been seen.
func (t *Table) fragDone(fk *fragKey, e *fragEntry) {
	if e.total >= 0 && e.got >= e.total && e.slot >= 0 {
		delete(t.frags.m, *fk)
		t.tun.unref(fk.k.w2)
	}
}
