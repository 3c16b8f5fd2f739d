package label

import (
	"errors"
	"strconv"
	"strings"
)

// Protocol is an application protocol that flowfed can name.
type Protocol uint16

// The protocols. Unknown is the zero value. The numbers are not stored by
// flowfed: stored and shared records carry the text form (see
// [Protocol.MarshalText]), so new protocols may be inserted anywhere.
const (
	Unknown Protocol = iota
	DNS
	HTTP
	TLS
	QUIC
	SSH
	SMTP
	FTP
	NTP
	DHCP
	SIP
	RTP
	BitTorrent
	NetFlow
	IPFIX
	MDNS   // multicast DNS (RFC 6762), DNS messages on port 5353
	RTSP   // RTSP 1.0 (RFC 2326)
	STUN   // STUN (RFC 5389/8489) and classic STUN (RFC 3489)
	NATS   // NATS messaging client protocol
	SOMEIP // SOME/IP and SOME/IP-SD (AUTOSAR)
	SSDP   // SSDP discovery (HTTP over UDP on port 1900)
	numProtocols
)

var protocolNames = [numProtocols]string{
	"Unknown", "DNS", "HTTP", "TLS", "QUIC", "SSH", "SMTP", "FTP", "NTP", "DHCP",
	"SIP", "RTP", "BitTorrent", "NetFlow", "IPFIX", "MDNS", "RTSP", "STUN", "NATS",
	"SOMEIP", "SSDP",
}

// ErrUnknownProtocol is returned by [ParseProtocol] and
// [Protocol.UnmarshalText] when the name is none of flowfed's protocols.
var ErrUnknownProtocol = errors.New("unknown protocol name")

// Protocols returns every protocol that [State] can name, Unknown excluded,
// in numeric order.
func Protocols() []Protocol {
	ps := make([]Protocol, 0, numProtocols-1)
	for p := Unknown + 1; p < numProtocols; p++ {
		ps = append(ps, p)
	}
	return ps
}

// String returns the protocol's name, such as "DNS" or "BitTorrent", or
// "Protocol(n)" for a value that names no protocol.
func (p Protocol) String() string {
	if p < numProtocols {
		return protocolNames[p]
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText returns the name of the protocol. It fails for a value that
// names no protocol, so that such a value is never stored.
func (p Protocol) MarshalText() ([]byte, error) {
	if p >= numProtocols {
		return nil, ErrUnknownProtocol
	}
	return []byte(protocolNames[p]), nil
}

// UnmarshalText sets p from a name accepted by [ParseProtocol].
func (p *Protocol) UnmarshalText(text []byte) error {
	v, err := ParseProtocol(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParseProtocol returns the protocol named s, ignoring case ("dns", "TLS",
// "bittorrent"). "Unknown" parses as [Unknown]; any other name returns an
// error wrapping [ErrUnknownProtocol].
func ParseProtocol(s string) (Protocol, error) {
	for i, name := range protocolNames {
		if strings.EqualFold(s, name) {
			return Protocol(i), nil
		}
	}
	return Unknown, &ParseError{Name: s}
}

// ParseError is returned by [ParseProtocol] for a name that is not a
// protocol's. It wraps [ErrUnknownProtocol].
type ParseError struct {
	Name string // the name that was given, as given
}

func (e *ParseError) Error() string {
	return "parsing protocol " + strconv.Quote(e.Name) + ": " + ErrUnknownProtocol.Error()
}

func (e *ParseError) Unwrap() error { return ErrUnknownProtocol }

// Source says how a label was found.
type Source uint8

const (
	// SourceNone: no label.
	SourceNone Source = iota
	// SourcePayload: the payload matched the protocol's grammar (strong).
	SourcePayload
	// SourcePort: only the transport port suggests the protocol (weak).
	SourcePort
	numSources
)

var sourceNames = [numSources]string{"none", "payload", "port"}

// String returns "none", "payload" or "port".
func (s Source) String() string {
	if s < numSources {
		return sourceNames[s]
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the text of [Source.String]; it fails for a value
// that names no source.
func (s Source) MarshalText() ([]byte, error) {
	if s >= numSources {
		return nil, errors.New("marshaling label source: invalid value " + strconv.Itoa(int(s)))
	}
	return []byte(sourceNames[s]), nil
}

// UnmarshalText sets s from "none", "payload" or "port".
func (s *Source) UnmarshalText(text []byte) error {
	for i, name := range sourceNames {
		if string(text) == name {
			*s = Source(i)
			return nil
		}
	}
	return errors.New("parsing label source " + strconv.Quote(string(text)) + ": not none, payload or port")
}

// Evidence is what the payload showed. Fields are empty when not seen.
// Every string is printable ASCII, at most [MaxEvidenceLen] bytes, copied
// out of the packet (it holds no reference to the caller's buffers).
//
// The names say where a field is mostly used; the text protocols that
// share HTTP's syntax (RTSP, SIP, SSDP) fill the HTTP fields too.
type Evidence struct {
	// DNSQuery is the name in the first question of a DNS or mDNS message,
	// in lower case, without the trailing dot ("www.example.org").
	DNSQuery string
	// DNSAnswer is the data of the first answer record: an address for A
	// and AAAA records, a name for CNAME, PTR, NS, MX and SRV records, the
	// first string of a TXT record, or "TYPE<n>" for other types. It is
	// empty when the response had no answer; DNSRcode then says why.
	DNSAnswer string
	// DNSRcode is the response code of the first response, such as
	// "NOERROR" or "NXDOMAIN"; empty while no response was seen.
	DNSRcode string
	// HTTPHost is the Host header of an HTTP request, or the host of an
	// RTSP request URL.
	HTTPHost string
	// HTTPMethod is the method of the first request (HTTP, RTSP, SIP,
	// SSDP), such as "GET", "DESCRIBE" or "INVITE".
	HTTPMethod string
	// HTTPStatus is the status code of the first response, such as "200".
	HTTPStatus string
	// UserAgent is the User-Agent header of an HTTP, RTSP or SIP request.
	UserAgent string
	// TLSSNI is the server name from a TLS or QUIC ClientHello, or from a
	// Google QUIC CHLO.
	TLSSNI string
	// TLSALPN is the ALPN protocol list that the client offered, comma
	// separated in the client's order ("h2,http/1.1").
	TLSALPN string
	// TLSVersion is the negotiated TLS version when the ServerHello was
	// seen ("TLSv1.3"), else the highest version the client offered.
	TLSVersion string
	// SSHBanner is the identification line of the SSH client (the
	// initiator), such as "SSH-2.0-OpenSSH_9.6"; the server's is in
	// Banner.
	SSHBanner string
	// QUICVersion names the QUIC version of the first long-header packet:
	// "v1", "v2", "draft-29", a Google version such as "Q050", or
	// "0x" and eight hex digits for others.
	QUICVersion string
	// Banner is the first line of the server's greeting: the SMTP or FTP
	// 220 reply, or the SSH server's identification line.
	Banner string
	// Command is the client's first command: for SMTP the EHLO or HELO
	// line with its domain, for FTP and NATS the verb alone (arguments such
	// as user names are not kept).
	Command string
	// Version is the protocol version where the message carries one: NTP
	// ("4"), NetFlow ("5", "9"), IPFIX ("10"), the HTTP, RTSP or SIP
	// version of the first message ("HTTP/1.1").
	Version string
	// Detail is one protocol-specific word or phrase: the NTP mode
	// ("client"), the DHCP message type ("DISCOVER"), the STUN message
	// ("Binding Request"), the RTP payload type ("PT 0"), how BitTorrent
	// was recognised ("handshake", "DHT", "uTP"), the SOME/IP service
	// ("service 0xffff method 0x8100").
	Detail string
}

// MaxEvidenceLen bounds every string of an [Evidence]: longer values are
// cut at this many bytes.
const MaxEvidenceLen = 255

// Label is the result for one flow.
type Label struct {
	Protocol Protocol
	Source   Source
	// Evidence is nil when nothing was recorded.
	Evidence *Evidence
}

// String returns the protocol name, followed by " (port)" for a weak
// label: "DNS", "TLS (port)", "Unknown".
func (l Label) String() string {
	if l.Source == SourcePort {
		return l.Protocol.String() + " (port)"
	}
	return l.Protocol.String()
}

// Strong reports whether the label came from the payload.
func (l Label) Strong() bool { return l.Source == SourcePayload && l.Protocol != Unknown }
