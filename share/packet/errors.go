package packet

import "errors"

// Sentinel errors returned by [Decode] (and [Packet.Err]); test with
// errors.Is. Apart from ErrUnsupportedLinkType they mirror Packet.Stop, and
// the Packet still holds every header decoded before the stop.
var (
	// ErrUnsupportedLinkType is returned when the link type is not one of
	// the Link constants of this package; nothing was decoded.
	ErrUnsupportedLinkType = errors.New("unsupported link type")

	// ErrTruncated is returned when the captured bytes end inside a header
	// (Stop == Truncated), for example a packet cut by a small snap length.
	ErrTruncated = errors.New("packet truncated inside a header")

	// ErrMalformed is returned when a header is invalid or contradicts its
	// container (Stop == Malformed): a wrong IP version, a header length
	// below the minimum, a length field reaching past the enclosing header.
	ErrMalformed = errors.New("malformed header")

	// ErrUnsupported is returned when decoding reached a protocol this
	// package does not decode (Stop == Unsupported), such as an EtherType
	// other than IP, ARP, VLAN, MPLS and PPPoE, or a non-IP PPP protocol.
	ErrUnsupported = errors.New("unsupported protocol")

	// ErrTooDeep is returned when a packet needs more than MaxHeaders
	// headers, MaxAddrs address fields or MaxTunnels nested tunnels, or
	// holds an over-long MPLS label stack (Stop == TooDeep).
	ErrTooDeep = errors.New("packet nested too deep")
)
