package label

// The port table behind weak labels: the registered or customary server
// ports of the protocols that flowfed names. It is deliberately small: a
// port suggests a protocol only where that use dominates in practice, so
// that a weak label is a useful hint and not noise. Ports of protocols
// that run over TLS (HTTPS, IMAPS, SMTPS, DoT) give TLS.

// portProtocol returns the protocol customary on a server port of the
// transport, or Unknown.
func portProtocol(transport uint8, port uint16) Protocol {
	switch transport {
	case ipTCP:
		switch port {
		case 21:
			return FTP
		case 22:
			return SSH
		case 25, 587:
			return SMTP
		case 53:
			return DNS
		case 80, 8080:
			return HTTP
		case 443, 465, 853, 993, 995, 5061, 8443:
			return TLS
		case 554, 8554:
			return RTSP
		case 4222:
			return NATS
		case 4739:
			return IPFIX
		case 5060:
			return SIP
		case 6881:
			return BitTorrent
		case 30490:
			return SOMEIP
		}
	case ipUDP:
		switch port {
		case 53:
			return DNS
		case 67, 68, 546, 547:
			return DHCP
		case 123:
			return NTP
		case 443:
			return QUIC
		case 1900:
			return SSDP
		case 2055, 9995, 9996:
			return NetFlow
		case 3478:
			return STUN
		case 4739:
			return IPFIX
		case 5060:
			return SIP
		case 5353:
			return MDNS
		case 6881:
			return BitTorrent
		case 30490:
			return SOMEIP
		}
	}
	return Unknown
}
