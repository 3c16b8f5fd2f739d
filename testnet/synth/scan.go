package synth

import (
	"net/netip"
)

// topPorts are the TCP ports that a scanner tries first (after nmap's
// list of the most common ones).
var topPorts = []uint16{
	7, 9, 13, 21, 22, 23, 25, 26, 37, 53, 79, 80, 81, 88, 106, 110, 111, 113, 119, 135, 139, 143, 144, 179,
	199, 389, 427, 443, 444, 445, 465, 513, 514, 515, 543, 544, 548, 554, 587, 631, 646, 873, 990, 993,
	995, 1025, 1026, 1027, 1028, 1029, 1110, 1433, 1720, 1723, 1755, 1900, 2000, 2001, 2049, 2121, 2717,
	3000, 3128, 3306, 3389, 3986, 4899, 5000, 5009, 5051, 5060, 5101, 5190, 5357, 5432, 5631, 5666, 5800,
	5900, 6000, 6001, 6646, 7000, 7070, 8000, 8008, 8009, 8080, 8081, 8443, 8888, 9100, 9999, 10000,
	32768, 49152, 49153, 49154, 49155, 49156, 49157,
}

// sweepPorts are the ports of a horizontal scan for remote access and
// file sharing services.
var sweepPorts = []uint16{22, 23, 80, 443, 445, 3389, 5900, 8080}

// openPorts are the ports on which the client hosts of each system
// listen.
var openPorts = [...][]uint16{
	osWindows: {135, 139, 445, 5040},
	osMac:     {5000, 7000},
	osLinux:   {22},
}

// probeTarget is one scanned address and what answers for it.
type probeTarget struct {
	addr    netip.Addr
	mac     [6]byte
	ttl     uint8
	delay   int64 // round trip from the capture point
	open    []uint16
	drop    bool   // a firewall drops probes of closed ports
	chances [2]int // sweeps: per mille of RST and of SYN-ACK answers
	synWin  uint16 // window of its SYN-ACK
	prof    tcpProfile
}

// scan writes a TCP SYN scan of about budget packets: an external scanner
// probing many ports of a few internal hosts, or (internal) an internal
// host sweeping a few ports across many external addresses. Closed ports
// answer with RST, open ones with SYN-ACK (which the scanner resets),
// filtered ones not at all (and the scanner tries once more).
//
// Probes start no later than end: a scan that would run past it probes
// faster, and stops there.
func (g *gen) scan(s *session, start int64, budget int, internal bool, end int64) {
	r := g.r
	c := &g.conn
	*c = conn{g: g, s: s, t: start}
	sc := &c.ep[0]
	var targets []probeTarget
	var ports []uint16
	if internal {
		h := &g.hosts[r.IntN(len(g.hosts))]
		for i := range g.hosts {
			if g.hosts[i].os == osLinux {
				h = &g.hosts[i]
				break
			}
		}
		sc.addr, sc.mac, sc.ttl = addrBytes(h.v4), h.mac, h.ttl
		sc.port = uint16(20000 + r.IntN(12000)) // below every host's ephemeral range
		g.addAddr(h.v4)
		ports = sweepPorts
		n := max(budget/len(ports), 1)
		taken := map[netip.Addr]bool{}
		for range min(n, int(min(capacity(g.cfg.Servers), 1<<20))) {
			a := randomAddr(r, g.cfg.Servers)
			if taken[a] {
				continue
			}
			taken[a] = true
			targets = append(targets, probeTarget{
				addr: a, mac: g.gw, ttl: uint8(40 + r.IntN(20)), delay: ms(logUniform(r, 8, 160)),
				chances: [2]int{150 + r.IntN(200), 20 + r.IntN(60)}, synWin: 64240, prof: profServer,
			})
		}
	} else {
		sc.addr, sc.mac, sc.ttl = addrBytes(g.w.scanner), g.gw, uint8(37+r.IntN(20))
		sc.port = uint16(32768 + r.IntN(32000))
		g.addAddr(g.w.scanner)
		n := min(1+r.IntN(3), len(g.hosts))
		dropAll := true
		for _, i := range r.Perm(len(g.hosts))[:n] {
			h := &g.hosts[i]
			// Host firewalls (most Windows hosts, some Macs) drop
			// probes of closed ports.
			drop := h.os == osWindows && r.IntN(10) < 7 || h.os == osMac && r.IntN(2) == 0
			dropAll = dropAll && drop
			targets = append(targets, probeTarget{
				addr: h.v4, mac: h.mac, ttl: h.ttl, delay: h.lan, open: openPorts[h.os],
				drop: drop, synWin: 64240, prof: h.prof,
			})
		}
		targets[len(targets)-1].drop = targets[len(targets)-1].drop && !dropAll
		ports = append(ports, topPorts...)
		r.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
		// More ports than the list when the budget allows.
		want := budget / (2 * len(targets))
		seen := map[uint16]bool{}
		for _, p := range ports {
			seen[p] = true
		}
		for len(ports) < min(want, 60000) {
			p := uint16(1 + r.IntN(65535))
			if !seen[p] {
				seen[p] = true
				ports = append(ports, p)
			}
		}
	}
	sc.mss, sc.synWin, sc.prof = 1460, 1024, profScan
	c.wan, c.lan = 0, 0
	rate := ms(logUniform(r, 0.3, 4)) // mean time between probes
	if probes := int64(max(budget*2/3, 1)); start+rate*probes > end {
		rate = max((end-start)/probes, 2000)
	}
	written := 0
	for pi := 0; written < budget && pi < len(ports)*len(targets); pi++ {
		var tg *probeTarget
		var port uint16
		if internal {
			tg, port = &targets[pi/len(ports)], ports[pi%len(ports)]
		} else {
			tg, port = &targets[pi%len(targets)], ports[pi/len(targets)]
		}
		g.addAddr(tg.addr)
		t := &c.ep[1]
		t.addr, t.mac, t.ttl, t.port = addrBytes(tg.addr), tg.mac, tg.ttl, port
		t.ipid, t.mss, t.synWin, t.prof = uint16(r.Uint32()), 1460, tg.synWin, tg.prof
		t.seq, t.ts, sc.ts = r.Uint32(), false, false
		sc.seq, sc.ipid = r.Uint32(), uint16(r.Uint32())
		c.t += rate/2 + c.jitter(rate)
		if c.t > end {
			if written > 0 {
				break
			}
			c.t = end
		}
		probe := c.t
		c.tcp(0, fSYN, nil)
		written++
		open := false
		for _, p := range tg.open {
			open = open || p == port
		}
		answer := 0 // 0 none, 1 RST, 2 SYN-ACK
		switch {
		case open:
			answer = 2
		case internal:
			switch x := r.IntN(1000); {
			case x < tg.chances[1]:
				answer = 2
			case x < tg.chances[0]+tg.chances[1]:
				answer = 1
			}
		case !tg.drop:
			answer = 1
		}
		c.t = probe + tg.delay + c.jitter(200e3)
		switch answer {
		case 0:
			// The scanner tries once more after its timeout. The packet
			// is late: the session sorts its packets before writing.
			c.t = probe + ms(logUniform(r, 500, 1500))
			sc.seq--
			c.tcp(0, fSYN, nil)
			written++
		case 1:
			c.tcpSeg(1, fRST|fACK, nil, sc.seq)
			written++
		case 2:
			c.tcp(1, fSYN|fACK, nil)
			c.t += c.jitter(100e3)
			c.tcpSeg(0, fRST, nil, 0)
			written += 2
		}
		c.t = probe
		g.flows[kScan]++
	}
}
