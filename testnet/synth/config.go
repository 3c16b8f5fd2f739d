package synth

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// The kinds of traffic, as named in [Config.Mix] and [Summary.ByKind].
const (
	KindDNS  = "dns"  // UDP DNS queries and answers (A, AAAA, NXDOMAIN)
	KindHTTP = "http" // HTTP/1.1 over TCP: GET, 200 response with a body
	KindTLS  = "tls"  // TLS 1.3 and 1.2 over TCP: ClientHello with SNI and ALPN
	KindSSH  = "ssh"  // SSH: banners, key exchange, encrypted session
	KindNTP  = "ntp"  // NTPv4 client and server packets on UDP 123
	KindQUIC = "quic" // QUIC v1: protected client Initial with SNI, server flight
	KindScan = "scan" // TCP SYN scans answered by RSTs, SYN-ACKs or nothing
)

// kind indexes the kinds; the order is the order of kindNames.
type kind uint8

const (
	kDNS kind = iota
	kHTTP
	kTLS
	kSSH
	kNTP
	kQUIC
	kScan
	numKinds
	kLegacy = numKinds // the fixed flow groups of WriteCapture
)

var kindNames = [numKinds]string{KindDNS, KindHTTP, KindTLS, KindSSH, KindNTP, KindQUIC, KindScan}

// Kinds returns the names of the kinds of traffic that [Config.Mix] may
// weigh, in a fixed order.
func Kinds() []string { return append([]string(nil), kindNames[:]...) }

// defaultMix is the share of the packets of each kind when Config.Mix is
// nil: mostly TLS, QUIC and DNS, as in a typical office network, with a
// scan large enough to stand out.
var defaultMix = [numKinds]float64{
	kDNS:  0.12,
	kHTTP: 0.14,
	kTLS:  0.32,
	kSSH:  0.10,
	kNTP:  0.03,
	kQUIC: 0.17,
	kScan: 0.12,
}

// DefaultMix returns the weights used when [Config.Mix] is nil.
func DefaultMix() map[string]float64 {
	m := make(map[string]float64, numKinds)
	for k, w := range defaultMix {
		m[kindNames[k]] = w
	}
	return m
}

// Defaults of the Config fields left zero.
const (
	DefaultHosts   = 20
	DefaultPackets = 5000
	DefaultDomain  = "example.org"
	// DefaultDuration is the spread of the flow starts.
	DefaultDuration = time.Hour
)

// Default prefixes and start time (see [Config]).
var (
	DefaultClients  = netip.MustParsePrefix("192.0.2.0/24")
	DefaultServers  = netip.MustParsePrefix("198.51.100.0/24")
	DefaultClients6 = netip.MustParsePrefix("2001:db8:1::/64")
	DefaultServers6 = netip.MustParsePrefix("2001:db8:5100::/48")
	DefaultStart    = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
)

// Limits of a Config.
const (
	// MaxPackets bounds Config.Packets.
	MaxPackets = 1 << 30
	// MaxHosts bounds Config.Hosts.
	MaxHosts = 1 << 16
	// minServers is the number of distinct addresses that the Servers
	// prefix must hold: web servers, resolvers, NTP and SSH servers and
	// a scanner.
	minServers = 8
)

// Config says what to synthesize. The zero value of every field stands for
// its default, so Config{} and Config{Seed: 7} are valid. The same Config
// always gives the same bytes.
//
// The external world (the names under Domain, the servers they resolve
// to, the resolvers, the NTP and SSH servers and an external scanner)
// depends only on Domain, Servers and Servers6, not on Seed: captures of
// several organisations synthesized with different seeds and Clients
// prefixes but the same servers talk to the same hosts, as members of a
// federation do, and share indicators.
type Config struct {
	// Seed selects the organisation's hosts, their behaviour and the
	// timing. Captures with different seeds differ.
	Seed uint64
	// Hosts is the number of internal client hosts (default 20); each has
	// an IPv4 address in Clients and most an IPv6 address in Clients6.
	Hosts int
	// Packets is the approximate number of packets to write (default
	// 5000). Flows are written whole: the capture ends with the first
	// flow that reaches the count, and sizes are trimmed so that it
	// overshoots by a few packets at most.
	Packets int
	// Clients is the prefix of the client hosts (default 192.0.2.0/24).
	// Servers holds the external servers (default 198.51.100.0/24).
	// Clients6 and Servers6 are their IPv6 counterparts (defaults
	// 2001:db8:1::/64 and 2001:db8:5100::/48). Every prefix must lie in a
	// documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
	// 2001:db8::/32, 3fff::/20) or a private one (10.0.0.0/8,
	// 172.16.0.0/12, 192.168.0.0/16, fc00::/7), and a client prefix must
	// not overlap the server prefix of its family.
	Clients, Servers, Clients6, Servers6 netip.Prefix
	// Start is the time of the first flow (default 2026-01-05T09:00:00Z).
	Start time.Time
	// Duration is the spread of the flow starts (default one hour). Flows
	// start evenly by volume over it, in order and never at the same
	// instant; the last ones end a little after it.
	Duration time.Duration
	// Mix gives the relative share of the packets of each kind (see
	// [Kinds]); kinds left out get none. Nil means [DefaultMix].
	Mix map[string]float64
	// Domain is the DNS domain of every name written (DNS questions,
	// TLS and QUIC server names, HTTP hosts); default example.org. It
	// must be example.org, example.com or example.net or a name under
	// one of them.
	Domain string
}

// normalized is a validated Config with its defaults applied.
type normalized struct {
	Config
	mix [numKinds]float64 // shares of the packets, summing to 1
}

// Validate reports whether c can be synthesized, with an error wrapping
// [ErrInvalidConfig] (and [ErrNotReserved] for a prefix outside the
// reserved ranges) that names the field at fault.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// normalize applies the defaults and validates.
func (c Config) normalize() (normalized, error) {
	n := normalized{Config: c}
	switch {
	case c.Hosts < 0 || c.Hosts > MaxHosts:
		return n, invalid("hosts %d: need 1 to %d (0 means %d)", c.Hosts, MaxHosts, DefaultHosts)
	case c.Hosts == 0:
		n.Hosts = DefaultHosts
	}
	switch {
	case c.Packets < 0 || c.Packets > MaxPackets:
		return n, invalid("packets %d: need 1 to %d (0 means %d)", c.Packets, MaxPackets, DefaultPackets)
	case c.Packets == 0:
		n.Packets = DefaultPackets
	}
	if c.Duration < 0 {
		return n, invalid("duration %v is negative", c.Duration)
	}
	if c.Duration == 0 {
		n.Duration = DefaultDuration
	}
	if c.Start.IsZero() {
		n.Start = DefaultStart
	}
	// Classic pcap stores unsigned 32-bit seconds; leave a day for the
	// flows that end after the last start.
	if s := n.Start.Unix(); s < 0 || s+int64(n.Duration/time.Second)+86400 > math.MaxUint32 {
		return n, invalid("start %v and duration %v: pcap time stamps run from 1970 to 2106", n.Start, n.Duration)
	}
	var err error
	if n.Clients, err = checkPrefix("clients", c.Clients, DefaultClients, false); err != nil {
		return n, err
	}
	if n.Servers, err = checkPrefix("servers", c.Servers, DefaultServers, false); err != nil {
		return n, err
	}
	if n.Clients6, err = checkPrefix("clients6", c.Clients6, DefaultClients6, true); err != nil {
		return n, err
	}
	if n.Servers6, err = checkPrefix("servers6", c.Servers6, DefaultServers6, true); err != nil {
		return n, err
	}
	if n.Clients.Overlaps(n.Servers) {
		return n, invalid("clients %v overlaps servers %v", n.Clients, n.Servers)
	}
	if n.Clients6.Overlaps(n.Servers6) {
		return n, invalid("clients6 %v overlaps servers6 %v", n.Clients6, n.Servers6)
	}
	if have := capacity(n.Clients); have < uint64(n.Hosts) {
		return n, invalid("clients %v holds %d host addresses, fewer than the %d hosts", n.Clients, have, n.Hosts)
	}
	if have := capacity(n.Servers); have < minServers {
		return n, invalid("servers %v holds %d host addresses, need at least %d", n.Servers, have, minServers)
	}
	if have := capacity(n.Clients6); have < uint64(n.Hosts) {
		return n, invalid("clients6 %v holds %d host addresses, fewer than the %d hosts", n.Clients6, have, n.Hosts)
	}
	if have := capacity(n.Servers6); have < minServers {
		return n, invalid("servers6 %v holds %d host addresses, need at least %d", n.Servers6, have, minServers)
	}
	if n.Domain, err = checkDomain(c.Domain); err != nil {
		return n, err
	}
	if n.mix, err = checkMix(c.Mix); err != nil {
		return n, err
	}
	return n, nil
}

// reserved are the documentation (RFC 5737, RFC 3849, RFC 9637) and private
// (RFC 1918, RFC 4193) ranges that synthetic addresses may come from.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("3fff::/20"),
	netip.MustParsePrefix("fc00::/7"),
}

// checkPrefix validates one prefix field, returning it masked, or def for
// the zero prefix.
func checkPrefix(field string, p, def netip.Prefix, v6 bool) (netip.Prefix, error) {
	if p == (netip.Prefix{}) {
		return def, nil
	}
	if !p.IsValid() {
		return p, invalid("%s prefix %v is not valid", field, p)
	}
	if p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return p, invalid("%s prefix %v: zones and IPv4-mapped addresses are not allowed", field, p)
	}
	if p.Addr().Is6() != v6 {
		want := "IPv4"
		if v6 {
			want = "IPv6"
		}
		return p, invalid("%s prefix %v is not %s", field, p, want)
	}
	p = p.Masked()
	for _, r := range reserved {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return p, nil
		}
	}
	return p, fmt.Errorf("%w: %s prefix %v: %w", ErrInvalidConfig, field, p, ErrNotReserved)
}

// capacity returns how many host addresses a prefix offers (IPv4 without
// its network and broadcast addresses, IPv6 without the all-zero
// interface identifier), saturating at 1<<62.
func capacity(p netip.Prefix) uint64 {
	host := p.Addr().BitLen() - p.Bits()
	switch {
	case host >= 62:
		return 1 << 62
	case p.Addr().Is4() && host >= 2:
		return 1<<host - 2
	case p.Addr().Is4():
		return 1 << host
	}
	return 1<<host - 1
}

// documentationDomains are the domains reserved for examples (RFC 2606).
var documentationDomains = []string{"example.org", "example.com", "example.net"}

// checkDomain validates and lower-cases the domain.
func checkDomain(d string) (string, error) {
	if d == "" {
		return DefaultDomain, nil
	}
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if len(d) > 200 {
		return d, invalid("domain of %d bytes: at most 200", len(d))
	}
	ok := false
	for _, base := range documentationDomains {
		if d == base || strings.HasSuffix(d, "."+base) {
			ok = true
		}
	}
	if !ok {
		return d, invalid("domain %q is not example.org, example.com, example.net or under them", d)
	}
	for _, l := range strings.Split(d, ".") {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return d, invalid("domain %q: label %q is empty, too long or starts or ends with a hyphen", d, l)
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return d, invalid("domain %q: label %q has a character other than a-z, 0-9 and -", d, l)
			}
		}
	}
	return d, nil
}

// checkMix validates the weights and returns them as shares summing to 1.
func checkMix(m map[string]float64) ([numKinds]float64, error) {
	if m == nil {
		return defaultMix, nil
	}
	var w [numKinds]float64
	var given [numKinds]bool
	sum := 0.0
	for name, v := range m {
		k := -1
		for i, n := range kindNames {
			if strings.EqualFold(name, n) {
				k = i
			}
		}
		switch {
		case k < 0:
			return w, invalid("mix: unknown kind %q (kinds: %s)", name, strings.Join(kindNames[:], ", "))
		case math.IsNaN(v) || math.IsInf(v, 0) || v < 0:
			return w, invalid("mix: weight %v of %s is not a finite number >= 0", v, name)
		case given[k]:
			return w, invalid("mix: kind %s given twice", kindNames[k])
		}
		given[k] = true
		w[k] = v
	}
	for _, v := range w {
		sum += v
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return w, invalid("mix: the weights must not all be zero")
	}
	for k := range w {
		w[k] /= sum
	}
	return w, nil
}
