// Package pcap rewrites packet captures for sharing: every address in them is
// pseudonymized under a key of its owner, checksums are kept consistent, payload is
// cut as asked, and nothing of the input's metadata reaches the output. The owner
// of the key can restore the addresses later.
//
// [Anonymize] streams a classic pcap or pcapng capture from a reader to a writer:
// share/capture reads it, share/packet finds the headers and address fields of each
// packet, and the packet is rewritten in place in the read buffer before it is
// written. [AnonymizeFile] does the same between files, writing to a temporary file
// that is renamed only on success. [Deanonymize] undoes the address mapping with the
// same keys, guided by the record the output carries ([Metadata]), and [Inspect]
// summarises a capture. Keys come in as bytes: this package does not know the vault
// they come from.
//
// # What is rewritten
//
// Addresses are mapped with a prefix-preserving mode of share/pseudo (Crypto-PAn by
// default, or ipcrypt-pfx): the same address gets the same pseudonym wherever it
// appears, and addresses sharing a prefix get pseudonyms sharing a prefix of the
// same length. Modes that turn IPv4 into IPv6 cannot rewrite a packet in place and
// are refused ([ErrMode]). MAC addresses go through share/pseudo's keyed MAC
// permutation, which keeps the group and local bits, and the vendor part only on
// request.
//
//	Where                           Fields
//	link layers                     Ethernet source and destination (also inside
//	                                VXLAN, GRE and MPLS pseudowires), Linux cooked
//	                                capture and NFLOG hardware addresses
//	ARP, RARP                       sender and target hardware and IPv4 addresses
//	IPv4, IPv6 (outer, tunnelled,   source, destination, IPv4 record/source route,
//	quoted by ICMP errors)          timestamp and traceroute addresses, IPv6 routing
//	                                header (types 0, 2, 4) and home address option
//	                                addresses
//	TCP options                     MPTCP ADD_ADDR addresses; timestamp values zeroed
//	ICMP, ICMPv6                    redirect gateways (also in quotes), router
//	                                advertisement addresses, neighbor discovery
//	                                targets, link-layer address, prefix, route and DNS
//	                                server options
//	Teredo                          the origin indication's obfuscated IPv4 address,
//	                                mapped as the plain address is and inverted again
//	DNS (UDP and TCP 53, mDNS,      A, AAAA, WKS, IPSECKEY gateways, SVCB/HTTPS address
//	LLMNR)                          hints, EDNS client subnets, and the address labels
//	                                of in-addr.arpa and ip6.arpa names
//	DHCP                            ciaddr, yiaddr, siaddr, giaddr, chaddr, address
//	                                options (routers, servers, requested address,
//	                                server identifier, routes, relay agent
//	                                sub-options), client identifiers
//	DHCPv6                          relay link and peer addresses, DUIDs, IA addresses
//	                                and prefixes, server addresses, client link-layer
//	                                addresses, relayed messages
//
// The addresses of [Passthrough] (by default the unspecified, broadcast, loopback
// and multicast ones) stay as they are, and no other address is ever mapped into
// that list. A field cut short by the end of a capture or of an ICMP quote keeps
// its bytes mapped as the prefix of an address. IPv6 addresses that embed a MAC or
// an IPv4 address (EUI-64 interface identifiers, 6to4, Teredo) are mapped as whole
// 128-bit values, so the embedded bytes do not survive; the low 24 bits of
// solicited-node groups, which repeat those of a unicast address, are mapped too.
// TCP timestamp values, which identify a host by its clock, are zeroed unless
// Options.KeepTCPOptions is set. Names in DNS and DHCP (other than reverse names)
// and DNS text records are kept. A header whose addresses cannot be rewritten (an
// IPv6 routing header of another type, such as RPL's compressed one) is cut with
// everything after it.
//
// # Checksums
//
// IPv4 header, TCP, UDP, ICMP, ICMPv6 and GRE checksums, of tunnelled and quoted
// headers too, are updated incrementally (RFC 1624) with the change of every field
// they cover, pseudo-headers included. A checksum that was valid in the input is
// valid in the output; one that was wrong stays wrong by the same amount, since it
// may be evidence. A UDP checksum of zero (none) stays zero. Because no checksum is
// recomputed from the data, this holds for packets whose payload was never captured
// or is cut.
//
// # Payload
//
// [PayloadCut] (the default) keeps the headers up to the transport layer and the
// DNS, DHCP and DHCPv6 messages after rewriting them; [PayloadDrop] keeps only the
// headers; [PayloadKeep] keeps TCP and UDP payloads as they are, except what is
// known to carry addresses that are not rewritten (SCTP chunks, IGMP and other IP
// protocols, later IP fragments, NetBIOS); addresses written in other application
// data stay. The part of an ICMP error's quote after the quoted transport header
// is cut in every mode. Payload is cut by shortening the captured
// bytes, as a snapshot length does: length fields and the original length keep
// their values, so the output is a valid capture of the same packets. An
// application message that cannot be parsed safely (a bad length, a compression
// pointer loop, an address record of a type not rewritten) is cut whole: fail
// closed. Bytes after the end of the IP packet, such as Ethernet padding, are cut.
//
// # Metadata
//
// Nothing of the input's container is copied: no interface names or descriptions,
// filters, operating system or hardware strings, comments, name resolution,
// decryption secrets or custom blocks. The output is written by share/capture's
// writers with link types, time resolution and packets only. A pcapng output
// carries one section comment written here, the anonymization record ([Metadata]:
// mode, key ID, pass-through list, payload mode, flowfed version); a classic pcap
// output gets it in a sidecar file named after it with [SidecarSuffix]. The output
// keeps the input's container unless Options.Format names another; timestamps keep
// nanosecond precision, and may be shifted and rounded (the shift is not recorded).
// A classic pcap output holds one link type: converting a pcapng capture with
// several drops the packets of the others, and says so in [Stats].Dropped.
//
// # Damage
//
// Damaged captures are processed as far as they are readable: damage of the
// container (truncated files, bogus lengths, caplen above snaplen) is counted by
// kind in [Stats].Damage. A packet whose headers could not all be decoded
// (truncated, malformed, unsupported or too deeply nested) is cut after the last
// header understood: what was not understood is never copied. Packets of a link
// type that is not decoded are dropped and counted per interface. Nothing in this
// package panics on input, and every loop over input is bounded by its length.
//
// # Speed
//
// The rewrite runs in one goroutine and allocates nothing per packet: the capture
// reader hands out slices of its buffer, decoding fills a reused struct, the
// pseudonyms of recently seen IPv4, IPv6 and MAC addresses come from small
// direct-mapped caches in front of share/pseudo's allocation-free permutations and
// prefix caches, and checksums are adjusted rather than recomputed. For large files
// a second goroutine reads ahead, so the copy out of the kernel overlaps the
// rewrite. Memory stays constant whatever the size of the capture (a few MiB of
// buffers and caches).
//
// On the benchmark capture built from the development corpus (1.04 million
// packets, 387 MB) on two cores, the rewrite took 0.65 to 0.85 s (1.2 to 1.6
// million packets per second), and the command, which first unlocks the vault
// (about 0.25 s of Argon2id), 0.9 to 1.1 s: no longer than a plain tcpdump -r -w
// copy, and a ninth of the time of pktanon with its example profile. With every
// address new to the caches the rewrite still passes 600,000 packets per second.
// The benchmarks (go test -bench . -benchmem) include one over any capture named by
// the FLOWFED_BENCH_PCAP environment variable.
package pcap
