// Package synth writes synthetic captures: realistic packets (TCP connections, DNS
// with answers, IPv6 exchanges) between documentation-range addresses, as sample
// data for demonstrations and tests that must not depend on real traffic.
package synth

import (
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowfed/flowfed/share/capture"
)

// WriteCapture writes a classic pcap (Ethernet, nanosecond timestamps) with, per
// flow index, a TCP connection with handshake and teardown, a DNS query and its
// answer, and an IPv6 UDP exchange, all between documentation addresses, and
// returns the addresses it used. The same flows value gives the same bytes.
func WriteCapture(out io.Writer, flows int) (addrs []netip.Addr, err error) {
	w, err := capture.NewPcapWriter(out, capture.LinkType(1), 65535, true)
	if err != nil {
		return nil, err
	}
	ts := int64(1_700_000_000_000_000_000)
	write := func(ls ...gopacket.SerializableLayer) {
		if err != nil {
			return
		}
		buf := gopacket.NewSerializeBuffer()
		if err = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			return
		}
		ts += 1_000_000
		err = w.WritePacket(capture.Packet{Data: buf.Bytes(), Timestamp: ts, OrigLen: len(buf.Bytes())})
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	for i := range flows {
		cli := net.IP{192, 0, 2, byte(1 + i%200)}
		srv := net.IP{198, 51, 100, byte(1 + i%7)}
		addrs = append(addrs, netip.AddrFrom4([4]byte(cli)), netip.AddrFrom4([4]byte(srv)))
		port := layers.TCPPort(40000 + i)
		for j, fl := range []struct{ syn, ack, fin, rev bool }{{syn: true}, {syn: true, ack: true, rev: true}, {ack: true}, {fin: true, ack: true}, {fin: true, ack: true, rev: true}, {ack: true}} {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv}
			tcp := &layers.TCP{SrcPort: port, DstPort: 443, SYN: fl.syn, ACK: fl.ack, FIN: fl.fin, Seq: uint32(1000 + j), Window: 1000}
			if fl.rev {
				ip.SrcIP, ip.DstIP = srv, cli
				tcp.SrcPort, tcp.DstPort = 443, port
			}
			_ = tcp.SetNetworkLayerForChecksum(ip)
			write(eth, ip, tcp)
		}
		// A DNS query and its answer naming another documentation address.
		ans := net.IP{203, 0, 113, byte(1 + i%50)}
		addrs = append(addrs, netip.AddrFrom4([4]byte(ans)))
		q := &layers.DNS{ID: uint16(i), RD: true, Questions: []layers.DNSQuestion{{Name: []byte("www.example.org"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: cli, DstIP: srv}
		udp := &layers.UDP{SrcPort: layers.UDPPort(50000 + i), DstPort: 53}
		_ = udp.SetNetworkLayerForChecksum(ip)
		write(eth, ip, udp, q)
		r := &layers.DNS{ID: uint16(i), QR: true, RD: true, RA: true, Questions: q.Questions,
			Answers: []layers.DNSResourceRecord{{Name: []byte("www.example.org"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: ans}}}
		ip2 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: srv, DstIP: cli}
		udp2 := &layers.UDP{SrcPort: 53, DstPort: layers.UDPPort(50000 + i)}
		_ = udp2.SetNetworkLayerForChecksum(ip2)
		write(eth, ip2, udp2, r)
		// An IPv6 UDP exchange.
		c6 := net.ParseIP("2001:db8::10").To16()
		c6[15] = byte(i)
		s6 := net.ParseIP("2001:db8:1::53").To16()
		addrs = append(addrs, netip.AddrFrom16([16]byte(c6)), netip.AddrFrom16([16]byte(s6)))
		eth6 := &layers.Ethernet{SrcMAC: eth.SrcMAC, DstMAC: eth.DstMAC, EthernetType: layers.EthernetTypeIPv6}
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: c6, DstIP: s6}
		u6 := &layers.UDP{SrcPort: 5000, DstPort: 9999}
		_ = u6.SetNetworkLayerForChecksum(ip6)
		write(eth6, ip6, u6, gopacket.Payload("hello"))
	}
	if err != nil {
		return nil, fmt.Errorf("writing synthetic capture: %w", err)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("writing synthetic capture: %w", err)
	}
	return addrs, nil
}
