package pcap

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/pseudo"
)

// PayloadMode says what happens to the bytes after the transport header.
type PayloadMode uint8

// Payload modes. The zero value is PayloadCut.
const (
	// PayloadCut keeps the headers up to the transport layer and the application
	// messages that are parsed and rewritten (DNS, DHCP, DHCPv6); every other byte
	// after the transport header is cut.
	PayloadCut PayloadMode = iota
	// PayloadKeep keeps the payload of TCP and UDP, the data of ICMP echo messages
	// and of ESP as they are, except for DNS, DHCP and DHCPv6 messages, which are
	// rewritten or, when they cannot be parsed, cut. SCTP chunks, the payload of
	// other IP protocols (IGMP, PIM, OSPF, ...), of IP fragments after the first and
	// of NetBIOS name and datagram services are cut: those carry addresses that are
	// not rewritten. Addresses inside other application data (FTP PORT commands,
	// SIP, HTTP headers) are not rewritten: keep only what is meant to be shared.
	PayloadKeep
	// PayloadDrop cuts everything after the transport header, application
	// messages included.
	PayloadDrop
	numPayloadModes
)

var payloadNames = [numPayloadModes]string{"cut", "keep", "drop"}

// String returns "cut", "keep" or "drop".
func (m PayloadMode) String() string {
	if m < numPayloadModes {
		return payloadNames[m]
	}
	return fmt.Sprintf("PayloadMode(%d)", uint8(m))
}

// ParsePayloadMode returns the payload mode named s.
func ParsePayloadMode(s string) (PayloadMode, error) {
	for i, n := range payloadNames {
		if strings.EqualFold(s, n) {
			return PayloadMode(i), nil
		}
	}
	return 0, fmt.Errorf("parsing payload mode %q (want cut, keep or drop): %w", s, ErrOptions)
}

// MarshalText implements encoding.TextMarshaler.
func (m PayloadMode) MarshalText() ([]byte, error) {
	if m >= numPayloadModes {
		return nil, fmt.Errorf("marshaling payload mode %d: %w", uint8(m), ErrOptions)
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with [ParsePayloadMode].
func (m *PayloadMode) UnmarshalText(b []byte) error {
	v, err := ParsePayloadMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Passthrough lists the addresses that are kept as they are: special addresses that
// name no host. Every other address is pseudonymized, and never to an address of
// this list: when a pseudonym falls into it, the permutation is applied again until
// it leaves the list (cycle walking). That keeps the mapping a bijection between
// the addresses outside the list, so [Deanonymize] can tell a kept address from a
// pseudonym and restore every one.
//
// Walking costs one more evaluation per step, on average 1/(1-f) evaluations for a
// list that covers the fraction f of the address space; a list may therefore cover at
// most half of the IPv4 or IPv6 space.
type Passthrough struct {
	Prefixes []netip.Prefix
	// MACZero keeps 00:00:00:00:00:00, the unknown target of an ARP request.
	MACZero bool
	// MACBroadcast keeps ff:ff:ff:ff:ff:ff.
	MACBroadcast bool
	// MACMulticast keeps group MAC addresses (I/G bit set), except that the 24
	// low bits of an IPv6 solicited-node group (33:33:ff:xx:xx:xx), which repeat
	// the end of a unicast address, are pseudonymized; so are those of a
	// solicited-node IPv6 address ff02::1:ffxx:xxxx when its prefix passes through.
	MACMulticast bool
}

// Named classes of pass-through addresses, as accepted by [ParsePassthrough].
type passClass struct {
	name     string
	prefixes []string
	mac      func(*Passthrough) // sets the MAC entries of the class
}

var passClasses = []passClass{
	{"unspecified", []string{"0.0.0.0/32", "::/128"}, func(p *Passthrough) { p.MACZero = true }},
	{"broadcast", []string{"255.255.255.255/32"}, func(p *Passthrough) { p.MACBroadcast = true }},
	{"loopback", []string{"127.0.0.0/8", "::1/128"}, nil},
	{"multicast", []string{"224.0.0.0/4", "ff00::/8"}, func(p *Passthrough) { p.MACMulticast = true }},
}

// DefaultPassthrough returns the default list: the unspecified, broadcast, loopback
// and multicast addresses of IPv4, IPv6 and MAC.
func DefaultPassthrough() Passthrough {
	p, err := ParsePassthrough("unspecified,broadcast,loopback,multicast")
	if err != nil {
		panic(err) // the constant list above is valid
	}
	return p
}

// ParsePassthrough parses a comma-separated list of class names (unspecified,
// broadcast, loopback, multicast), IP prefixes or addresses (192.0.2.53/32,
// 2001:db8::1), and mac-zero, mac-broadcast, mac-multicast. "none" (or an empty
// string) is the empty list. The result is validated as [Passthrough.Validate] does.
func ParsePassthrough(s string) (Passthrough, error) {
	var p Passthrough
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch f {
		case "", "none":
			continue
		case "mac-zero":
			p.MACZero = true
			continue
		case "mac-broadcast":
			p.MACBroadcast = true
			continue
		case "mac-multicast":
			p.MACMulticast = true
			continue
		}
		if i := slices.IndexFunc(passClasses, func(c passClass) bool { return c.name == f }); i >= 0 {
			for _, s := range passClasses[i].prefixes {
				p.Prefixes = append(p.Prefixes, netip.MustParsePrefix(s))
			}
			if m := passClasses[i].mac; m != nil {
				m(&p)
			}
			continue
		}
		pf, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				return Passthrough{}, fmt.Errorf("parsing pass-through entry %q: not a class name, prefix or address: %w", f, ErrOptions)
			}
			pf = netip.PrefixFrom(a, a.BitLen())
		}
		p.Prefixes = append(p.Prefixes, pf.Masked())
	}
	if err := p.Validate(); err != nil {
		return Passthrough{}, err
	}
	return p, nil
}

// Validate checks that the list covers at most half of each address family and
// holds no IPv4-mapped IPv6 prefixes (IPv4-mapped addresses follow the IPv4 list).
func (p Passthrough) Validate() error {
	var f4, f6 float64
	for _, pf := range p.Prefixes {
		if !pf.IsValid() || pf.Addr().Zone() != "" {
			return fmt.Errorf("checking pass-through prefix %v: %w", pf, ErrOptions)
		}
		if pf.Addr().Is4In6() {
			return fmt.Errorf("checking pass-through prefix %v: write IPv4-mapped prefixes as IPv4: %w", pf, ErrOptions)
		}
		share := 1 / float64(uint64(1)<<min(pf.Bits(), 63))
		if pf.Addr().Is4() {
			f4 += share
		} else {
			f6 += share
		}
	}
	if f4 > 0.5 || f6 > 0.5 {
		return fmt.Errorf("checking pass-through list: it covers more than half of an address family: %w", ErrOptions)
	}
	return nil
}

// String returns the list in the form [ParsePassthrough] reads: prefixes first,
// then the MAC entries; "none" for the empty list.
func (p Passthrough) String() string {
	var s []string
	for _, pf := range p.Prefixes {
		s = append(s, pf.String())
	}
	if p.MACZero {
		s = append(s, "mac-zero")
	}
	if p.MACBroadcast {
		s = append(s, "mac-broadcast")
	}
	if p.MACMulticast {
		s = append(s, "mac-multicast")
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// Options configure [Anonymize] and [AnonymizeFile].
type Options struct {
	// Mode is the address pseudonymization mode: pseudo.ModeCryptoPAn (the
	// default when empty) or pseudo.ModePFX. Other modes do not keep the address
	// family and are refused with ErrMode.
	Mode pseudo.Mode
	// AddrKey is the key of Mode, Mode.KeySize() bytes.
	AddrKey []byte
	// MACKey keys the MAC pseudonyms; at least pseudo.MinDerivedKeySize bytes.
	MACKey []byte
	// KeyID names the key in the anonymization record of the output (a keyvault
	// epoch key ID), so that its owner can restore the addresses.
	KeyID string
	// KeepOUI keeps the vendor part (first three octets) of MAC addresses.
	KeepOUI bool
	// Payload selects what is kept after the transport headers.
	Payload PayloadMode
	// KeepTCPOptions keeps TCP timestamp values, which are zeroed by default:
	// their clock rate and offset identify a host across addresses.
	KeepTCPOptions bool
	// Passthrough is the list of addresses kept as they are; nil means
	// DefaultPassthrough.
	Passthrough *Passthrough
	// TimeShift is added to every timestamp.
	TimeShift time.Duration
	// TimeRound, when positive, rounds every timestamp (after the shift) down to a
	// multiple of it.
	TimeRound time.Duration
	// Format is the output container; zero keeps the input's.
	Format capture.Format
	// Version is the flowfed version recorded in the output.
	Version string
	// Progress, when set, is called from the rewriting goroutine about every
	// 65,536 packets and once at the end.
	Progress func(Progress)
}

// Progress reports how far a rewrite has come.
type Progress struct {
	Packets int64 // packets read
	Bytes   int64 // bytes of the input consumed
	Done    bool  // the last report
}

// RestoreOptions configure [Deanonymize] and [DeanonymizeFile].
type RestoreOptions struct {
	// Meta is the anonymization record of the capture, as [ReadMetadata] returns
	// it; its mode, key ID, KeepOUI and pass-through list select the inverse
	// mapping.
	Meta Metadata
	// AddrKey and MACKey are the keys the capture was anonymized with.
	AddrKey []byte
	MACKey  []byte
	// Progress is as in Options.
	Progress func(Progress)
}

// passthrough resolves the nil default.
func (o *Options) passthrough() Passthrough {
	if o.Passthrough == nil {
		return DefaultPassthrough()
	}
	return *o.Passthrough
}

// mode resolves the empty default.
func (o *Options) mode() pseudo.Mode {
	if o.Mode == "" {
		return pseudo.ModeCryptoPAn
	}
	return o.Mode
}

// check validates the options that do not need keys.
func (o *Options) check() error {
	if !o.mode().PrefixPreserving() {
		return fmt.Errorf("checking options: mode %s maps IPv4 to IPv6, use cryptopan or ipcrypt-pfx: %w", o.mode(), ErrMode)
	}
	if o.Payload >= numPayloadModes {
		return fmt.Errorf("checking options: payload mode %d: %w", uint8(o.Payload), ErrOptions)
	}
	if o.TimeRound < 0 {
		return fmt.Errorf("checking options: time rounding %v is negative: %w", o.TimeRound, ErrOptions)
	}
	if o.Format != 0 && o.Format != capture.FormatPcap && o.Format != capture.FormatPcapng {
		return fmt.Errorf("checking options: output format %d: %w", uint8(o.Format), ErrOptions)
	}
	if o.Passthrough != nil {
		if err := o.Passthrough.Validate(); err != nil {
			return err
		}
	}
	return nil
}
