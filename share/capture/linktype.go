package capture

import "strconv"

// LinkType is a link-layer header type as stored in a pcap file header or a pcapng
// Interface Description Block: a LINKTYPE_ value from the tcpdump.org list. It is kept
// at full width (gopacket's layers.LinkType is a uint8, which turns 276 into 20).
type LinkType uint32

// Link types that flowfed meets in practice. Any other value read from a file is
// reported as is; String then prints it as "LINKTYPE(n)".
const (
	LinkTypeNull       LinkType = 0   // BSD loopback: 4-byte address family, host order
	LinkTypeEthernet   LinkType = 1   // IEEE 802.3 Ethernet
	LinkTypePPP        LinkType = 9   // PPP, RFC 1661/1662
	LinkTypeRaw12      LinkType = 12  // raw IP under the DLT_RAW value of most systems
	LinkTypeRaw14      LinkType = 14  // raw IP under the DLT_RAW value of OpenBSD
	LinkTypePPPHDLC    LinkType = 50  // PPP in HDLC-like framing, RFC 1662
	LinkTypePPPEther   LinkType = 51  // PPPoE session stage, RFC 2516
	LinkTypeRaw        LinkType = 101 // raw IP: IPv4 or IPv6 header first
	LinkTypeCHDLC      LinkType = 104 // Cisco HDLC
	LinkTypeIEEE80211  LinkType = 105 // IEEE 802.11 without radio header
	LinkTypeLoop       LinkType = 108 // OpenBSD loopback: 4-byte address family, network order
	LinkTypeLinuxSLL   LinkType = 113 // Linux cooked capture v1
	LinkTypeRadiotap   LinkType = 127 // IEEE 802.11 with radiotap header
	LinkTypePPI        LinkType = 192 // Per-Packet Information header
	LinkTypeIPNet      LinkType = 226 // Solaris ipnet
	LinkTypeIPv4       LinkType = 228 // raw IPv4
	LinkTypeIPv6       LinkType = 229 // raw IPv6
	LinkTypeNFLOG      LinkType = 239 // Linux netfilter NFLOG
	LinkTypeLinuxSLL2  LinkType = 276 // Linux cooked capture v2
	linkTypeMaxInField LinkType = 0xFFFF
)

var linkTypeNames = map[LinkType]string{
	LinkTypeNull:      "NULL",
	LinkTypeEthernet:  "ETHERNET",
	LinkTypePPP:       "PPP",
	LinkTypeRaw12:     "RAW_12",
	LinkTypeRaw14:     "RAW_14",
	LinkTypePPPHDLC:   "PPP_HDLC",
	LinkTypePPPEther:  "PPP_ETHER",
	LinkTypeRaw:       "RAW",
	LinkTypeCHDLC:     "C_HDLC",
	LinkTypeIEEE80211: "IEEE802_11",
	LinkTypeLoop:      "LOOP",
	LinkTypeLinuxSLL:  "LINUX_SLL",
	LinkTypeRadiotap:  "IEEE802_11_RADIOTAP",
	LinkTypePPI:       "PPI",
	LinkTypeIPNet:     "IPNET",
	LinkTypeIPv4:      "IPV4",
	LinkTypeIPv6:      "IPV6",
	LinkTypeNFLOG:     "NFLOG",
	LinkTypeLinuxSLL2: "LINUX_SLL2",
}

// String returns the LINKTYPE_ name without its prefix ("ETHERNET", "LINUX_SLL2"), or
// "LINKTYPE(n)" for a value without a name here.
func (t LinkType) String() string {
	if s, ok := linkTypeNames[t]; ok {
		return s
	}
	return "LINKTYPE(" + strconv.FormatUint(uint64(t), 10) + ")"
}
