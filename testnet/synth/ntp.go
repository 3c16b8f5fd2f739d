package synth

import "encoding/binary"

// ntpEpochOffset is the number of seconds from 1900 (NTP's era 0) to 1970.
const ntpEpochOffset = 2208988800

// appendNTPTime appends t (ns since 1970) as an NTP timestamp.
func appendNTPTime(b []byte, t int64) []byte {
	sec := uint64(t/1e9) + ntpEpochOffset
	frac := uint64(t%1e9) << 32 / 1e9
	return binary.BigEndian.AppendUint64(b, sec<<32|frac)
}

// ntpRefIDs are reference identifiers of stratum 1 servers.
var ntpRefIDs = []string{"GPS\x00", "PPS\x00", "PTP\x00", "GNSS"}

// ntp writes an NTPv4 client exchange with a server on port 123: one
// request and its response, or the four of an iburst two seconds apart.
func (g *gen) ntp(s *session, start int64) {
	r := g.r
	h := g.pickHost()
	i := r.IntN(len(g.w.ntp))
	srv := &g.w.servers[g.w.ntp[i]]
	v6 := h.v6.IsValid() && srv.v6.IsValid() && r.IntN(10) < 3
	c := g.outbound(s, start, h, srv, v6, 123)
	polls := 1
	if r.IntN(10) < 3 {
		polls = 4
	}
	poll := byte(6 + r.IntN(5))
	precision := byte(0xe6 + r.IntN(5)) // 2^-26 to 2^-22 s
	offset := ms(r.Float64()*20 - 10)   // the server's clock against the host's
	refID := ntpRefIDs[g.w.ntp[i]%len(ntpRefIDs)]
	for k := range polls {
		if k > 0 {
			c.t += 2e9 + c.jitter(50e6)
		}
		b := append(g.scratch[:0], 0x23, 0, poll, precision)
		b = append(b, make([]byte, 36)...) // root delay and dispersion, reference ID and times
		sent := c.t
		b = appendNTPTime(b, sent)
		c.udp(0, b)
		c.t += c.wan + c.jitter(300e3)
		recv := sent + c.wan/2 + offset
		b = append(g.scratch[:0], 0x24, 1, poll, 0xe9)
		b = binary.BigEndian.AppendUint32(b, 0)                // root delay
		b = binary.BigEndian.AppendUint32(b, 10+r.Uint32()%40) // root dispersion, 1/65536 s
		b = append(b, refID...)
		b = appendNTPTime(b, recv-int64(r.IntN(16))*1e9)
		b = appendNTPTime(b, sent)
		b = appendNTPTime(b, recv)
		b = appendNTPTime(b, recv+int64(20e3+r.IntN(60e3)))
		c.udp(1, b)
	}
	g.flows[kNTP]++
}
