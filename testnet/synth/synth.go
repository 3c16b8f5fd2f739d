package synth

import (
	"container/heap"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/flowfed/flowfed/share/capture"
)

// Summary describes a written capture.
type Summary struct {
	// Packets is the number of packets written.
	Packets int
	// Flows is the number of flows (5-tuples) written: one per DNS, NTP,
	// QUIC, HTTP, TLS or SSH exchange, one per port probed by a scan.
	Flows int
	// ByKind counts the flows of each kind present (see [Kinds]).
	ByKind map[string]int
	// Addrs is every IP address written, in headers and in DNS answers,
	// sorted and without repeats.
	Addrs []netip.Addr
	// Names is every DNS name written (questions, answers, server names
	// of TLS and QUIC, HTTP hosts), sorted and without repeats.
	Names []string
}

// Write writes a synthetic capture of cfg to w as a classic pcap file
// (Ethernet, nanosecond time stamps) and describes it. The same cfg gives
// the same bytes. It returns an error wrapping [ErrInvalidConfig] for an
// invalid cfg (nothing is written then), or the error of w.
func Write(w io.Writer, cfg Config) (Summary, error) {
	n, err := cfg.normalize()
	if err != nil {
		return Summary{}, err
	}
	return run(w, &n, (*gen).generate)
}

// WriteFile writes the capture of cfg to the file path, through a
// temporary file in the same directory that is renamed to path once
// complete, so that path never holds a partial capture. An existing file
// at path is replaced.
func WriteFile(path string, cfg Config) (Summary, error) {
	n, err := cfg.normalize()
	if err != nil {
		return Summary{}, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return Summary{}, fmt.Errorf("creating synthetic capture: %w", err)
	}
	tmp := f.Name()
	sum, err := run(f, &n, (*gen).generate)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing synthetic capture: %w", cerr)
	}
	if err == nil {
		if err = os.Rename(tmp, path); err != nil {
			err = fmt.Errorf("writing synthetic capture: %w", err)
		}
	}
	if err != nil {
		os.Remove(tmp)
		return Summary{}, err
	}
	return sum, nil
}

// gen is the state of one synthesis.
type gen struct {
	cfg      *normalized
	r        *rand.Rand
	w        *world
	hosts    []host
	cumHosts []float64
	gw       [6]byte // MAC address of the organisation's router
	epoch    int64   // cfg.Start in ns
	out      *capture.PcapWriter
	err      error

	queue  sessionHeap
	free   []*session
	chunks [][]byte // free packet buffers
	nextID uint64
	conn   conn       // the connection being built
	exts   extBuilder // the extensions of the ClientHello being built

	addrs   map[netip.Addr]struct{}
	names   map[string]struct{}
	flows   [numKinds + 1]int
	packets int
	scratch []byte // messages under construction
	tmp     []byte // a second buffer for nested construction
	tmp2    []byte // a third
}

// meanPackets is about how many packets a session of each kind writes
// with unlimited budget: it turns the Mix (shares of packets) into the
// probabilities of starting a session of each kind.
var meanPackets = [numKinds]float64{
	kDNS:  3.3,
	kHTTP: 85,
	kTLS:  86,
	kSSH:  300,
	kNTP:  3.8,
	kQUIC: 87,
	kScan: 300,
}

func newGen(cfg *normalized) *gen {
	g := &gen{
		cfg:   cfg,
		r:     rand.New(rand.NewPCG(cfg.Seed, 0x666c6f7766656421)),
		epoch: cfg.Start.UnixNano(),
		addrs: map[netip.Addr]struct{}{},
		names: map[string]struct{}{},
	}
	g.w = newWorld(cfg)
	g.hosts = newHosts(g.r, cfg)
	sum := 0.0
	for i := range g.hosts {
		sum += g.hosts[i].activities
		g.cumHosts = append(g.cumHosts, sum)
	}
	g.gw = randomMAC(g.r)
	return g
}

// run writes the capture of a normalized configuration with the sessions
// that fill writes.
func run(w io.Writer, cfg *normalized, fill func(*gen)) (Summary, error) {
	initTables()
	pw, err := capture.NewPcapWriter(w, capture.LinkTypeEthernet, 0, true)
	if err != nil {
		return Summary{}, fmt.Errorf("writing synthetic capture: %w", err)
	}
	g := newGen(cfg)
	g.out = pw
	fill(g)
	for g.err == nil && len(g.queue) > 0 {
		g.writeNext()
	}
	if g.err != nil {
		return Summary{}, fmt.Errorf("writing synthetic capture: %w", g.err)
	}
	if err := pw.Flush(); err != nil {
		return Summary{}, fmt.Errorf("writing synthetic capture: %w", err)
	}
	return g.summary(), nil
}

func (g *gen) summary() Summary {
	s := Summary{Packets: g.packets, ByKind: map[string]int{}}
	for k, n := range g.flows {
		s.Flows += n
		if n > 0 && k < int(numKinds) {
			s.ByKind[kindNames[k]] = n
		}
	}
	for a := range g.addrs {
		s.Addrs = append(s.Addrs, a)
	}
	slices.SortFunc(s.Addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	for n := range g.names {
		s.Names = append(s.Names, n)
	}
	slices.Sort(s.Names)
	return s
}

// scanPlan is a scan to start once the other traffic has filled the
// fraction at of its share.
type scanPlan struct {
	at       float64
	budget   int
	internal bool // an internal host scans outwards
}

// generate writes sessions of the configured mix until the packet count
// is reached.
func (g *gen) generate() {
	target := g.cfg.Packets
	r := g.r
	// Scans: one or two scanners, each one burst, at random moments.
	var scans []scanPlan
	if budget := int(g.cfg.mix[kScan] * float64(target)); budget >= 12 {
		n := 1
		if budget >= 400 && r.IntN(2) == 0 {
			n = 2
		}
		for i := range n {
			at := 0.05 + 0.8*r.Float64()
			p := scanPlan{at: at, budget: budget / n, internal: i == 1}
			if p.internal {
				// A sweep probes each address of Servers at most once
				// per port: the external scan takes the rest.
				p.budget = int(min(uint64(p.budget), capacity(g.cfg.Servers)*uint64(len(sweepPorts))))
				scans[0].budget = budget - p.budget
			}
			scans = append(scans, p)
		}
		slices.SortFunc(scans, func(a, b scanPlan) int { return cmpFloat(a.at, b.at) })
	}
	// Other kinds: the chance of a session is the kind's share of the
	// packets over its packets per session.
	var cum []float64
	sum := 0.0
	for k := range kScan {
		sum += g.cfg.mix[k] / meanPackets[k]
		cum = append(cum, sum)
	}
	// Every kind with a weight appears at least once, at a random
	// moment, when the capture is large enough for it.
	var due [kScan]int
	for k := range kScan {
		due[k] = -1
		if g.cfg.mix[k] > 0 && float64(target)*g.cfg.mix[k] >= max(2, meanPackets[k]/4) {
			due[k] = int(float64(target) * 0.9 * r.Float64())
		}
	}
	// Flows start evenly by volume: a session starts when the traffic
	// before it (scans left out, as they run alongside) has filled its
	// share of the duration.
	scanTotal := 0
	for _, p := range scans {
		scanTotal += p.budget
	}
	paced := max(target-scanTotal, 1)
	avgSession := 0.0 // packets of a session, on average
	if sum > 0 {
		avgSession = (1 - g.cfg.mix[kScan]) / sum
	}
	total, other, prev := 0, 0, g.epoch
	span := float64(g.cfg.Duration)
	for total < target && g.err == nil {
		remaining := target - total
		var k kind
		var plan *scanPlan
		switch {
		case len(scans) > 0 && (float64(other) >= scans[0].at*float64(paced) || sum == 0):
			plan = &scans[0]
			scans = scans[1:]
			k = kScan
		case sum == 0:
			// Only scans were asked for and they fell short: more of
			// the same.
			plan = &scanPlan{budget: remaining, internal: g.r.IntN(2) == 0}
			k = kScan
		default:
			k = kind(weighted(r, cum))
			for d := range kScan {
				if due[d] >= 0 && total >= due[d] {
					k = d
					break
				}
			}
		}
		if k < kScan {
			due[k] = -1
		}
		// A random place in the slot of an average session; sessions
		// keep their order, a little apart.
		pos := float64(other)
		if k != kScan {
			pos += r.Float64() * min(avgSession, max(float64(paced-other), 0))
		}
		if sum == 0 {
			pos, paced = float64(total), target
		}
		end := g.epoch + int64(span)
		start := g.epoch + int64(span*min(pos/float64(paced), 1))
		switch {
		case start <= prev && prev < end:
			start = min(prev+1+r.Int64N(1e6), end)
		case start <= prev:
			start = prev + 1 // the last flows of an overshoot
		}
		prev = start
		s := g.newSession()
		switch k {
		case kDNS:
			g.dns(s, start)
		case kHTTP:
			g.http(s, start, remaining)
		case kTLS:
			g.tls(s, start, remaining)
		case kSSH:
			g.ssh(s, start, remaining)
		case kNTP:
			g.ntp(s, start)
		case kQUIC:
			g.quic(s, start, remaining)
		case kScan:
			g.scan(s, start, min(plan.budget, max(remaining, 12)), plan.internal, end)
		}
		total += len(s.pk)
		if k != kScan {
			other += len(s.pk)
		} else if sum > 0 {
			// The scan may have written less than its share: pace the
			// rest of the traffic over what remains.
			paced = max(paced+plan.budget-len(s.pk), 1)
		}
		g.push(s, start)
	}
}

// newSession returns an empty session.
func (g *gen) newSession() *session {
	var s *session
	if n := len(g.free); n > 0 {
		s, g.free = g.free[n-1], g.free[:n-1]
	} else {
		s = new(session)
	}
	g.nextID++
	s.id, s.pk, s.next = g.nextID, s.pk[:0], 0
	return s
}

// chunk returns an empty packet buffer.
func (g *gen) chunk() []byte {
	if n := len(g.chunks); n > 0 {
		c := g.chunks[n-1]
		g.chunks = g.chunks[:n-1]
		return c[:0]
	}
	return make([]byte, 0, chunkSize)
}

// release returns a written session and its buffers for reuse.
func (g *gen) release(s *session) {
	for i, c := range s.chunks {
		g.chunks = append(g.chunks, c)
		s.chunks[i] = nil
	}
	s.chunks = s.chunks[:0]
	g.free = append(g.free, s)
}

// push queues a generated session whose packets start at start, after
// writing every queued packet that comes before it: later sessions start
// later, so those packets are final.
func (g *gen) push(s *session, start int64) {
	for g.err == nil && len(g.queue) > 0 && g.queue[0].pk[g.queue[0].next].ts < start {
		g.writeNext()
	}
	if len(s.pk) == 0 {
		g.release(s)
		return
	}
	// Sessions write their packets in time order; a scan's late
	// retransmissions are the exception.
	if !slices.IsSortedFunc(s.pk, func(a, b pkt) int { return cmpInt64(a.ts, b.ts) }) {
		slices.SortStableFunc(s.pk, func(a, b pkt) int { return cmpInt64(a.ts, b.ts) })
	}
	heap.Push(&g.queue, s)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeNext writes the earliest queued packet.
func (g *gen) writeNext() {
	s := g.queue[0]
	p := s.pk[s.next]
	g.err = g.out.WritePacket(capture.Packet{Data: s.data(p), Timestamp: p.ts, OrigLen: int(p.n)})
	g.packets++
	s.next++
	if s.next == len(s.pk) {
		heap.Pop(&g.queue)
		g.release(s)
		return
	}
	heap.Fix(&g.queue, 0)
}

// sessionHeap orders sessions by the time of their next packet.
type sessionHeap []*session

func (h sessionHeap) Len() int { return len(h) }
func (h sessionHeap) Less(i, j int) bool {
	a, b := h[i].pk[h[i].next].ts, h[j].pk[h[j].next].ts
	return a < b || a == b && h[i].id < h[j].id
}
func (h sessionHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *sessionHeap) Push(x any) {
	s := x.(*session)
	s.index = len(*h)
	*h = append(*h, s)
}
func (h *sessionHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}

// pickHost returns a random client host, the busy ones more often.
func (g *gen) pickHost() *host { return &g.hosts[weighted(g.r, g.cumHosts)] }

// addAddr records an address as written.
func (g *gen) addAddr(a netip.Addr) {
	if a.IsValid() {
		g.addrs[a] = struct{}{}
	}
}

// addName records a name as written.
func (g *gen) addName(n string) { g.names[n] = struct{}{} }

// useV6 decides whether a session between h and srv runs over IPv6.
func (g *gen) useV6(h *host, srv *server) bool {
	return h.v6.IsValid() && srv.v6.IsValid() && g.r.IntN(100) < 35
}

// outbound returns a connection from host h to port dport of server srv,
// starting at start, whose packets go to s.
func (g *gen) outbound(s *session, start int64, h *host, srv *server, v6 bool, dport uint16) *conn {
	r := g.r
	c := &g.conn
	*c = conn{g: g, s: s, t: start, v6: v6}
	cl, sv := &c.ep[0], &c.ep[1]
	cl.mac, sv.mac = h.mac, g.gw
	ca, sa := h.v4, srv.v4
	if v6 {
		ca, sa = h.v6, srv.v6
	}
	g.addAddr(ca)
	g.addAddr(sa)
	cl.addr, sv.addr = addrBytes(ca), addrBytes(sa)
	cl.port, sv.port = h.nextPort(r), dport
	cl.ttl, sv.ttl = h.ttl, srv.ttl
	if h.os == osWindows {
		cl.ipid = h.ipid
		h.ipid += uint16(16 + r.IntN(64)) // other traffic of the host
	} else {
		cl.ipid = uint16(r.Uint32())
	}
	sv.ipid = uint16(r.Uint32())
	cl.flow, sv.flow = r.Uint32()&0xfffff|1, r.Uint32()&0xfffff|1
	cl.seq, sv.seq = r.Uint32(), r.Uint32()
	cl.prof, sv.prof = h.prof, profServer
	cl.win, sv.win = h.tcpWin, []uint16{501, 502, 509, 1026, 2047, 235}[r.IntN(6)]
	cl.synWin, sv.synWin = 64240, 65160
	if h.os == osMac {
		cl.synWin = 65535
	}
	cl.mss, sv.mss = h.mss, 1460
	if v6 {
		cl.mss, sv.mss = h.mss-20, 1440
	}
	if r.IntN(4) == 0 {
		sv.mss -= uint16(20 * (1 + r.IntN(4))) // tunnels and CDNs clamp the MSS
	}
	cl.tsBase, sv.tsBase = h.tsBase, r.Uint32()
	c.wan = int64(float64(srv.wan) * (0.9 + 0.3*r.Float64()))
	c.lan = int64(float64(h.lan) * (0.8 + 0.5*r.Float64()))
	c.nsPerByte[0] = 2 * h.nsPerByte
	c.nsPerByte[1] = max(srv.nsPerByte, h.nsPerByte)
	return c
}

// ms returns a duration in ns.
func ms(v float64) int64 { return int64(v * float64(time.Millisecond)) }
