package flow

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"
	"unsafe"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/packet"
)

// Expiry classes: each flow is on the list of one, and expires after that
// class's timeout without packets.
const (
	clsTCP     = iota // TCP, open
	clsClosing        // TCP, closed and lingering
	clsUDP
	clsICMP
	clsOther
	numClasses
)

// slot is the state of one flow in the table. Fields used by every packet
// come first.
type slot struct {
	k           key
	first, last int64 // timestamps of the first packet and the latest one
	queued      int64 // the time from which its expiry list counts it
	prev, next  int32 // neighbours on the expiry list; -1 at the ends
	cls         uint8
	used        bool
	flipped     bool // the initiator is endpoint b of the key
	closing     bool // TCP closed; lingering on clsClosing
	continued   bool
	labelDone   bool
	carries     packet.Kind
	labelN      [2]uint8 // payloads shown to the labeler per direction
	histLen     uint8
	seqN        uint16
	seqHead     int32 // first and last block of steps beyond the inline ones
	seqTail     int32
	icmpErrors  uint32
	id          uint64
	c           [2]dirCounters // [0] initiator, [1] responder
	tcp         [2]tcpDir
	hist        [histCap]byte
	seq         [inlineSteps]uint64
	lab         label.State
}

// dirCounters are the counters of one direction of a flow while it is in
// the table (see Counters).
type dirCounters struct {
	packets, ipBytes, payBytes         uint64
	flags                              TCPFlagCounts
	retrans, ooo, zeroWin, gaps, frags uint32
}

// Slots are allocated in pages, so that they never move and growing the
// table never copies them.
const (
	pageBits = 8
	pageSize = 1 << pageBits
)

// list is a doubly linked expiry list of slots, oldest first.
type list struct{ head, tail int32 }

// Stats counts what a Table has seen.
type Stats struct {
	// Packets counts the packets given to the table.
	Packets uint64
	// NonIP counts packets without an IP header: other protocols (ARP,
	// LLDP, ...), unsupported link types, or headers cut before the IP
	// header. Every other packet is accounted to exactly one flow (plus the
	// flows of the tunnels that carry it), or waits as a fragment.
	NonIP uint64
	// Tunnelled counts the accounts of tunnelled packets to the outer
	// flows of their tunnels (one per tunnel level).
	Tunnelled uint64
	// Flows counts the flow records emitted.
	Flows uint64
	// Active is the number of flows in the table; Peak the largest it
	// has been.
	Active, Peak int
	// Evicted counts flows ended because the table was full.
	Evicted uint64
	// Fragments counts IP fragments after the first of their datagram;
	// OrphanFragments those that could not be attributed to their flow
	// (the first fragment never came, or came after FragTimeout) and were
	// accounted to the flow of their addresses and protocol with ports 0.
	Fragments, OrphanFragments uint64
	// ICMPErrors counts ICMP error messages; ICMPErrorsMatched those whose
	// quoted packet belongs to a flow in the table (Flow.ICMPErrors).
	ICMPErrors, ICMPErrorsMatched uint64
	// OutOfTime counts packets older than the packet before them.
	OutOfTime uint64
	// Memory is the memory the table holds for flows, in bytes: slots,
	// index, sequence blocks, fragment state and tunnel contexts (not the
	// labeler's evidence).
	Memory int
	// Damage summarises the damage of the captures read by
	// ReadCapture and ReadFile (see package capture).
	Damage []capture.Damage
}

// Table meters packets into flows. Packets go in with Add or AddDecoded
// (or ReadCapture), in capture order; flow records come out through the
// emit function given to NewTable when they end, and all remaining ones at
// Flush.
//
// The table's clock is the timestamp of the packet being added: flows
// expire when a packet's time passes their deadline, so a capture is
// metered as it was recorded, however fast it is read. A packet older than
// the one before it expires nothing, and whether it still belongs to a
// flow is decided by its own time. A Table is not safe for concurrent use,
// and emit must not call its methods.
type Table struct {
	cfg     Config // effective settings
	emit    func(*Flow)
	seed    uint64
	idx     index
	pages   [][]slot
	free    []int32
	nslots  int32
	lists   [numClasses]list
	timeout [numClasses]int64 // nanoseconds; negative: never
	active  int64
	next    int64 // earliest time at which a list head may expire
	now     int64
	started bool
	nextID  uint64
	labelN  int
	seqs    seqStore
	frags   fragTable
	tun     tunnels
	pkt     packet.Packet
	out     Flow
	outSeq  []Step
	stats   Stats
}

// NewTable returns an empty table with the settings of cfg (zero fields take
// their defaults) that hands each finished flow to emit. A nil emit
// discards the flows (Stats still counts them). It returns an error
// wrapping ErrConfig for settings that cannot be used.
func NewTable(cfg Config, emit func(*Flow)) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Effective()
	t := &Table{
		cfg:    cfg,
		emit:   emit,
		seed:   rand.Uint64(),
		idx:    newIndex(),
		active: nsOrNever(cfg.Active),
		next:   math.MaxInt64,
		labelN: max(cfg.LabelPackets, 0),
		seqs:   newSeqStore(cfg.SeqLen),
	}
	t.timeout = [numClasses]int64{
		clsTCP: nsOrNever(cfg.IdleTCP), clsClosing: nsOrNever(cfg.Linger),
		clsUDP: nsOrNever(cfg.IdleUDP), clsICMP: nsOrNever(cfg.IdleICMP), clsOther: nsOrNever(cfg.IdleOther),
	}
	for i := range t.lists {
		t.lists[i] = list{-1, -1}
	}
	t.frags.init(nsOrNever(cfg.FragTimeout), cfg.MaxFrags)
	return t, nil
}

// nsOrNever converts a duration setting to nanoseconds, -1 for off.
func nsOrNever(d time.Duration) int64 {
	if d > 0 {
		return d.Nanoseconds()
	}
	return -1
}

// Config returns the effective settings of the table, to be recorded with
// its output.
func (t *Table) Config() Config { return t.cfg }

// Stats returns the counts so far.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Memory = t.memory()
	s.Damage = slices.Clone(s.Damage)
	return s
}

// Len returns the number of flows in the table.
func (t *Table) Len() int { return t.stats.Active }

// sizeofSlot is the size of a slot in bytes.
const sizeofSlot = int(unsafe.Sizeof(slot{}))

// memory returns the bytes held for flows.
func (t *Table) memory() int {
	return len(t.pages)*pageSize*sizeofSlot + cap(t.free)*4 + t.idx.bytes() + t.seqs.bytes() + t.frags.bytes() + t.tun.bytes()
}

// slot returns slot i.
func (t *Table) slot(i int32) *slot { return &t.pages[i>>pageBits][i&(pageSize-1)] }

// Add decodes a packet read from a capture and accounts it. Packets without
// a timestamp (pcapng simple packet blocks) take the time of the packet
// before them.
func (t *Table) Add(pkt capture.Packet) {
	ts := pkt.Timestamp
	if pkt.NoTimestamp {
		ts = t.now
	}
	// Decode errors only say where decoding stopped; what was decoded is
	// still used.
	_ = packet.Decode(&t.pkt, pkt.Data, uint32(pkt.LinkType))
	t.AddDecoded(ts, pkt.Data, &t.pkt)
}

// obs is what the flow update needs of one packet.
type obs struct {
	ts           int64
	ipLen        int
	payLen       int
	payload      []byte // captured payload, for the labeler
	sport, dport uint16 // the packet's own ports
	proto        uint8
	tcp          bool // seg is valid
	frag         bool
	carries      packet.Kind
	icmp         icmpInfo
	seg          tcpSegment
}

// AddDecoded accounts a packet that the caller decoded with packet.Decode
// into p; data holds its bytes and ts its time in nanoseconds since the
// Unix epoch. Neither data nor p is kept.
func (t *Table) AddDecoded(ts int64, data []byte, p *packet.Packet) {
	t.addDecoded(ts, data, p)
	if len(t.tun.fresh) > 0 {
		t.tun.settle()
	}
}

func (t *Table) addDecoded(ts int64, data []byte, p *packet.Packet) {
	t.stats.Packets++
	t.tick(ts)
	if p.Inner < 0 || p.Inner >= p.N {
		t.stats.NonIP++
		return
	}
	// The tunnels around the innermost IP header.
	nt := 0
	for nt < p.NTunnel && int(p.Tunnels[nt].Header) < p.Inner {
		nt++
	}
	if !t.cfg.InnerOnly {
		for i := 0; i < nt; i++ {
			t.addCarrier(ts, data, p, i)
		}
	}
	var k key
	if !t.baseKey(&k, data, p, p.Inner, nt, true) {
		t.stats.NonIP++
		return
	}
	o := obs{ts: ts, ipLen: p.IPLen, proto: p.Proto}
	for i := nt; i < p.NTunnel; i++ {
		if int(p.Tunnels[i].Outer) == p.Inner {
			o.carries = p.Tunnels[i].Kind // the tunnel's inner packet was not IP
		}
	}
	var fk key // the datagram's key for fragment attribution
	if f := p.Frag; f.Fragmented && (f.Offset > 0 || f.More) {
		o.frag = true
		if f.Offset > 0 {
			o.payLen = max(p.PayloadLen, 0)
			t.stats.Fragments++
			t.addFragment(&k, p.Frag, &o)
			return
		}
		fk = k
	}
	t.transport(&k, data, p, &o)
	icmpErr := p.L4 >= 0 && (o.proto == protoICMP || o.proto == protoICMPv6) &&
		isICMPError(o.proto == protoICMPv6, p.ICMPType)
	var ek key // the error message's key as sent, for its quote
	if icmpErr {
		ek = k
	}
	srcIsA := k.canon()
	i := t.account(&k, srcIsA, &o)
	if o.frag {
		t.firstFragment(&fk, srcIsA, p, &o, i)
	}
	if icmpErr {
		t.stats.ICMPErrors++
		t.quoted(&ek, data, p)
	}
}

// tick moves the clock to ts and expires what is due.
func (t *Table) tick(ts int64) {
	if t.started && ts < t.now {
		t.stats.OutOfTime++
	}
	t.now, t.started = ts, true
	if ts >= t.next {
		t.expire(ts)
	}
	if t.frags.due(ts) {
		t.expireFrags(ts)
	}
}

// baseKey fills the addresses and the context (VLANs, tunnel) of the key of
// the IP header at index ih, inside the first nt tunnels of p; the ports
// are left zero with the protocol. inner says ih is p.Inner, whose
// protocol and VLANs p reports directly.
func (t *Table) baseKey(k *key, data []byte, p *packet.Packet, ih, nt int, inner bool) bool {
	h := p.Headers[ih]
	var fam uint64
	switch h.Kind {
	case packet.IPv4:
		if h.Off+20 > len(data) {
			return false
		}
		k.a, k.b = addrWords(data[h.Off+12:h.Off+16]), addrWords(data[h.Off+16:h.Off+20])
	case packet.IPv6:
		if h.Off+40 > len(data) {
			return false
		}
		k.a, k.b = addrWords(data[h.Off+8:h.Off+24]), addrWords(data[h.Off+24:h.Off+40])
		fam = famV6
	default:
		return false
	}
	if inner {
		k.w0 = uint64(p.Proto)<<8 | fam
	} else {
		k.w0 = fam
	}
	if !t.cfg.MergeVLANs {
		if inner {
			k.w1 = uint64(p.VLAN[0]) | uint64(p.VLAN[1])<<16 | uint64(p.VLAN[2])<<32
		} else {
			n := 0
			for i := 0; i < ih && n < packet.MaxVLANs; i++ {
				if v := p.Headers[i]; v.Kind == packet.VLAN && !v.Partial && v.Off+2 <= len(data) {
					k.w1 |= uint64(binary.BigEndian.Uint16(data[v.Off:])&0x0fff) << (16 * n)
					n++
				}
			}
		}
	}
	if nt > 0 && !t.cfg.MergeTunnels {
		tu := p.Tunnels[nt-1]
		c := tunnelCtx{kind: tu.Kind, depth: uint8(min(nt, 255)), id: tu.ID}
		switch tu.Kind {
		case packet.GTPU:
			c.id = 0 // TEIDs differ by direction
		case packet.GRE:
			if g := p.Headers[tu.Header]; g.Kind == packet.GRE && g.Off+2 <= len(data) && data[g.Off+1]&7 == 1 {
				c.id = 0 // PPTP call IDs differ by direction
			}
		}
		var oa, ob [2]uint64
		switch o := p.Headers[tu.Outer]; o.Kind {
		case packet.IPv4:
			if o.Off+20 <= len(data) {
				oa, ob = addrWords(data[o.Off+12:o.Off+16]), addrWords(data[o.Off+16:o.Off+20])
			}
		case packet.IPv6:
			if o.Off+40 <= len(data) {
				oa, ob = addrWords(data[o.Off+8:o.Off+24]), addrWords(data[o.Off+24:o.Off+40])
				c.v6 = true
			}
		}
		c.lo, c.hi = oa, ob
		if ob[0] < oa[0] || ob[0] == oa[0] && ob[1] < oa[1] {
			c.lo, c.hi = ob, oa
			k.w1 |= oswapBit
		}
		k.w2 = uint64(t.tun.intern(&c))
	}
	return true
}

// setPorts stores the packet's own source and destination port in k
// (before canon orders the endpoints).
func (k *key) setPorts(sp, dp uint16) {
	k.w0 = k.w0&0xffffffff | uint64(sp)<<48 | uint64(dp)<<32
}

// transport fills the ports of k and the transport fields of o from the
// packet's transport header, or from the bytes of a transport header cut
// short by the capture.
func (t *Table) transport(k *key, data []byte, p *packet.Packet, o *obs) {
	ip := p.Headers[p.Inner]
	ipEnd := ip.Off + p.IPLen
	o.payLen = max(p.PayloadLen, 0)
	if p.Payload >= 0 {
		o.payload = p.PayloadBytes(data)
	}
	if p.L4 >= 0 {
		l4 := p.Headers[p.L4]
		switch o.proto {
		case protoTCP, protoUDP, protoSCTP:
			o.sport, o.dport = p.SrcPort, p.DstPort
			k.setPorts(p.SrcPort, p.DstPort)
			if o.proto == protoTCP {
				o.tcp = true
				o.seg = tcpSegment{flags: p.TCPFlags, seq: p.Seq, ack: p.Ack, len: o.payLen}
				if l4.Off+16 <= len(data) {
					o.seg.win, o.seg.winKnown = binary.BigEndian.Uint16(data[l4.Off+14:]), true
				}
			}
		case protoICMP, protoICMPv6:
			sp, dp, info := icmpPorts(o.proto == protoICMPv6, p.ICMPType, p.ICMPCode)
			o.icmp = info
			k.setPorts(sp, dp)
			if info.ident && l4.Off+6 <= len(data) {
				k.w0 |= uint64(binary.BigEndian.Uint16(data[l4.Off+4:])) << 16
			}
			// ICMP payload: whatever follows the 8-byte header, as
			// Zeek counts it.
			o.payLen = max(ipEnd-(l4.Off+8), 0)
		}
		return
	}
	// A transport header cut short: take what was captured of it.
	for i := p.Inner + 1; i < p.N; i++ {
		h := p.Headers[i]
		if h.Quoted {
			break
		}
		sp, dp, ok := h.Ports(data)
		if !ok {
			continue
		}
		o.sport, o.dport = sp, dp
		k.setPorts(sp, dp)
		avail := min(h.Len, len(data)-h.Off)
		switch {
		case h.Kind == packet.TCP && avail >= 14:
			b := data[h.Off:]
			o.tcp = true
			o.seg = tcpSegment{flags: b[13], seq: binary.BigEndian.Uint32(b[4:]), ack: binary.BigEndian.Uint32(b[8:])}
			if avail >= 16 {
				o.seg.win, o.seg.winKnown = binary.BigEndian.Uint16(b[14:]), true
			}
			o.payLen = max(ipEnd-(h.Off+int(b[12]>>4)*4), 0)
			o.seg.len = o.payLen
		case h.Kind == packet.UDP && avail >= 6:
			o.payLen = max(int(binary.BigEndian.Uint16(data[h.Off+4:]))-8, 0)
		}
		return
	}
}

// find looks k up and returns its slot number and the index position of
// its entry, or -1 and the empty position where it would go.
func (t *Table) find(k *key, tag uint32) (int32, uint32) {
	x := &t.idx
	pos := tag & x.mask
	for {
		e := x.e[pos]
		if e == 0 {
			return -1, pos
		}
		if uint32(e>>32) == tag {
			i := int32(uint32(e)) - 1
			if t.slot(i).k == *k {
				return i, pos
			}
		}
		pos = (pos + 1) & x.mask
	}
}

// account adds the packet described by o, whose source is endpoint a of the
// canonical key k when srcIsA, to its flow, creating or renewing the flow
// as needed, and returns the flow's slot number.
func (t *Table) account(k *key, srcIsA bool, o *obs) int32 {
	tag := tagOf(k.hash(t.seed))
	i, pos := t.find(k, tag)
	if i >= 0 {
		s := t.slot(i)
		if r := t.ended(s, o, srcIsA); r != 0 {
			t.end(i, r)
			i, pos = t.find(k, tag)
		}
	}
	if i < 0 {
		if t.stats.Active >= t.cfg.MaxFlows {
			t.evict()
			_, pos = t.find(k, tag)
		}
		i = t.create(k, pos, tag, o, srcIsA)
	}
	s := t.slot(i)
	if t.active >= 0 && o.ts-s.first > t.active && s.c[0].packets+s.c[1].packets > 0 {
		t.restart(i, o.ts)
	}
	dir := 0
	if srcIsA == s.flipped {
		dir = 1
	}
	t.update(i, s, dir, o)
	return i
}

// ended reports why the flow in s ends before the packet o, if it does: a
// linger or idle timeout passed since its last packet, or a TCP SYN opens a
// new connection on the ports of a closed one.
func (t *Table) ended(s *slot, o *obs, srcIsA bool) EndReason {
	gap := o.ts - s.last
	if s.closing {
		if to := t.timeout[clsClosing]; to >= 0 && gap > to {
			return s.closeReason()
		}
		if o.tcp && o.seg.flags&(flagSYN|flagACK) == flagSYN {
			dir := 0
			if srcIsA == s.flipped {
				dir = 1
			}
			if o.seg.seq != s.tcp[dir].isn {
				return s.closeReason()
			}
		}
		return 0
	}
	if to := t.timeout[s.cls]; to >= 0 && gap > to {
		return EndIdle
	}
	return 0
}

// closeReason is the end reason of a closed TCP flow.
func (s *slot) closeReason() EndReason {
	if s.tcp[0].state == tcpReset || s.tcp[1].state == tcpReset {
		return EndRST
	}
	return EndFIN
}

// classOf returns the expiry class of a new flow.
func classOf(proto uint8) uint8 {
	switch proto {
	case protoTCP:
		return clsTCP
	case protoUDP:
		return clsUDP
	case protoICMP, protoICMPv6:
		return clsICMP
	}
	return clsOther
}

// create adds a flow for key k at the empty index position pos, oriented by
// the initiator rule applied to its first packet o.
func (t *Table) create(k *key, pos, tag uint32, o *obs, srcIsA bool) int32 {
	var i int32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		if int(t.nslots) == len(t.pages)*pageSize {
			t.pages = append(t.pages, make([]slot, pageSize))
		}
		i = t.nslots
		t.nslots++
	}
	s := t.slot(i)
	*s = slot{k: *k, used: true, first: o.ts, last: o.ts, prev: -1, next: -1}
	t.nextID++
	s.id = t.nextID
	senderInit := initiatorIsSender(o)
	s.flipped = srcIsA != senderInit
	if !senderInit {
		s.letter(0, '^')
	}
	s.cls = classOf(o.proto)
	t.tun.ref(k.w2)
	t.idx.insertAt(pos, tag, i)
	t.push(i, s)
	t.stats.Active++
	t.stats.Peak = max(t.stats.Peak, t.stats.Active)
	return i
}

// initiatorIsSender applies the initiator rule to the first packet of a
// flow: it reports whether its sender initiated the flow (see the package
// documentation, section Initiator).
func initiatorIsSender(o *obs) bool {
	switch o.proto {
	case protoTCP:
		if !o.tcp || o.seg.flags&(flagSYN|flagACK) == flagSYN {
			return true
		}
		if likelyServer(o.sport) {
			if likelyServer(o.dport) {
				return o.seg.flags&flagSYN != 0 || o.sport >= o.dport
			}
			return false
		}
		return true
	case protoUDP, protoSCTP:
		return !(likelyServer(o.sport) && !likelyServer(o.dport))
	case protoICMP, protoICMPv6:
		return !o.icmp.reply
	}
	return true
}

// update accounts packet o, sent by direction dir, to the flow in slot i.
func (t *Table) update(i int32, s *slot, dir int, o *obs) {
	c := &s.c[dir]
	gap := int64(0)
	if s.c[0].packets+s.c[1].packets > 0 {
		gap = o.ts - s.last
	}
	c.packets++
	c.ipBytes += uint64(max(o.ipLen, 0))
	c.payBytes += uint64(o.payLen)
	if o.frag {
		c.frags++
	}
	if o.ts > s.last {
		s.last = o.ts
	} else if o.ts < s.first {
		s.first = o.ts
	}
	if o.carries != 0 {
		s.carries = o.carries
	}
	var flags uint8
	if o.tcp {
		flags = o.seg.flags
		for f := flags; f != 0; f &= f - 1 {
			c.flags[bits.TrailingZeros8(f)]++
		}
		if s.tcpPacket(dir, &o.seg) && !s.closing {
			t.close(i, s)
		}
	} else if o.proto == protoUDP {
		s.onceLetter(dir, histD, 'D')
	}
	if t.seqs.n > 0 {
		t.seqs.add(s, packStep(o.ipLen, o.payLen, flags, dir == 1, gap))
	}
	if t.labelN > 0 && !s.labelDone && len(o.payload) > 0 && int(s.labelN[dir]) < t.labelN && o.carries == 0 &&
		(o.proto == protoTCP || o.proto == protoUDP) {
		s.labelN[dir]++
		if s.lab.Observe(dir == 0, o.proto, o.sport, o.dport, o.payload) {
			s.labelDone = true
		}
	}
	if s.closing && t.timeout[clsClosing] < 0 {
		t.end(i, s.closeReason())
	}
}

// close moves a TCP flow that was just closed to the linger list.
func (t *Table) close(i int32, s *slot) {
	s.closing = true
	t.unlink(i, s)
	s.cls = clsClosing
	t.push(i, s)
}

// restart ends the record of the flow in slot i for the active timeout and
// starts a new one at time ts for the same flow, keeping its orientation
// and TCP state.
func (t *Table) restart(i int32, ts int64) {
	s := t.slot(i)
	t.emitSlot(s, EndActive)
	t.seqs.reset(s)
	t.nextID++
	s.id = t.nextID
	s.c = [2]dirCounters{}
	for d := range s.tcp {
		// The new record's stream starts where the old one's ended, as
		// if a SYN had just been sent.
		ep := &s.tcp[d]
		ep.seen = 0
		ep.bits &^= dirFIN
		if ep.rel > 0 {
			ep.isn += uint32(ep.rel) - 1
			ep.rel = 1
		}
	}
	s.histLen, s.icmpErrors = 0, 0
	s.continued, s.labelDone, s.labelN = true, false, [2]uint8{}
	s.lab = label.State{}
	s.first, s.last = ts, ts
}

// push appends slot i to the tail of its class's expiry list.
func (t *Table) push(i int32, s *slot) {
	l := &t.lists[s.cls]
	s.queued = s.last
	s.prev, s.next = l.tail, -1
	if l.tail >= 0 {
		t.slot(l.tail).next = i
	} else {
		l.head = i
		if to := t.timeout[s.cls]; to >= 0 {
			t.next = min(t.next, satAdd(s.queued, to))
		}
	}
	l.tail = i
}

// unlink removes slot i from its expiry list.
func (t *Table) unlink(i int32, s *slot) {
	l := &t.lists[s.cls]
	if s.prev >= 0 {
		t.slot(s.prev).next = s.next
	} else {
		l.head = s.next
	}
	if s.next >= 0 {
		t.slot(s.next).prev = s.prev
	} else {
		l.tail = s.prev
	}
	s.prev, s.next = -1, -1
}

// satAdd returns a+b, saturating at the int64 bounds.
func satAdd(a, b int64) int64 {
	c := a + b
	if (c > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return c
}

// expire ends the flows whose timeout passed at time now. A list is in the
// order its flows were queued, which is the order of their last packets
// except that a flow is not moved on every packet: when the head turns out
// to have seen packets since it was queued, it is queued again at its
// latest time. So each flow moves at most once per timeout, and a flow
// expires at most one timeout late, never early. Expiry only frees memory
// sooner: whether a packet starts a new flow is decided by its own gap
// (see ended).
func (t *Table) expire(now int64) {
	next := int64(math.MaxInt64)
	for c := range t.lists {
		to := t.timeout[c]
		if to < 0 {
			continue
		}
		l := &t.lists[c]
		for l.head >= 0 {
			i := l.head
			s := t.slot(i)
			if now-s.queued <= to {
				next = min(next, satAdd(s.queued, to))
				break
			}
			if now-s.last > to {
				r := EndIdle
				if c == clsClosing {
					r = s.closeReason()
				}
				t.end(i, r)
				continue
			}
			t.unlink(i, s)
			t.push(i, s)
		}
	}
	t.next = next
}

// evict ends the flow that has been idle the longest, to make room: the
// list head queued earliest, after requeueing heads that saw packets since
// they were queued.
func (t *Table) evict() {
	for {
		best, bestQ := int32(-1), int64(math.MaxInt64)
		for c := range t.lists {
			if h := t.lists[c].head; h >= 0 {
				if q := t.slot(h).queued; best < 0 || q < bestQ {
					best, bestQ = h, q
				}
			}
		}
		if best < 0 {
			return
		}
		s := t.slot(best)
		if s.last > s.queued {
			t.unlink(best, s)
			t.push(best, s)
			continue
		}
		t.stats.Evicted++
		t.end(best, EndEvicted)
		return
	}
}

// end emits the flow in slot i with reason r and removes it.
func (t *Table) end(i int32, r EndReason) {
	s := t.slot(i)
	t.emitSlot(s, r)
	t.unlink(i, s)
	t.idx.remove(tagOf(s.k.hash(t.seed)), i)
	t.tun.unref(s.k.w2)
	t.seqs.reset(s)
	s.used = false
	s.lab = label.State{}
	t.free = append(t.free, i)
	t.stats.Active--
}

// emitSlot hands the record of slot s to the emit function.
func (t *Table) emitSlot(s *slot, r EndReason) {
	t.stats.Flows++
	if t.emit == nil {
		return
	}
	f := &t.out
	f.ID = s.id
	f.Key = s.k.export(s.flipped, &t.tun)
	f.Start, f.End = s.first, s.last
	proto := s.k.proto()
	for d, c := range []*Counters{&f.Orig, &f.Resp} {
		sc, tc := &s.c[d], &s.tcp[d]
		*c = Counters{
			Packets: sc.packets, IPBytes: sc.ipBytes, PayloadBytes: sc.payBytes, StreamBytes: sc.payBytes,
			Flags: sc.flags, Retransmits: sc.retrans, OutOfOrder: sc.ooo, ZeroWindows: sc.zeroWin,
			Gaps: sc.gaps, Fragments: sc.frags, ISN: tc.isn,
		}
		if proto == protoTCP {
			c.StreamBytes = tc.streamBytes(&s.tcp[1-d])
		}
	}
	f.ICMPErrors = s.icmpErrors
	f.Carries = s.carries
	f.Reason = r
	f.Continued = s.continued
	f.Label = label.Label{}
	if t.labelN > 0 && s.carries == 0 && (proto == protoTCP || proto == protoUDP) {
		f.Label = s.lab.Result(proto, f.Key.SrcPort, f.Key.DstPort)
	}
	f.Seq = nil
	if t.seqs.n > 0 {
		t.outSeq = t.seqs.appendSteps(t.outSeq[:0], s)
		f.Seq = t.outSeq
	}
	f.hist, f.histLen = s.hist, s.histLen
	f.tcpState = [2]uint8{s.tcp[0].state, s.tcp[1].state}
	t.emit(f)
}

// streamBytes computes Zeek's size of a TCP endpoint: the sequence space
// from its initial sequence number to the higher of its last sequence number
// and the peer's acknowledgment, less the SYN and the FIN.
func (d *tcpDir) streamBytes(peer *tcpDir) uint64 {
	if d.bits&(dirStarted|dirAcked) == 0 {
		return 0
	}
	if d.prev == tcpSynSent && d.state == tcpReset && peer.state == tcpInactive {
		return 0 // a SYN answered by nothing and then reset
	}
	span := d.rel
	if last := d.isn + uint32(span); d.bits&dirAcked != 0 && after(d.acked, last) {
		span += uint64(d.acked - last)
	}
	if span > 0 {
		span-- // the SYN, or the place of a SYN not seen
	}
	if d.bits&dirFIN != 0 && span > 0 {
		span--
	}
	return span
}

// Flush ends every flow in the table with reason EndFlush (a closed TCP flow
// still lingering ends with EndFIN or EndRST), in the order the flows were
// created, after accounting fragments still waiting for their first
// fragment. The table stays usable.
func (t *Table) Flush() {
	t.flushFrags()
	order := make([]int32, 0, t.stats.Active)
	for i := int32(0); i < t.nslots; i++ {
		if t.slot(i).used {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(t.slot(a).id, t.slot(b).id) })
	for _, i := range order {
		r := EndFlush
		if s := t.slot(i); s.closing {
			r = s.closeReason()
		}
		t.end(i, r)
	}
	t.next = math.MaxInt64
}

// Advance moves the table's clock to ts (nanoseconds since the Unix epoch)
// without a packet, ending the flows whose timeouts pass, for live input
// that falls silent.
func (t *Table) Advance(ts int64) {
	if ts > t.now || !t.started {
		t.tick(ts)
	}
}

// addCarrier accounts a tunnelled packet to the outer flow of tunnel ti.
func (t *Table) addCarrier(ts int64, data []byte, p *packet.Packet, ti int) {
	tu := p.Tunnels[ti]
	ih := int(tu.Outer)
	if ih >= p.N {
		return
	}
	var k key
	if !t.baseKey(&k, data, p, ih, ti, false) {
		return
	}
	ip := p.Headers[ih]
	o := obs{ts: ts, carries: tu.Kind, ipLen: ipLength(data, ip)}
	payOff := -1
	switch tu.Kind {
	case packet.VXLAN, packet.Teredo, packet.GTPU:
		u := int(tu.Header) - 1
		if u < 0 || p.Headers[u].Kind != packet.UDP {
			return
		}
		sp, dp, _ := p.Headers[u].Ports(data)
		o.proto, o.sport, o.dport = protoUDP, sp, dp
		k.setPorts(sp, dp)
		payOff = p.Headers[u].Off + 8
	case packet.GRE:
		o.proto = protoGRE
		payOff = p.Headers[tu.Header].End()
	default: // IP in IP: the encapsulated IP header follows
		o.proto = protoIPv4
		for j := ih + 1; j < p.N; j++ {
			if kd := p.Headers[j].Kind; kd == packet.IPv4 || kd == packet.IPv6 {
				if kd == packet.IPv6 {
					o.proto = protoIPv6
				}
				payOff = p.Headers[j].Off
				break
			}
		}
	}
	k.w0 |= uint64(o.proto) << 8
	if payOff >= 0 {
		o.payLen = max(ip.Off+o.ipLen-payOff, 0)
	}
	t.stats.Tunnelled++
	srcIsA := k.canon()
	t.account(&k, srcIsA, &o)
}

// ipLength returns the length of the IP packet whose header is h, by its
// length field, or by the captured bytes when that field is 0.
func ipLength(data []byte, h packet.Header) int {
	switch h.Kind {
	case packet.IPv4:
		if n := int(binary.BigEndian.Uint16(data[h.Off+2:])); n > 0 {
			return n
		}
	case packet.IPv6:
		if n := int(binary.BigEndian.Uint16(data[h.Off+4:])); n > 0 {
			return 40 + n
		}
	}
	return len(data) - h.Off
}

// quoted counts an ICMP error message in the flow of the packet it quotes,
// if that flow is in the table. k is the key of the error message as sent
// (not canonical), whose context (VLANs, tunnel) the quoted packet shares:
// the quoted packet was sent from the error's destination side, so its
// side of the tunnel is the other one.
func (t *Table) quoted(k *key, data []byte, p *packet.Packet) {
	if p.Quote < 0 {
		return
	}
	ih := -1
	for i := p.Quote; i < p.N; i++ {
		h := p.Headers[i]
		if h.Quoted && !h.Partial && (h.Kind == packet.IPv4 || h.Kind == packet.IPv6) {
			ih = i
			break
		}
	}
	if ih < 0 {
		return
	}
	q := key{w1: k.w1, w2: k.w2}
	if q.w2 != 0 {
		q.w1 ^= oswapBit
	}
	h := p.Headers[ih]
	var fam uint64
	var proto uint8
	if h.Kind == packet.IPv4 {
		q.a, q.b = addrWords(data[h.Off+12:h.Off+16]), addrWords(data[h.Off+16:h.Off+20])
		proto = data[h.Off+9]
	} else {
		q.a, q.b = addrWords(data[h.Off+8:h.Off+24]), addrWords(data[h.Off+24:h.Off+40])
		proto = data[h.Off+6]
		fam |= famV6
	}
	var sp, dp uint16
	for i := ih + 1; i < p.N; i++ {
		l := p.Headers[i]
		if !l.Quoted {
			break
		}
		switch l.Kind {
		case packet.TCP, packet.UDP, packet.SCTP:
			sp, dp, _ = l.Ports(data)
			proto = protoSCTP
			if l.Kind == packet.TCP {
				proto = protoTCP
			} else if l.Kind == packet.UDP {
				proto = protoUDP
			}
		case packet.ICMPv4, packet.ICMPv6:
			if l.Off+2 > len(data) {
				continue
			}
			v6 := l.Kind == packet.ICMPv6
			proto = protoICMP
			if v6 {
				proto = protoICMPv6
			}
			var info icmpInfo
			sp, dp, info = icmpPorts(v6, data[l.Off], data[l.Off+1])
			if info.ident && l.Off+6 <= len(data) {
				q.w0 |= uint64(binary.BigEndian.Uint16(data[l.Off+4:])) << 16
			}
		default:
			continue
		}
		break
	}
	q.w0 |= uint64(proto)<<8 | fam
	q.setPorts(sp, dp)
	q.canon()
	if i, _ := t.find(&q, tagOf(q.hash(t.seed))); i >= 0 {
		t.slot(i).icmpErrors++
		t.stats.ICMPErrorsMatched++
	}
}

// String describes the table's state for debugging: flows held and
// memory.
func (t *Table) String() string {
	return fmt.Sprintf("flow.Table{flows: %d, memory: %d bytes}", t.stats.Active, t.memory())
}
