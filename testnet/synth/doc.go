// Package synth synthesizes realistic network traffic as pcap captures:
// flowfed's built-in sample data and the input generator of its
// benchmarks. Every address comes from documentation or private ranges
// and every name from the documentation domains, so a synthetic capture
// can be shared and published freely.
//
// [Write] and [WriteFile] take a [Config]: a seed, the organisation's
// client hosts and prefixes, the size of the capture, the time it spans
// and the mix of kinds of traffic:
//
//   - dns: UDP lookups (A, often AAAA on the same socket, some HTTPS
//     records) answered with the servers' addresses, CNAME chains, EDNS,
//     NODATA and NXDOMAIN answers with the zone's SOA record;
//   - http: HTTP/1.1 over TCP with a handshake, GET requests with Host and
//     User-Agent, 200 responses whose bodies are spread over segments in
//     slow-start rounds with the client's ACKs, keep-alive requests and a
//     FIN teardown;
//   - tls: TLS 1.3 (or 1.2) over TCP on port 443 with the ClientHello of
//     a browser or of curl (SNI, ALPN, GREASE, post-quantum key shares
//     that span segments), the server's flight, application data records
//     of varied sizes and close_notify;
//   - ssh: identification lines, KEXINIT with OpenSSH's algorithm lists,
//     the (hybrid post-quantum) key exchange, authentication, then typing
//     echoed keystroke by keystroke or a file transfer;
//   - ntp: NTPv4 client requests and server responses on UDP 123;
//   - quic: HTTP/3 over QUIC v1: the client's Initial packets protected
//     with the keys of RFC 9001, whose ClientHello carries SNI and ALPN,
//     the server's Initial and Handshake flight, 1-RTT data and ACKs;
//   - scan: TCP SYN scans by one or two scanners, answered by RSTs,
//     SYN-ACKs or nothing.
//
// Each flow is labelled by its payload as its kind by package label (see
// the tests), except scans, which carry none.
//
// The capture point is the edge of the organisation's network: packets
// from the external servers arrive a round trip (a few to a hundred and
// fifty milliseconds) after the client's packets they answer, those of
// the internal clients after a LAN delay. Hosts differ by system (TCP
// options, TTL, ephemeral ports, window), browser and tools; servers by
// distance, speed and software. Flows start evenly by volume across
// Config.Duration, and their packets interleave in time as on a real
// link.
//
// The same Config gives the same bytes: all randomness comes from
// PCG generators seeded by Config.Seed (the organisation) and by the
// domain and server prefixes (the external world, shared by organisations
// synthesized with different seeds, so that their captures share
// servers, names and the external scanner).
//
// [WriteCapture] writes the fixed flow groups that older tests count on.
package synth
