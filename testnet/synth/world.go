package synth

import (
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
)

// Services a name offers.
const (
	svcHTTP = 1 << iota
	svcTLS
	svcQUIC
	numSvc = 3
)

// server is an external host.
type server struct {
	v4, v6    netip.Addr // v6 is the zero Addr for a server without IPv6
	wan       int64      // round trip from the capture point, ns
	proc      int64      // typical time to answer a request, ns
	nsPerByte int64      // the server's sending rate
	ttl       uint8      // TTL (hop limit) of its packets at the capture point
	software  int        // index into httpServers and sshServers
	tls12     bool       // negotiates TLS 1.2 rather than 1.3
}

// name is a DNS name of the world.
type name struct {
	name  string
	cname string // canonical name it is an alias of, or ""
	srv   int    // index of the server it resolves to
	ttl   uint32
	svc   uint8
}

// world is the part of the synthetic Internet that every organisation
// sees alike: it depends on the domain and the server prefixes only.
type world struct {
	domain    string
	servers   []server
	names     []name
	bySvc     [numSvc][]int     // names offering each service, by popularity
	cumSvc    [numSvc][]float64 // cumulative popularity of bySvc
	cumDNS    []float64         // cumulative popularity of names
	resolvers []int
	ntp       []int // NTP servers; ntpNames[i] resolves to ntp[i]
	ntpNames  []string
	ssh       []int
	sshNames  []string
	scanner   netip.Addr // an external scanner
	nsName    string     // names of the zone's SOA record
	mboxName  string
}

var (
	httpServers = []string{"nginx", "nginx/1.24.0", "Apache/2.4.62 (Debian)", "Apache", "Microsoft-IIS/10.0", "openresty", "envoy", "Caddy"}
	sshServers  = []string{
		"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
		"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "SSH-2.0-OpenSSH_8.7", "SSH-2.0-OpenSSH_9.9",
		"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3", "SSH-2.0-OpenSSH_9.6",
	}
	// webLabels are the first labels of web names, with the services
	// they offer.
	webLabels = []struct {
		label string
		svc   uint8
	}{
		{"www", svcHTTP | svcTLS | svcQUIC}, {"api", svcTLS | svcQUIC}, {"cdn", svcTLS | svcQUIC},
		{"static", svcTLS | svcQUIC}, {"login", svcTLS}, {"portal", svcTLS}, {"shop", svcTLS | svcQUIC},
		{"news", svcHTTP | svcTLS}, {"img", svcTLS | svcQUIC}, {"assets", svcTLS}, {"auth", svcTLS},
		{"docs", svcTLS}, {"mail", svcTLS}, {"vpn", svcTLS}, {"files", svcTLS}, {"media", svcTLS | svcQUIC},
		{"updates", svcHTTP}, {"status", svcTLS}, {"blog", svcHTTP | svcTLS}, {"support", svcTLS},
		{"calendar", svcTLS}, {"chat", svcTLS | svcQUIC}, {"video", svcTLS | svcQUIC}, {"search", svcTLS | svcQUIC},
		{"dl", svcHTTP}, {"sso", svcTLS}, {"wiki", svcTLS}, {"telemetry", svcTLS}, {"push", svcTLS},
		{"mirror", svcHTTP}, {"ocsp", svcHTTP}, {"repo", svcHTTP | svcTLS}, {"maps", svcTLS | svcQUIC},
	}
	syllables = []string{"ka", "lo", "ri", "ven", "tor", "mi", "sa", "del", "qua", "ex", "zen", "bar", "nox", "li", "pra", "tu", "mo", "vi", "ron", "da"}
)

// hash64 hashes the strings into a seed.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// randomAddr returns a random host address of p: for IPv4 neither the
// network nor the broadcast address (in prefixes that have them), for
// IPv6 not the all-zero interface identifier.
func randomAddr(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for {
		for i := p.Bits(); i < len(b)*8; i++ {
			bit := byte(0x80 >> (i % 8))
			b[i/8] &^= bit
			if r.Uint32()&1 == 1 {
				b[i/8] |= bit
			}
		}
		a, _ := netip.AddrFromSlice(b)
		if host == 0 {
			return a
		}
		allZero, allOne := true, true
		for i := p.Bits(); i < len(b)*8; i++ {
			if b[i/8]&(0x80>>(i%8)) != 0 {
				allZero = false
			} else {
				allOne = false
			}
		}
		switch {
		case allZero && (len(b) == 16 || host >= 2):
			continue
		case allOne && len(b) == 4 && host >= 2:
			continue
		}
		return a
	}
}

// pickAddrs returns n distinct random host addresses of p, none of them
// in taken, and adds them to taken. The caller has checked that p holds
// enough.
func pickAddrs(r *rand.Rand, p netip.Prefix, n int, taken map[netip.Addr]bool) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	if c := capacity(p); c < 1<<16 && uint64(n)*4 > c {
		// Dense: enumerate and shuffle.
		var all []netip.Addr
		host := p.Addr().BitLen() - p.Bits()
		first, last := p.Addr(), lastAddr(p)
		for a := first; ; a = a.Next() {
			edge := p.Addr().Is4() && host >= 2 && (a == first || a == last) || p.Addr().Is6() && a == first
			if !edge && !taken[a] {
				all = append(all, a)
			}
			if a == last {
				break
			}
		}
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for _, a := range all[:min(n, len(all))] {
			taken[a] = true
			out = append(out, a)
		}
		return out
	}
	for len(out) < n {
		a := randomAddr(r, p)
		if !taken[a] {
			taken[a] = true
			out = append(out, a)
		}
	}
	return out
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// newWorld builds the world of a configuration.
func newWorld(cfg *normalized) *world {
	r := rand.New(rand.NewPCG(hash64("world", cfg.Domain, cfg.Servers.String(), cfg.Servers6.String()), 0x5eed))
	w := &world{domain: cfg.Domain, nsName: "ns1." + cfg.Domain, mboxName: "hostmaster." + cfg.Domain}
	total := int(min(capacity(cfg.Servers), 40))
	taken := map[netip.Addr]bool{}
	v4 := pickAddrs(r, cfg.Servers, total, taken)
	n6 := int(min(capacity(cfg.Servers6), uint64(total)))
	v6 := pickAddrs(r, cfg.Servers6, n6, map[netip.Addr]bool{})
	w.scanner = v4[0]
	for i := 1; i < total; i++ {
		s := server{
			v4:        v4[i],
			wan:       int64(logUniform(r, 3e6, 160e6)),
			proc:      int64(logUniform(r, 0.3e6, 25e6)),
			nsPerByte: int64(logUniform(r, 8, 80)),
			software:  r.IntN(len(httpServers)),
			tls12:     r.IntN(5) == 0,
		}
		switch x := r.IntN(10); {
		case x < 7:
			s.ttl = uint8(64 - 6 - r.IntN(16))
		case x < 9:
			s.ttl = uint8(128 - 6 - r.IntN(16))
		default:
			s.ttl = uint8(255 - 6 - r.IntN(16))
		}
		if i-1 < len(v6) && (i <= 4 || r.IntN(10) < 7) {
			s.v6 = v6[i-1]
		}
		w.servers = append(w.servers, s)
	}
	// Roles: two resolvers near by, two NTP servers, two SSH servers, the
	// rest web servers.
	w.resolvers = []int{0, 1}
	for _, i := range w.resolvers {
		w.servers[i].wan = int64(logUniform(r, 1.5e6, 12e6))
		w.servers[i].proc = int64(logUniform(r, 0.05e6, 2e6))
	}
	w.ntp, w.ntpNames = []int{2, 3}, []string{"ntp1." + cfg.Domain, "ntp2." + cfg.Domain}
	w.ssh, w.sshNames = []int{4, 5}, []string{"git." + cfg.Domain, "bastion." + cfg.Domain}
	web := len(w.servers) - 6

	// Names: a random selection of common labels and made-up words.
	labels := append([]struct {
		label string
		svc   uint8
	}(nil), webLabels[1:]...)
	r.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	labels = append(append(labels[:0:0], webLabels[0]), labels[:22]...)
	for range 8 {
		word := ""
		for n := 2 + r.IntN(2); n > 0; n-- {
			word += syllables[r.IntN(len(syllables))]
		}
		svc := uint8(svcTLS)
		if r.IntN(3) == 0 {
			svc |= svcQUIC
		}
		labels = append(labels, struct {
			label string
			svc   uint8
		}{word, svc})
	}
	for range 4 { // a few names two levels down
		sub := []string{"eu", "us", "int", "edge", "v2"}[r.IntN(5)]
		l := labels[1+r.IntN(len(labels)-1)]
		labels = append(labels, struct {
			label string
			svc   uint8
		}{sub + "." + l.label, l.svc})
	}
	// Make sure each service has names.
	labels[1].svc |= svcHTTP
	labels[2].svc |= svcQUIC | svcTLS
	seen := map[string]bool{}
	ttls := []uint32{60, 300, 300, 600, 3600, 3600, 86400}
	for _, l := range labels {
		full := l.label + "." + cfg.Domain
		if seen[full] {
			continue
		}
		seen[full] = true
		n := name{name: full, srv: 6 + r.IntN(web), ttl: ttls[r.IntN(len(ttls))], svc: l.svc}
		if r.IntN(4) == 0 {
			n.cname = "e" + strconv.Itoa(1000+r.IntN(9000)) + ".cdn." + cfg.Domain
		}
		w.names = append(w.names, n)
	}
	// Popularity: Zipf-like over the order above (www first).
	cum := 0.0
	for i, n := range w.names {
		p := 1 / float64(i+1)
		cum += p
		w.cumDNS = append(w.cumDNS, cum)
		for s := range numSvc {
			if n.svc&(1<<s) != 0 {
				last := 0.0
				if k := len(w.cumSvc[s]); k > 0 {
					last = w.cumSvc[s][k-1]
				}
				w.bySvc[s] = append(w.bySvc[s], i)
				w.cumSvc[s] = append(w.cumSvc[s], last+p)
			}
		}
	}
	return w
}

// pickName returns a random name offering service svc (an index: 0 HTTP,
// 1 TLS, 2 QUIC), by popularity.
func (w *world) pickName(r *rand.Rand, svc int) *name {
	return &w.names[w.bySvc[svc][weighted(r, w.cumSvc[svc])]]
}

// osKind is a client host's operating system.
type osKind uint8

const (
	osWindows osKind = iota
	osMac
	osLinux
)

// browser is a client program that speaks HTTP and TLS.
type browser struct {
	ua    string
	hello helloProfile
	quic  bool // also speaks HTTP/3
}

var browsers = [...][]browser{
	osWindows: {
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", helloChrome, true},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", helloChrome, true},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", helloFirefox, true},
	},
	osMac: {
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15", helloSafari, true},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", helloChrome, true},
	},
	osLinux: {
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", helloFirefox, true},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", helloChrome, true},
	},
}

// tools are the non-browser HTTP clients of Linux hosts.
var tools = []browser{
	{"curl/8.11.1", helloOpenSSL, false},
	{"Debian APT-HTTP/1.3 (2.6.1)", helloOpenSSL, false},
	{"Wget/1.24.5", helloOpenSSL, false},
	{"python-requests/2.32.3", helloOpenSSL, false},
}

var sshClients = [...][]string{
	osWindows: {"SSH-2.0-OpenSSH_for_Windows_9.5", "SSH-2.0-PuTTY_Release_0.81"},
	osMac:     {"SSH-2.0-OpenSSH_9.8", "SSH-2.0-OpenSSH_9.9"},
	osLinux:   {"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "SSH-2.0-OpenSSH_9.9", "SSH-2.0-libssh2_1.11.0"},
}

// host is an internal client host of the organisation.
type host struct {
	v4, v6     netip.Addr // v6 is the zero Addr for a host without IPv6
	mac        [6]byte
	os         osKind
	prof       tcpProfile
	ttl        uint8
	browser    browser
	tool       browser // HTTP client other than the browser (Linux hosts)
	sshClient  string
	lan        int64 // round trip from the capture point, ns
	nsPerByte  int64 // the host's link, ns per byte
	tsBase     uint32
	ipid       uint16 // Windows numbers IPv4 packets per host
	port       uint16 // last ephemeral port used
	portLo     uint16
	portHi     uint16
	tcpWin     uint16
	mss        uint16
	pqSSH      bool // its SSH client offers a post-quantum key exchange
	activities float64
}

// nextPort returns the host's next ephemeral port: Windows and macOS count
// up one by one, Linux hops by a few.
func (h *host) nextPort(r *rand.Rand) uint16 {
	step := 1
	if h.os == osLinux {
		step = 1 + r.IntN(7)
	}
	p := int(h.port) + step
	if p > int(h.portHi) {
		p = int(h.portLo) + p - int(h.portHi) - 1
	}
	h.port = uint16(p)
	return h.port
}

// newHosts creates the organisation's hosts.
func newHosts(r *rand.Rand, cfg *normalized) []host {
	v4 := pickAddrs(r, cfg.Clients, cfg.Hosts, map[netip.Addr]bool{})
	v6 := pickAddrs(r, cfg.Clients6, cfg.Hosts, map[netip.Addr]bool{})
	hs := make([]host, cfg.Hosts)
	for i := range hs {
		h := &hs[i]
		h.v4 = v4[i]
		if r.IntN(5) != 0 {
			h.v6 = v6[i]
		}
		h.mac = randomMAC(r)
		switch x := r.IntN(10); {
		case x < 5:
			h.os, h.prof, h.ttl, h.portLo, h.portHi, h.tcpWin = osWindows, profWindows, 128, 49152, 65535, 1026
		case x < 7:
			h.os, h.prof, h.ttl, h.portLo, h.portHi, h.tcpWin = osMac, profMac, 64, 49152, 65535, 2048
		default:
			h.os, h.prof, h.ttl, h.portLo, h.portHi, h.tcpWin = osLinux, profLinux, 64, 32768, 60999, 501
		}
		bs := browsers[h.os]
		h.browser = bs[r.IntN(len(bs))]
		h.tool = h.browser
		if h.os == osLinux && r.IntN(2) == 0 {
			h.tool = tools[r.IntN(len(tools))]
		}
		cs := sshClients[h.os]
		h.sshClient = cs[r.IntN(len(cs))]
		h.pqSSH = h.os != osWindows && !strings.Contains(h.sshClient, "libssh2")
		h.lan = int64(logUniform(r, 0.08e6, 1.5e6))
		h.nsPerByte = int64(logUniform(r, 8, 40))
		h.tsBase = r.Uint32()
		h.ipid = uint16(r.Uint32())
		h.port = h.portLo + uint16(r.IntN(int(h.portHi-h.portLo)))
		h.mss = 1460
		h.activities = logUniform(r, 0.2, 5)
	}
	return hs
}

// randomMAC returns a locally administered unicast MAC address.
func randomMAC(r *rand.Rand) (m [6]byte) {
	v := r.Uint64()
	for i := range m {
		m[i] = byte(v >> (8 * i))
	}
	m[0] = m[0]&0xfc | 0x02
	return m
}
