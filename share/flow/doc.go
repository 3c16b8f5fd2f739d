// Package flow meters packets into bidirectional flows: per-direction
// counts, Zeek's conn_state and history, the protocol label and the
// sequence of the first packets (direction, sizes, gaps, TCP flags) that
// protocol classifiers learn from.
//
// A [Table] takes packets in capture order, decoded by package packet (the
// one header decoder that secure PCAP sharing uses too), and hands each
// [Flow] to an emit function when the flow ends. [ReadCapture] and
// [ReadFile] run the whole path, capture to flows:
//
//	st, err := flow.ReadFile(ctx, "in.pcap", flow.Config{}, func(f *flow.Flow) {
//		fmt.Println(f.Key, f.ConnState(), f.History(), len(f.Seq))
//	})
//
// The Flow passed to emit is the table's: it is valid during the call and
// reused after it, so that emitting allocates nothing; Clone copies it.
// The settings ([Config]) have a stable text form, a JSON encoding and a
// digest, which are to be recorded with every output: flows metered under
// different settings must not be merged unnoticed.
//
// # Flow key
//
// A flow is identified by its two endpoints (address and port), the IP
// protocol, the VLAN IDs (up to three, outer first; left out with
// Config.MergeVLANs) and the tunnel context (left out with
// Config.MergeTunnels). The key is canonical inside the table, so both
// directions of a flow meet, and is handed out oriented from initiator
// (Key.Src) to responder (Key.Dst). Addresses are 16-byte arrays; keys are
// fixed-size values hashed into an open-addressing index.
//
// The tunnel context is the innermost tunnel around the packet: its kind,
// its ID (VXLAN VNI, GRE key), its depth and the outer addresses of the
// tunnel endpoints, oriented with the flow, so that flows inside different
// tunnels stay apart and both directions of a tunnelled flow still meet.
// GTP-U TEIDs and PPTP call IDs are not keyed, as each direction has its
// own; the outer addresses tell those tunnels apart. Outer levels of nested
// tunnels are not keyed: the innermost tunnel's endpoints identify the
// overlay. By default a tunnelled packet is also accounted to the flow of
// each tunnel that carries it (the outer VXLAN, Teredo or GTP-U UDP flow,
// the GRE or IP-in-IP flow), marked by Flow.Carries, as Zeek logs the
// outer connections of its tunnels; Config.InnerOnly turns that off.
// MPLS labels and the capture interface are not keyed.
//
// ICMP and ICMPv6 messages carry their type and its counterpart in the port
// slots, as Zeek does: an echo request has ports 8 and 0 and its reply 0 and
// 8, so both land in one flow; the pairs are echo, timestamp, information,
// address mask and router solicitation/advertisement (ICMP), and echo,
// router, neighbor and node information, multicast listener and home agent
// messages (ICMPv6). Messages without a counterpart carry their type and
// code. Echo-like messages also key their identifier (Key.ICMPID), which
// Zeek does not, so concurrent pings between two hosts stay apart. Error
// messages (unreachable, time exceeded, parameter problem, packet too big,
// redirect, source quench) form their own one-way flow from the reporting
// node, keyed by type and code, as in Zeek; in addition, the flow they
// quote, when it is in the table, counts them in Flow.ICMPErrors.
//
// Fragmented datagrams are not reassembled but attributed: the first
// fragment carries the ports and goes to its flow, and the later fragments
// of the same datagram (by addresses, protocol, identification and
// context) follow it, each counted as a packet with its own IP length and
// its data as payload, in Counters.Fragments. Fragments that come before
// the first wait for it (up to Config.FragTimeout, and Config.MaxFrags
// datagrams at once); those whose first fragment never comes are accounted
// to the flow of their addresses and protocol with ports 0, so that every
// packet is counted once. Only the first fragment's payload reaches the
// labeler.
//
// # Initiator
//
// The initiator is decided by the first packet of a flow and never
// changes:
//
//   - TCP: the sender of a SYN without ACK. For any other first packet
//     (a SYN-ACK, or data of a connection whose start was missed), Zeek's
//     rule applies: if the source port is a well-known service port and
//     the destination port is not, the receiver initiated; if both are,
//     the receiver initiated unless the packet is a SYN-ACK or its source
//     port is the higher one. A SYN-ACK between two ports that are not
//     service ports keeps its sender as initiator, so that a SYN-ACK scan
//     is not mistaken for connections that the scanned hosts opened.
//   - UDP and SCTP: the sender, unless the source port is a service port
//     and the destination port is not.
//   - ICMP and ICMPv6: the sender, unless the message is the answer of a
//     request/response pair (an echo reply, a timestamp reply, ...): then
//     the receiver sent the request.
//   - Other protocols: the sender.
//
// The service ports are those for which Zeek registers analyzers (its
// likely_server_ports) and a few common services more; they are the same
// for TCP and UDP. When the receiver is taken as initiator, the history
// starts with ^, as Zeek marks a flipped connection.
//
// # TCP
//
// Each side of a TCP flow runs Zeek's endpoint state machine (inactive,
// SYN sent, SYN-ACK sent, partial, established, closed, reset), from which
// [Flow.ConnState] derives Zeek's conn_state. Sequence numbers are compared
// in serial-number arithmetic (RFC 1982) and counted in 64 bits, so a
// connection may wrap the sequence space any number of times. A segment
// whose data lies entirely below the highest sequence number seen is a
// retransmission, unless it fills the gap that a later segment left (one
// gap per direction is remembered): then it is out of order. An
// acknowledgment beyond all data seen marks a gap (data the capture
// missed). Counters.StreamBytes are the payload bytes by sequence numbers,
// Zeek's orig_bytes and resp_bytes. A SYN with a new sequence number on
// the ports of a closed connection starts a new flow.
//
// # Expiry
//
// The table's clock is the timestamp of the packet being added, so a
// capture is metered as it was recorded, however fast it is read; a packet
// older than the one before it expires nothing. A flow ends:
//
//   - after Config.IdleTCP, IdleUDP, IdleICMP or IdleOther without a
//     packet (EndIdle); whether a packet still belongs to a flow is decided
//     by its own time, so the result does not depend on when expiry runs;
//   - Config.Active after its first packet, while packets keep coming
//     (EndActive); the flow goes on in a new record with Flow.Continued
//     set, the same initiator and TCP state;
//   - Config.Linger after its last packet once TCP has closed it (a FIN
//     each way, a RST, or a FIN answered by nothing), or when a new
//     connection reuses its ports (EndFIN, EndRST); the linger counts the
//     final ACKs and retransmitted FINs in the flow;
//   - when Config.MaxFlows flows are held and a new one arrives: the flow
//     idle the longest is evicted (EndEvicted);
//   - at [Table.Flush], with the input (EndFlush).
//
// Expiry lists keep flows in the order they were last queued; a flow is
// moved to the end of its list only when it reaches the head while still
// active, at most once per timeout, so that a packet costs no list work.
// [Table.Advance] moves the clock without a packet, for live input.
//
// # Sequence features
//
// For the first Config.SeqLen packets of a flow (128 by default), counting
// both directions and every fragment, [Flow.Seq] holds one [Step]: the
// direction, the IP length and the transport payload length as the headers
// state them (so they describe the original packets, also when the capture
// cut them short), the time since the flow's previous packet in
// microseconds, and the TCP flags. A flow with fewer packets has fewer
// steps: step i is present when i < len(Seq), which is the mask of missing
// steps for a fixed length of Config.SeqLen. Steps are computed from the
// original packets, before any pseudonymization.
//
// A step takes 8 bytes: lengths saturate at 65535, and gaps are exact to
// the microsecond below 4.19 s and kept to the millisecond above, up to
// 69.9 minutes. The first 8 steps live in the flow's slot and the rest in
// blocks of 24 from a pool, so short flows take little memory: a flow with
// one packet takes about 500 bytes in the table, one with 128 steps about
// 1480 (slot, index entry, steps and label state; see TestMemoryPerFlow).
//
// # Labels
//
// Each flow holds a label.State. For TCP and UDP, the payload of the first
// Config.LabelPackets payload-bearing packets in each direction (10 by
// default) is shown to it until it settles, and its result is the label of
// the emitted flow. Flows that carry tunnels are not labeled; the flows
// inside them are.
//
// # Agreement with Zeek and tshark
//
// The tests compare the flows of the development captures with reference
// tools. With Zeek's settings (no active timeout, VLANs and tunnels not
// keyed; the other defaults equal Zeek's), per-direction packets and IP
// bytes, conn_state, history and payload bytes agree with Zeek's conn.log
// for every connection of the baselines. With timeouts off and VLANs and
// tunnels merged, flow counts agree with tshark's conversation tables
// (`tshark -z conv,tcp`, `conv,udp`, `conv,ip`, `conv,ipv6`), except where
// tshark counts only datagrams it could reassemble: fragments whose first
// fragment is missing form a flow here, and garbage fragment trains whose
// first fragment begins like a TCP header form flows that tshark rejects.
// The packets of each TCP and UDP flow agree with tshark's conversations,
// per direction, except in flows with fragments, which tshark counts as
// reassembled datagrams (a test runs tshark itself when FLOWFED_TSHARK=1).
// Deliberate differences from Zeek: the ICMP identifier in the key;
// fragments counted as packets rather than
// reassembled datagrams; the history letter t for retransmissions only
// (Zeek also counts segments out of order); no c letter, as checksums are
// not verified (offloading makes them unreliable in captures); carrier
// flows for GRE and IP-in-IP, which Zeek does not log.
//
// # Speed
//
// Adding a packet allocates nothing: slots, step blocks and index live in
// pages and arrays that are reused, and emitting reuses one Flow. Flows
// allocate only through the labeler's evidence. On the development
// machine, one core meters the 1 M-packet benchmark capture of
// ../shared/tools/mkbench.sh (read, decode, flows, labels, sequences) at 2
// to 2.6 M packets/s in 8 MB of memory (56 MB when no flow expires and all
// 64000 are held to the end), about four times the rate of ndpiReader on
// the same capture; see the benchmarks.
package flow
