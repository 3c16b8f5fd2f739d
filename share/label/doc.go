// Package label names the application protocol of a flow from payload inspection of
// its first packets, keeping the evidence (TLS SNI, HTTP host, DNS query, SSH banner,
// QUIC version, ...), and falls back to a weak, port-based label when the payload
// says nothing.
//
// A flow table holds one [State] per flow, a fixed-size value of 32 bytes whose
// zero value is ready. It calls [State.Observe] for each of the flow's first
// payload-bearing packets, in capture order, until Observe reports done, and
// [State.Result] when the flow ends:
//
//	var s label.State
//	for each payload-bearing packet p of the flow, while !done:
//		done = s.Observe(p.fromInitiator, p.proto, p.srcPort, p.dstPort, p.payload)
//	l := s.Result(proto, initiatorPort, responderPort)
//	// l.Protocol, l.Source (payload or port), l.Evidence
//
// Labels are per flow and per payload: nothing is learnt across flows (no
// host or port caches, no address lists), so a label never depends on
// which other traffic a capture holds, and two members of a federation
// label the same flow alike.
//
// # Protocols
//
// Each protocol is recognised by its grammar, on any port unless said
// otherwise; the checks are strict enough that random bytes essentially
// never pass them (a length field that must match, a magic number, a
// version together with a structure):
//
//   - [DNS]: a header of a plausible query or response with one question,
//     a question name of printable labels (compression pointers must
//     point backwards) and a known class, and records that parse; over
//     UDP on any port, over TCP with the two-byte length prefix, the
//     message spanning segments. NetBIOS names (and ports 137, 138) are
//     not DNS. On port 5353 the same format is [MDNS]; LLMNR (port 5355)
//     shares it and is labelled DNS.
//   - [HTTP]: a request line "METHOD target HTTP/1.x" or "PRI * HTTP/2.0",
//     or a status line "HTTP/1.x ddd", the request headers read until
//     their end. [RTSP] and [SIP] are the same syntax with their versions
//     (SIP over UDP and TCP); HTTP over UDP on port 1900, or an M-SEARCH or
//     NOTIFY of "*", is [SSDP]; a tracker request ("/announce" with
//     info_hash) is [BitTorrent].
//   - [TLS]: a handshake record holding a ClientHello or ServerHello, read
//     across records and segments; or, for a connection seen after its
//     handshake, a segment that is an exact run of TLS records.
//   - [QUIC]: a long header of a known version (1, 2, drafts, Google and
//     mvfst versions) whose connection IDs fit, a Version Negotiation
//     packet offering a known version, or a Google QUIC public header.
//     The client's Initial packets are decrypted (RFC 9001, RFC 9369) to
//     read the ClientHello, including one that spans two packets.
//   - [SSH]: an identification line "SSH-2.0-", "SSH-1.99-" or "SSH-1.5-".
//   - [SMTP] and [FTP]: the server's 220 greeting, decided by its text
//     ("ESMTP", "FTP") or by the client's first command (EHLO/HELO against
//     USER, AUTH, FEAT, ...), or by the server's port when neither tells;
//     a client's EHLO or HELO alone is SMTP.
//   - [NTP]: versions 1 to 4 with sane mode, stratum, poll and precision
//     on port 123 (control messages too); elsewhere only a 48-byte client
//     or server packet with current timestamps.
//   - [DHCP]: BOOTP with the DHCP magic cookie; DHCPv6 on ports 546/547
//     with options that fill the message.
//   - [RTP]: two packets of one direction with version 2, a non-RTCP
//     payload type, the same SSRC and sequence numbers at most 16 apart;
//     over UDP, or over TCP framed as RFC 4571 says.
//   - [STUN]: the message length matching the datagram with the RFC 5389
//     magic cookie (or a classic Binding message) and attributes that fill
//     it. When a confirmed RTP stream follows on the same 5-tuple, as ICE
//     does, the flow is relabelled RTP.
//   - [BitTorrent]: the peer handshake, DHT messages (bencoded
//     dictionaries with a query, response or error type), uTP packets
//     that carry the handshake or bencoding, or a uTP SYN acknowledged by
//     the peer's STATE on the same connection ID.
//   - [NetFlow] v1, v5, v7 (record counts that match the length exactly)
//     and v9 (flowsets that tile the packet), and [IPFIX] (the message
//     length equal to the datagram, sets that tile it; also over TCP).
//   - [NATS]: the server's "INFO {" or the client's "CONNECT {".
//   - [SOMEIP]: SOME/IP messages whose lengths tile the datagram, with
//     protocol version 1, a defined message type and return code.
//
// # Evidence
//
// What the payload showed is kept in an [Evidence], allocated when the
// first piece is found: the DNS query name, first answer and response
// code; the HTTP (RTSP, SIP, SSDP) method, host, status, User-Agent and
// version; the TLS SNI, offered ALPN list and version (negotiated when the
// ServerHello was seen, else the highest offered); the QUIC version and,
// from the decrypted Initial, the SNI and ALPN; the SSH client and server
// identification lines; the SMTP or FTP greeting and the client's first
// command (for FTP the verb only, so that user names are not kept); the
// NTP, NetFlow and IPFIX version; a protocol-specific detail (NTP mode,
// DHCP message type, STUN message, RTP payload type, how BitTorrent was
// seen). Every string is printable ASCII (other bytes are escaped as
// \xNN), at most [MaxEvidenceLen] bytes, and copied out of the packet.
// Evidence can identify people (host names, banners): flowfed
// pseudonymizes or drops it according to the sharing policy before it
// leaves the node.
//
// # Weak labels
//
// When the payload gave no label, [State.Result] consults a small table
// of server ports (53 DNS, 80 HTTP, 443 TLS over TCP and QUIC over UDP,
// 22 SSH, 123 NTP, ...) for the responder's port, then for the
// initiator's port when only that one is a system port, and returns the
// protocol with [SourcePort]. A weak label carries no evidence: it is a
// hint for aggregation and for comparison with port-based tools, never a
// claim about the payload. Flows whose payload matched nothing and whose
// ports are not in the table are [Unknown] with [SourceNone].
//
// # Limits
//
// Observe inspects at most [MaxPacketsPerDirection] payload-bearing
// packets of each direction and [MaxPackets] in all; the label is final
// after them, or earlier once the protocol and its evidence are complete.
// It never allocates on the path where nothing matches; the evidence, and
// for a message spanning TCP segments a buffer of at most [MaxReassembly]
// bytes per direction, are allocated only when a protocol matched or a
// prefix is consistent with one. The buffer, and the QUIC CRYPTO buffer
// (also MaxReassembly bytes), are released when the label is final; a
// hello larger than the buffer is read as far as it goes.
//
// Observe has no TCP sequence numbers: segments are taken in the order
// given, and a segment of 16 bytes or more that repeats the previous one
// is taken for a retransmission. A flow whose first segments arrive out
// of order, or a message split into more segments than the packet limits
// allow, may end up unlabelled or with partial evidence. A capture that
// starts in the middle of a TCP connection is labelled where the
// protocol's later messages have a recognisable form (TLS records, HTTP
// requests, SSH lines); encrypted protocols without a clear-text
// handshake in the first packets (obfuscated BitTorrent, VPNs, most
// proprietary messengers) are not recognised.
//
// A State is not safe for concurrent use.
//
// # Agreement with nDPI
//
// On the development captures, flowfed agrees with ndpiReader on 159 of
// the 160 flows that nDPI labelled from the payload with a protocol listed
// here (see TestAgreementNDPI). The one difference is a TURN flow that
// carries RTP after its STUN exchange, which nDPI keeps calling STUN
// while it calls a flow of the same call with the same pattern SRTP.
package label
