// Package share is the root of flowfed's data-plane packages: everything that turns
// local traffic into artifacts that may be shared. Its subpackages are pure and free
// of node state:
//
//   - [github.com/flowfed/flowfed/share/pseudo]: address and identifier pseudonyms
//     (Crypto-PAn, ipcrypt, keyed MAC and string pseudonyms).
//   - [github.com/flowfed/flowfed/share/capture]: streaming pcap and pcapng reading and
//     writing, damage counted instead of crashing.
//   - [github.com/flowfed/flowfed/share/packet]: the one zero-allocation header decoder,
//     from the link layer through tunnels to the transport layer.
//   - [github.com/flowfed/flowfed/share/pcap]: secure PCAP sharing: captures rewritten
//     with every address pseudonymized, checksums fixed and payload cut, and restored
//     by the key owner.
//   - [github.com/flowfed/flowfed/share/label]: application-protocol labels with
//     their evidence, from the payload of a flow's first packets.
//   - [github.com/flowfed/flowfed/share/flow]: bidirectional flows with Zeek-style
//     history and state, sequence features, and the pseudonymizable flow record.
//
// Share packages never import keyvault, node or protocol; they declare the small
// interfaces they need and receive keys as plain bytes.
package share
