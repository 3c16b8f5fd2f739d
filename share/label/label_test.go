package label

import (
	"bytes"
	"strings"
	"testing"
)

// pkt is one packet of a test flow: from the client (initiator) or the
// server, with its payload.
type pkt struct {
	fromClient bool
	data       []byte
}

func cli(b []byte) pkt  { return pkt{true, b} }
func srv(b []byte) pkt  { return pkt{false, b} }
func clis(s string) pkt { return cli([]byte(s)) }
func srvs(s string) pkt { return srv([]byte(s)) }
func split(b []byte, at ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, a := range at {
		out = append(out, b[prev:a])
		prev = a
	}
	return append(out, b[prev:])
}

// labelCase is a flow and the label it must get.
type labelCase struct {
	name       string
	transport  uint8
	cport      uint16 // client (initiator) port
	sport      uint16 // server (responder) port
	pkts       []pkt
	want       Protocol
	source     Source
	evidence   *Evidence // nil: no evidence
	wantDoneAt int       // packets after which Observe must report done; 0: not checked
}

// run feeds the case's packets to a fresh State and returns its label and
// the number of packets after which Observe reported done (0 if never).
func (c *labelCase) run() (Label, int, *State) {
	var s State
	doneAt := 0
	for i, p := range c.pkts {
		sp, dp := c.cport, c.sport
		if !p.fromClient {
			sp, dp = dp, sp
		}
		if s.Observe(p.fromClient, c.transport, sp, dp, p.data) && doneAt == 0 {
			doneAt = i + 1
		}
	}
	return s.Result(c.transport, c.cport, c.sport), doneAt, &s
}

func checkCases(t *testing.T, cases []labelCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, doneAt, s := c.run()
			if got.Protocol != c.want || got.Source != c.source {
				t.Fatalf("label = %v from %v, want %v from %v", got, got.Source, c.want, c.source)
			}
			switch {
			case c.evidence == nil && got.Evidence != nil:
				t.Errorf("evidence = %+v, want none", *got.Evidence)
			case c.evidence != nil && got.Evidence == nil:
				t.Errorf("evidence = none, want %+v", *c.evidence)
			case c.evidence != nil && *got.Evidence != *c.evidence:
				t.Errorf("evidence =\n  %+v\nwant\n  %+v", *got.Evidence, *c.evidence)
			}
			if c.wantDoneAt != 0 && doneAt != c.wantDoneAt {
				t.Errorf("done after packet %d, want %d", doneAt, c.wantDoneAt)
			}
			if s.re != nil {
				t.Errorf("reassembly buffer kept after Result")
			}
		})
	}
}

func dnsCases() []labelCase {
	q := dnsQuery(0x2222, "www.example.org", dnsTypeA)
	r := dnsResponse(0x2222, "www.example.org", dnsTypeA, 0, rr(dnsTypeA, ip4("203.0.113.80")))
	ev := &Evidence{DNSQuery: "www.example.org", DNSAnswer: "203.0.113.80", DNSRcode: "NOERROR"}
	tcpQ, tcpR := cat(u16(len(q)), q), cat(u16(len(r)), r)
	rs := split(tcpR, 20)
	cname := dnsResponse(7, "www.example.org", dnsTypeA, 0,
		rr(dnsTypeCNAME, encodeName("edge.example.net")), rr(dnsTypeA, ip4("192.0.2.7")))
	aaaa := dnsResponse(8, "v6.example.org", dnsTypeAAAA, 0,
		rr(dnsTypeAAAA, []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}))
	mixed := dnsQuery(9, "WwW.ExAmPle.ORG", dnsTypeA)
	mdns := cat(u16(0), u16(0x8400), u16(0), u16(1), u16(0), u16(0),
		encodeName("_ipp._tcp.local"), u16(dnsTypePTR), u16(0x8001), u32(120), u16(10), []byte{7, 'p', 'r', 'i', 'n', 't', 'e', 'r', 0xc0, 0x0c})
	return []labelCase{
		{name: "udp/53", transport: ipUDP, cport: 40000, sport: 53, pkts: []pkt{cli(q), srv(r)},
			want: DNS, source: SourcePayload, evidence: ev, wantDoneAt: 2},
		{name: "udp/non-standard port", transport: ipUDP, cport: 53001, sport: 1234, pkts: []pkt{cli(q), srv(r)},
			want: DNS, source: SourcePayload, evidence: ev, wantDoneAt: 2},
		{name: "udp/response first", transport: ipUDP, cport: 53, sport: 40000, pkts: []pkt{cli(r)},
			want: DNS, source: SourcePayload, evidence: ev, wantDoneAt: 1},
		{name: "udp/query only", transport: ipUDP, cport: 40000, sport: 5300, pkts: []pkt{cli(q)},
			want: DNS, source: SourcePayload, evidence: &Evidence{DNSQuery: "www.example.org"}},
		{name: "tcp/one segment each", transport: ipTCP, cport: 40000, sport: 53, pkts: []pkt{cli(tcpQ), srv(tcpR)},
			want: DNS, source: SourcePayload, evidence: ev, wantDoneAt: 2},
		{name: "tcp/length prefix alone, response cut in the question", transport: ipTCP, cport: 40000, sport: 53,
			pkts: []pkt{cli(tcpQ[:2]), cli(tcpQ[2:]), srv(rs[0]), srv(rs[1])},
			want: DNS, source: SourcePayload, evidence: ev, wantDoneAt: 4},
		{name: "tcp/tiny segments", transport: ipTCP, cport: 40000, sport: 8053,
			pkts: append(bytePkts(true, tcpQ[:8]), cli(tcpQ[8:]), srv(tcpR)),
			want: DNS, source: SourcePayload, evidence: ev},
		{name: "tcp/retransmitted segment", transport: ipTCP, cport: 40000, sport: 53,
			pkts: []pkt{cli(tcpQ[:20]), cli(tcpQ[:20]), cli(tcpQ[20:]), srv(tcpR)},
			want: DNS, source: SourcePayload, evidence: ev},
		{name: "cname first", transport: ipUDP, cport: 40000, sport: 53, pkts: []pkt{srv(cname)},
			want: DNS, source: SourcePayload, evidence: &Evidence{DNSQuery: "www.example.org", DNSAnswer: "edge.example.net", DNSRcode: "NOERROR"}},
		{name: "aaaa", transport: ipUDP, cport: 40000, sport: 53, pkts: []pkt{srv(aaaa)},
			want: DNS, source: SourcePayload, evidence: &Evidence{DNSQuery: "v6.example.org", DNSAnswer: "2001:db8::1", DNSRcode: "NOERROR"}},
		{name: "nxdomain", transport: ipUDP, cport: 40000, sport: 53, pkts: []pkt{srv(dnsResponse(3, "nx.example.org", dnsTypeA, 3))},
			want: DNS, source: SourcePayload, evidence: &Evidence{DNSQuery: "nx.example.org", DNSRcode: "NXDOMAIN"}},
		{name: "0x20 case", transport: ipUDP, cport: 40000, sport: 53, pkts: []pkt{cli(mixed)},
			want: DNS, source: SourcePayload, evidence: &Evidence{DNSQuery: "www.example.org"}},
		{name: "mdns response", transport: ipUDP, cport: 5353, sport: 5353, pkts: []pkt{cli(mdns)},
			want: MDNS, source: SourcePayload, evidence: &Evidence{DNSAnswer: "printer._ipp._tcp.local", DNSRcode: "NOERROR"}},
		// Negative cases.
		{name: "two questions", transport: ipUDP, cport: 40000, sport: 5300,
			pkts: []pkt{cli(cat(u16(1), u16(0x0100), u16(2), make([]byte, 6), encodeName("a.example"), u16(1), u16(1)))}},
		{name: "forward pointer", transport: ipUDP, cport: 40000, sport: 5300,
			pkts: []pkt{cli(cat(u16(1), u16(0x0100), u16(1), make([]byte, 6), []byte{0xc0, 0x20}, u16(1), u16(1), make([]byte, 20)))}},
		{name: "pointer to itself", transport: ipUDP, cport: 40000, sport: 5300,
			pkts: []pkt{cli(cat(u16(1), u16(0x0100), u16(1), make([]byte, 6), []byte{0xc0, 0x0c}, u16(1), u16(1)))}},
		{name: "binary label", transport: ipUDP, cport: 40000, sport: 5300,
			pkts: []pkt{cli(cat(u16(1), u16(0x0100), u16(1), make([]byte, 6), []byte{2, 0x01, 0x02, 0}, u16(1), u16(1)))}},
		{name: "netbios on 137", transport: ipUDP, cport: 137, sport: 137,
			pkts: []pkt{cli(dnsQuery(1, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0x20))}},
		{name: "netbios name elsewhere", transport: ipUDP, cport: 40000, sport: 40001,
			pkts: []pkt{cli(dnsQuery(1, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0x20))}},
		{name: "garbage on 53 is weak", transport: ipUDP, cport: 40000, sport: 53,
			pkts: []pkt{cli(bytes.Repeat([]byte{0x5a}, 40))}, want: DNS, source: SourcePort},
	}
}

// bytePkts splits b into one-byte packets.
func bytePkts(fromClient bool, b []byte) []pkt {
	var out []pkt
	for i := range b {
		out = append(out, pkt{fromClient, b[i : i+1]})
	}
	return out
}

func httpCases() []labelCase {
	req := "GET /index.html HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	ev := &Evidence{HTTPHost: "www.example.org", HTTPMethod: "GET", HTTPStatus: "200", UserAgent: "curl/8.5.0", Version: "HTTP/1.1"}
	rtsp := "OPTIONS rtsp://cam.example.org:554/stream RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: LibVLC/3.0\r\n\r\n"
	invite := "INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\nUser-Agent: softphone\r\nContent-Length: 0\r\n\r\n"
	return []labelCase{
		{name: "http", transport: ipTCP, cport: 40000, sport: 8000, pkts: []pkt{clis(req), srvs(resp)},
			want: HTTP, source: SourcePayload, evidence: ev, wantDoneAt: 2},
		{name: "http split everywhere", transport: ipTCP, cport: 40000, sport: 8000,
			pkts: []pkt{clis(req[:2]), clis(req[2:20]), clis(req[20:40]), clis(req[40:]), srvs(resp[:5]), srvs(resp[5:])},
			want: HTTP, source: SourcePayload, evidence: ev},
		{name: "http response first", transport: ipTCP, cport: 8000, sport: 40000, pkts: []pkt{clis(resp)},
			want: HTTP, source: SourcePayload, evidence: &Evidence{HTTPStatus: "200", Version: "HTTP/1.1"}},
		{name: "http/1.0 no host", transport: ipTCP, cport: 40000, sport: 80, pkts: []pkt{clis("GET / HTTP/1.0\r\n\r\n")},
			want: HTTP, source: SourcePayload, evidence: &Evidence{HTTPMethod: "GET", Version: "HTTP/1.0"}},
		{name: "http/2 preface", transport: ipTCP, cport: 40000, sport: 80, pkts: []pkt{clis("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")},
			want: HTTP, source: SourcePayload, evidence: &Evidence{HTTPMethod: "PRI", Version: "HTTP/2.0"}},
		{name: "bittorrent tracker", transport: ipTCP, cport: 40000, sport: 6969,
			pkts: []pkt{clis("GET /announce?info_hash=%12%34&peer_id=x HTTP/1.1\r\nHost: tracker.example.org\r\n\r\n")},
			want: BitTorrent, source: SourcePayload, evidence: &Evidence{HTTPHost: "tracker.example.org", HTTPMethod: "GET", Version: "HTTP/1.1", Detail: "tracker"}},
		{name: "rtsp", transport: ipTCP, cport: 40000, sport: 554, pkts: []pkt{clis(rtsp), srvs("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")},
			want: RTSP, source: SourcePayload,
			evidence: &Evidence{HTTPHost: "cam.example.org:554", HTTPMethod: "OPTIONS", HTTPStatus: "200", UserAgent: "LibVLC/3.0", Version: "RTSP/1.0"}},
		{name: "sip over udp", transport: ipUDP, cport: 5060, sport: 5060, pkts: []pkt{clis(invite), srvs("SIP/2.0 100 Trying\r\n\r\n")},
			want: SIP, source: SourcePayload, evidence: &Evidence{HTTPMethod: "INVITE", HTTPStatus: "100", UserAgent: "softphone", Version: "SIP/2.0"}},
		{name: "sip over tcp", transport: ipTCP, cport: 40000, sport: 5080, pkts: []pkt{clis(invite)},
			want: SIP, source: SourcePayload, evidence: &Evidence{HTTPMethod: "INVITE", UserAgent: "softphone", Version: "SIP/2.0"}},
		{name: "ssdp", transport: ipUDP, cport: 40000, sport: 1900,
			pkts: []pkt{clis("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\r\n")},
			want: SSDP, source: SourcePayload, evidence: &Evidence{HTTPHost: "239.255.255.250:1900", HTTPMethod: "M-SEARCH", Version: "HTTP/1.1"}},
		// Negative cases.
		{name: "bad version", transport: ipTCP, cport: 40000, sport: 8000, pkts: []pkt{clis("GET / HTTX/1.1\r\n\r\n")}},
		{name: "lower-case method", transport: ipTCP, cport: 40000, sport: 8000, pkts: []pkt{clis("get / HTTP/1.1\r\n\r\n")}},
		{name: "bad status", transport: ipTCP, cport: 40000, sport: 8000, pkts: []pkt{clis("HTTP/1.1 2x0 OK\r\n\r\n")}},
		{name: "http over udp elsewhere", transport: ipUDP, cport: 40000, sport: 8000, pkts: []pkt{clis(req)}},
		{name: "rtsp over udp", transport: ipUDP, cport: 40000, sport: 8000, pkts: []pkt{clis(rtsp)}},
		{name: "text on 80 is weak", transport: ipTCP, cport: 40000, sport: 80, pkts: []pkt{clis("hello there\r\n")},
			want: HTTP, source: SourcePort},
	}
}

func tlsCases() []labelCase {
	ch := clientHello("www.example.org", []string{"h2", "http/1.1"}, []uint16{0x7a7a, 0x0304, 0x0303}, 0)
	sh := serverHello(0x0304)
	ev := &Evidence{TLSSNI: "www.example.org", TLSALPN: "h2,http/1.1", TLSVersion: "TLSv1.3"}
	big := tlsRecord(tlsRecordHandshake, clientHello("big.example.org", []string{"h2"}, []uint16{0x0304}, 3000))
	parts := split(big, 1000, 2400)
	// A ClientHello split over two handshake records.
	frag := clientHello("frag.example.org", nil, nil, 0)
	twoRecords := cat(tlsRecord(tlsRecordHandshake, frag[:50]), tlsRecord(tlsRecordHandshake, frag[50:]))
	return []labelCase{
		{name: "hellos", transport: ipTCP, cport: 40000, sport: 443,
			pkts: []pkt{cli(tlsRecord(tlsRecordHandshake, ch)), srv(tlsRecord(tlsRecordHandshake, sh))},
			want: TLS, source: SourcePayload, evidence: ev, wantDoneAt: 2},
		{name: "client only", transport: ipTCP, cport: 40000, sport: 8443,
			pkts: []pkt{cli(tlsRecord(tlsRecordHandshake, ch))},
			want: TLS, source: SourcePayload, evidence: ev},
		{name: "tls 1.2 server", transport: ipTCP, cport: 40000, sport: 443,
			pkts: []pkt{cli(tlsRecord(tlsRecordHandshake, ch)), srv(tlsRecord(tlsRecordHandshake, serverHello(0x0303)))},
			want: TLS, source: SourcePayload, evidence: &Evidence{TLSSNI: "www.example.org", TLSALPN: "h2,http/1.1", TLSVersion: "TLSv1.2"}},
		{name: "hello over three segments", transport: ipTCP, cport: 40000, sport: 443,
			pkts: []pkt{cli(parts[0]), cli(parts[1]), cli(parts[2])},
			want: TLS, source: SourcePayload, evidence: &Evidence{TLSSNI: "big.example.org", TLSALPN: "h2", TLSVersion: "TLSv1.3"}},
		{name: "hello over two records", transport: ipTCP, cport: 40000, sport: 443,
			pkts: []pkt{cli(twoRecords)},
			want: TLS, source: SourcePayload, evidence: &Evidence{TLSSNI: "frag.example.org", TLSVersion: "TLSv1.2"}},
		{name: "hello cut by the end of the flow", transport: ipTCP, cport: 40000, sport: 443,
			pkts: []pkt{cli(parts[0])},
			want: TLS, source: SourcePayload, evidence: &Evidence{TLSSNI: "big.example.org", TLSALPN: "h2", TLSVersion: "TLSv1.3"}},
		{name: "hello cut before the extensions", transport: ipTCP, cport: 40000, sport: 443,
			pkts: []pkt{cli(parts[0][:60])},
			want: TLS, source: SourcePayload},
		{name: "records after the handshake", transport: ipTCP, cport: 40000, sport: 4433,
			pkts: []pkt{cli(cat(tlsRecord(0x17, make([]byte, 40)), tlsRecord(0x17, make([]byte, 30))))},
			want: TLS, source: SourcePayload},
		{name: "alert", transport: ipTCP, cport: 40000, sport: 4433, pkts: []pkt{srv(tlsRecord(0x15, make([]byte, 26)))},
			want: TLS, source: SourcePayload},
		// Negative cases.
		{name: "bad handshake type, cut record", transport: ipTCP, cport: 40000, sport: 4433,
			pkts: []pkt{cli(tlsRecord(tlsRecordHandshake, append([]byte{9}, ch[1:]...))[:40])}},
		{name: "record length mismatch", transport: ipTCP, cport: 40000, sport: 4433,
			pkts: []pkt{cli(cat([]byte{0x17, 3, 3}, u16(100), make([]byte, 50)))}},
		{name: "bad version", transport: ipTCP, cport: 40000, sport: 4433,
			pkts: []pkt{cli(cat([]byte{0x17, 3, 9}, u16(10), make([]byte, 10)))}},
	}
}

func quicCases() []labelCase {
	dcid := []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08}
	hello := clientHello("quic.example.org", []string{"h3"}, []uint16{0x0304}, 0)
	// Chrome splits the ClientHello into several CRYPTO frames and sends
	// them out of order, with PING and PADDING between.
	frames := cat(cryptoFrame(40, hello[40:]), []byte{0x01, 0x00, 0x00}, cryptoFrame(0, hello[:40]))
	ev := &Evidence{TLSSNI: "quic.example.org", TLSALPN: "h3", TLSVersion: "TLSv1.3", QUICVersion: "v1"}
	big := clientHello("two.example.org", []string{"h3"}, []uint16{0x0304}, 1500)
	first, second := cryptoFrame(0, big[:1000]), cryptoFrame(1000, big[1000:])
	gq := cat([]byte{0x0d}, bytes.Repeat([]byte{7}, 8), []byte("Q043"), []byte{1}, make([]byte, 12), []byte{0xa0, 0x01, 0x00, 0x04},
		[]byte("CHLO"), []byte{2, 0, 0, 0}, []byte("SNI\x00"), []byte{16, 0, 0, 0}, []byte("UAID"), []byte{20, 0, 0, 0},
		[]byte("gquic.example.org"[:16]), []byte("Chro"))
	vn := cat([]byte{0x80}, u32(0), []byte{8}, dcid, []byte{0}, u32(0x0a1a2a3a), u32(quicV1))
	return []labelCase{
		{name: "v1 initial", transport: ipUDP, cport: 40000, sport: 443, pkts: []pkt{cli(sealInitial(quicV1, dcid, frames))},
			want: QUIC, source: SourcePayload, evidence: ev, wantDoneAt: 1},
		{name: "v2 initial", transport: ipUDP, cport: 40000, sport: 443, pkts: []pkt{cli(sealInitial(quicV2, dcid, frames))},
			want: QUIC, source: SourcePayload,
			evidence: &Evidence{TLSSNI: "quic.example.org", TLSALPN: "h3", TLSVersion: "TLSv1.3", QUICVersion: "v2"}},
		{name: "draft-29 initial", transport: ipUDP, cport: 40000, sport: 4433, pkts: []pkt{cli(sealInitial(0xff00001d, dcid, frames))},
			want: QUIC, source: SourcePayload,
			evidence: &Evidence{TLSSNI: "quic.example.org", TLSALPN: "h3", TLSVersion: "TLSv1.3", QUICVersion: "draft-29"}},
		{name: "hello over two initials", transport: ipUDP, cport: 40000, sport: 443,
			pkts: []pkt{cli(sealInitial(quicV1, dcid, first)), cli(sealInitial(quicV1, dcid, second))},
			want: QUIC, source: SourcePayload, wantDoneAt: 2,
			evidence: &Evidence{TLSSNI: "two.example.org", TLSALPN: "h3", TLSVersion: "TLSv1.3", QUICVersion: "v1"}},
		{name: "hello half there", transport: ipUDP, cport: 40000, sport: 443,
			pkts: []pkt{cli(sealInitial(quicV1, dcid, first))},
			want: QUIC, source: SourcePayload,
			evidence: &Evidence{TLSSNI: "two.example.org", TLSALPN: "h3", TLSVersion: "TLSv1.3", QUICVersion: "v1"}},
		{name: "other dcid not decrypted", transport: ipUDP, cport: 40000, sport: 443,
			pkts: []pkt{cli(sealInitial(quicV1, dcid, cryptoFrame(0, big[:30]))), srv(sealInitial(quicV1, []byte{1, 2, 3, 4}, cryptoFrame(30, big[30:])))},
			want: QUIC, source: SourcePayload,
			evidence: &Evidence{QUICVersion: "v1"}},
		{name: "google public header", transport: ipUDP, cport: 40000, sport: 443, pkts: []pkt{cli(gq)},
			want: QUIC, source: SourcePayload, evidence: &Evidence{QUICVersion: "Q043", TLSSNI: "gquic.example.or", UserAgent: "Chro"}},
		{name: "version negotiation", transport: ipUDP, cport: 443, sport: 40000, pkts: []pkt{cli(vn)},
			want: QUIC, source: SourcePayload, evidence: &Evidence{QUICVersion: "v1"}},
		// Negative cases.
		{name: "unknown version", transport: ipUDP, cport: 40000, sport: 4433,
			pkts: []pkt{cli(cat([]byte{0xc0}, u32(0x12345678), []byte{8}, dcid, []byte{0}, make([]byte, 40)))}},
		{name: "connection id too long", transport: ipUDP, cport: 40000, sport: 4433,
			pkts: []pkt{cli(cat([]byte{0xc0}, u32(quicV1), []byte{21}, make([]byte, 60)))}},
		{name: "bad decryption is still quic", transport: ipUDP, cport: 40000, sport: 4433,
			pkts: []pkt{cli(func() []byte { p := sealInitial(quicV1, dcid, frames); p[len(p)-1] ^= 1; return p }())},
			want: QUIC, source: SourcePayload, evidence: &Evidence{QUICVersion: "v1"}},
	}
}

// TestQUICKeys checks the Initial key derivation against the test vectors
// of RFC 9001 appendix A.1 and RFC 9369 appendix A.1.
func TestQUICKeys(t *testing.T) {
	dcid := []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08}
	for _, c := range []struct {
		version     uint32
		key, iv, hp string
	}{
		{quicV1, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
		{quicV2, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"},
	} {
		_, qv := quicKnown(c.version)
		key, iv, hp := initialKeys(dcid, qv)
		if got := hexs(key); got != c.key {
			t.Errorf("version %#x: key = %s, want %s", c.version, got, c.key)
		}
		if got := hexs(iv); got != c.iv {
			t.Errorf("version %#x: iv = %s, want %s", c.version, got, c.iv)
		}
		if got := hexs(hp); got != c.hp {
			t.Errorf("version %#x: hp = %s, want %s", c.version, got, c.hp)
		}
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func lineCases() []labelCase {
	return []labelCase{
		{name: "ssh", transport: ipTCP, cport: 40000, sport: 22,
			pkts: []pkt{srvs("SSH-2.0-OpenSSH_9.6\r\n"), clis("SSH-2.0-PuTTY_Release_0.80\r\n")},
			want: SSH, source: SourcePayload, evidence: &Evidence{SSHBanner: "SSH-2.0-PuTTY_Release_0.80", Banner: "SSH-2.0-OpenSSH_9.6"}, wantDoneAt: 2},
		{name: "ssh split banner", transport: ipTCP, cport: 40000, sport: 2222,
			pkts: []pkt{clis("SSH-2.0-Op"), clis("enSSH_9.6\n")},
			want: SSH, source: SourcePayload, evidence: &Evidence{SSHBanner: "SSH-2.0-OpenSSH_9.6"}},
		{name: "smtp", transport: ipTCP, cport: 40000, sport: 25,
			pkts: []pkt{srvs("220 mail.example.org ESMTP Postfix\r\n"), clis("EHLO client.example.org\r\n"), srvs("250-mail.example.org\r\n")},
			want: SMTP, source: SourcePayload, evidence: &Evidence{Banner: "220 mail.example.org ESMTP Postfix", Command: "EHLO client.example.org"}, wantDoneAt: 2},
		{name: "smtp decided by ehlo", transport: ipTCP, cport: 40000, sport: 2525,
			pkts: []pkt{srvs("220 mail.example.org ready\r\n"), clis("EHLO client.example.org\r\n")},
			want: SMTP, source: SourcePayload, evidence: &Evidence{Banner: "220 mail.example.org ready", Command: "EHLO client.example.org"}},
		{name: "smtp without greeting", transport: ipTCP, cport: 40000, sport: 2525, pkts: []pkt{clis("HELO client.example.org\r\n")},
			want: SMTP, source: SourcePayload, evidence: &Evidence{Command: "HELO client.example.org"}},
		{name: "ftp", transport: ipTCP, cport: 40000, sport: 21,
			pkts: []pkt{srvs("220 (vsFTPd 3.0.3)\r\n"), clis("USER anonymous\r\n")},
			want: FTP, source: SourcePayload, evidence: &Evidence{Banner: "220 (vsFTPd 3.0.3)", Command: "USER"}, wantDoneAt: 2},
		{name: "ftp named in greeting", transport: ipTCP, cport: 40000, sport: 2100,
			pkts: []pkt{srvs("220 ProFTPD Server (Debian)\r\n")},
			want: FTP, source: SourcePayload, evidence: &Evidence{Banner: "220 ProFTPD Server (Debian)"}},
		{name: "ftp decided by auth tls", transport: ipTCP, cport: 40000, sport: 2100,
			pkts: []pkt{srvs("220 Service ready\r\n"), clis("AUTH TLS\r\n")},
			want: FTP, source: SourcePayload, evidence: &Evidence{Banner: "220 Service ready", Command: "AUTH"}},
		{name: "greeting settled by port", transport: ipTCP, cport: 40000, sport: 21,
			pkts: []pkt{srvs("220 Service ready\r\n")},
			want: FTP, source: SourcePayload, evidence: &Evidence{Banner: "220 Service ready"}},
		{name: "nats", transport: ipTCP, cport: 40000, sport: 4222,
			pkts: []pkt{srvs("INFO {\"server_id\":\"x\"}\r\n"), clis("CONNECT {\"verbose\":false}\r\n")},
			want: NATS, source: SourcePayload, evidence: &Evidence{Banner: "INFO {\"server_id\":\"x\"}", Command: "CONNECT"}, wantDoneAt: 2},
		// Negative cases.
		{name: "ssh bad version", transport: ipTCP, cport: 40000, sport: 2222, pkts: []pkt{clis("SSH-3.0-x\r\n")}},
		{name: "greeting undecided", transport: ipTCP, cport: 40000, sport: 9999,
			pkts: []pkt{srvs("220 Service ready\r\n"), clis("QUIT\r\n")}},
		{name: "other reply", transport: ipTCP, cport: 40000, sport: 9999, pkts: []pkt{srvs("200 OK\r\n")}},
		{name: "bare 220 line", transport: ipTCP, cport: 40000, sport: 9999, pkts: []pkt{srvs("220\r\n"), clis("NOOP\r\n")}},
		{name: "pop3", transport: ipTCP, cport: 40000, sport: 9999, pkts: []pkt{srvs("+OK POP3 ready\r\n"), clis("USER bob\r\n")}},
	}
}

func binaryCases() []labelCase {
	stunReq := cat(u16(0x0001), u16(8), u32(0x2112a442), make([]byte, 12), u16(0x0024), u16(4), u32(0x6e0001ff))
	v5 := cat(u16(5), u16(2), make([]byte, 20), make([]byte, 96))
	v9 := cat(u16(9), u16(1), make([]byte, 16), u16(0), u16(12), u16(256), u16(1), u16(8), u16(4))
	ipfix := cat(u16(10), u16(28), make([]byte, 12), u16(2), u16(12), u16(256), u16(1), u16(8), u16(4))
	someIPSD := cat(u16(0xffff), u16(0x8100), u32(20), u32(0), []byte{1, 1, 2, 0}, make([]byte, 12))
	dhcpv6 := cat([]byte{1, 0xaa, 0xbb, 0xcc}, u16(8), u16(2), u16(0))
	return []labelCase{
		{name: "ntp client", transport: ipUDP, cport: 123, sport: 123, pkts: []pkt{cli(ntpPacket(0xe3, 0, 0))},
			want: NTP, source: SourcePayload, evidence: &Evidence{Version: "4", Detail: "client"}, wantDoneAt: 1},
		{name: "ntp server off port", transport: ipUDP, cport: 40000, sport: 12300,
			pkts: []pkt{srv(ntpPacket(0x24, 2, 0xe9000000))},
			want: NTP, source: SourcePayload, evidence: &Evidence{Version: "4", Detail: "server"}},
		{name: "ntp control", transport: ipUDP, cport: 40000, sport: 123, pkts: []pkt{cli(cat([]byte{0x16, 2}, make([]byte, 10)))},
			want: NTP, source: SourcePayload, evidence: &Evidence{Version: "2", Detail: "control"}},
		{name: "dhcp", transport: ipUDP, cport: 68, sport: 67, pkts: []pkt{cli(dhcpDiscover())},
			want: DHCP, source: SourcePayload, evidence: &Evidence{Detail: "DISCOVER"}, wantDoneAt: 1},
		{name: "dhcpv6", transport: ipUDP, cport: 546, sport: 547, pkts: []pkt{cli(dhcpv6)},
			want: DHCP, source: SourcePayload, evidence: &Evidence{Detail: "SOLICIT"}},
		{name: "stun", transport: ipUDP, cport: 40000, sport: 3478, pkts: []pkt{cli(stunReq)},
			want: STUN, source: SourcePayload, evidence: &Evidence{Detail: "Binding Request"}},
		{name: "stun then rtp", transport: ipUDP, cport: 40000, sport: 50000,
			pkts: []pkt{cli(stunReq), cli(rtpPacket(100, 0xdeadbeef, 0, 160)), srv(rtpPacket(7, 0x1234, 0, 160)), cli(rtpPacket(101, 0xdeadbeef, 0, 160))},
			want: RTP, source: SourcePayload, evidence: &Evidence{Detail: "PT 0"}, wantDoneAt: 4},
		{name: "rtp", transport: ipUDP, cport: 40000, sport: 40002,
			pkts: []pkt{cli(rtpPacket(1, 42, 8, 160)), cli(rtpPacket(2, 42, 8, 160))},
			want: RTP, source: SourcePayload, evidence: &Evidence{Detail: "PT 8"}, wantDoneAt: 2},
		{name: "rtp over tcp", transport: ipTCP, cport: 40000, sport: 5000,
			pkts: []pkt{cli(cat(u16(172), rtpPacket(1, 42, 8, 160))), cli(cat(u16(172), rtpPacket(2, 42, 8, 160)))},
			want: RTP, source: SourcePayload, evidence: &Evidence{Detail: "PT 8"}},
		{name: "bittorrent handshake", transport: ipTCP, cport: 40000, sport: 51413,
			pkts: []pkt{cli(cat([]byte(btProtocol), make([]byte, 48)))},
			want: BitTorrent, source: SourcePayload, evidence: &Evidence{Detail: "handshake"}, wantDoneAt: 1},
		{name: "bittorrent dht", transport: ipUDP, cport: 40000, sport: 6881,
			pkts: []pkt{clis("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")},
			want: BitTorrent, source: SourcePayload, evidence: &Evidence{Detail: "DHT"}},
		{name: "utp syn and state", transport: ipUDP, cport: 40000, sport: 40959,
			pkts: []pkt{cli(utpPacket(utpSyn, 0x5302, 0xe7f5, 0, nil)), srv(utpPacket(utpState, 0x5302, 0x3f5f, 0xe7f5, nil))},
			want: BitTorrent, source: SourcePayload, evidence: &Evidence{Detail: "uTP"}, wantDoneAt: 2},
		{name: "utp data with handshake", transport: ipUDP, cport: 40000, sport: 40959,
			pkts: []pkt{cli(utpPacket(utpData, 0x5303, 2, 1, []byte(btProtocol)))},
			want: BitTorrent, source: SourcePayload, evidence: &Evidence{Detail: "uTP"}},
		{name: "netflow v5", transport: ipUDP, cport: 40000, sport: 2055, pkts: []pkt{cli(v5)},
			want: NetFlow, source: SourcePayload, evidence: &Evidence{Version: "5"}},
		{name: "netflow v9", transport: ipUDP, cport: 40000, sport: 9000, pkts: []pkt{cli(v9)},
			want: NetFlow, source: SourcePayload, evidence: &Evidence{Version: "9"}},
		{name: "ipfix", transport: ipUDP, cport: 40000, sport: 4739, pkts: []pkt{cli(ipfix)},
			want: IPFIX, source: SourcePayload, evidence: &Evidence{Version: "10"}},
		{name: "ipfix over tcp", transport: ipTCP, cport: 40000, sport: 4739, pkts: []pkt{cli(ipfix)},
			want: IPFIX, source: SourcePayload, evidence: &Evidence{Version: "10"}},
		{name: "someip sd", transport: ipUDP, cport: 30490, sport: 30490, pkts: []pkt{cli(someIPSD)},
			want: SOMEIP, source: SourcePayload, evidence: &Evidence{Detail: "SD"}},
		// Negative cases.
		{name: "one rtp packet", transport: ipUDP, cport: 40000, sport: 40002, pkts: []pkt{cli(rtpPacket(1, 42, 8, 160))}},
		{name: "rtp ssrc changes", transport: ipUDP, cport: 40000, sport: 40002,
			pkts: []pkt{cli(rtpPacket(1, 42, 8, 160)), cli(rtpPacket(2, 43, 8, 160)), cli(rtpPacket(90, 43, 8, 160))}},
		{name: "rtcp", transport: ipUDP, cport: 40000, sport: 40002,
			pkts: []pkt{cli(cat([]byte{0x81, 0xc8}, u16(6), make([]byte, 24))), cli(cat([]byte{0x81, 0xc8}, u16(6), make([]byte, 24)))}},
		{name: "utp syn alone", transport: ipUDP, cport: 40000, sport: 40959, pkts: []pkt{cli(utpPacket(utpSyn, 1, 2, 0, nil))}},
		{name: "utp state wrong ack", transport: ipUDP, cport: 40000, sport: 40959,
			pkts: []pkt{cli(utpPacket(utpSyn, 0x5302, 0xe7f5, 0, nil)), srv(utpPacket(utpState, 0x5302, 0x3f5f, 0xe7f6, nil))}},
		{name: "ntp off port, random", transport: ipUDP, cport: 40000, sport: 40001,
			pkts: []pkt{cli(ntpPacket(0xe3, 0, 0x12345678))}},
		{name: "stun length mismatch", transport: ipUDP, cport: 40000, sport: 40001,
			pkts: []pkt{cli(cat(u16(0x0001), u16(12), u32(0x2112a442), make([]byte, 12), u16(0x0024), u16(4), u32(1)))}},
		{name: "netflow v5 count mismatch", transport: ipUDP, cport: 40000, sport: 40001,
			pkts: []pkt{cli(cat(u16(5), u16(3), make([]byte, 20), make([]byte, 96)))}},
		{name: "ipfix length mismatch", transport: ipUDP, cport: 40000, sport: 40001,
			pkts: []pkt{cli(cat(u16(10), u16(30), make([]byte, 12), u16(2), u16(12), u16(256), u16(1), u16(8), u16(4)))}},
		{name: "dhcp without cookie", transport: ipUDP, cport: 40000, sport: 40001, pkts: []pkt{cli(dhcpDiscover()[:236])}},
	}
}

func TestDNS(t *testing.T)             { checkCases(t, dnsCases()) }
func TestHTTPFamily(t *testing.T)      { checkCases(t, httpCases()) }
func TestTLS(t *testing.T)             { checkCases(t, tlsCases()) }
func TestQUIC(t *testing.T)            { checkCases(t, quicCases()) }
func TestLineProtocols(t *testing.T)   { checkCases(t, lineCases()) }
func TestBinaryProtocols(t *testing.T) { checkCases(t, binaryCases()) }

// allCases returns every hand-built case.
func allCases() []labelCase {
	var all []labelCase
	for _, f := range []func() []labelCase{dnsCases, httpCases, tlsCases, quicCases, lineCases, binaryCases} {
		all = append(all, f()...)
	}
	return all
}
