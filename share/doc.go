// Package share is the root of flowfed's data-plane packages: everything that turns
// local traffic into artifacts that may be shared. Its subpackages are pure and free
// of node state:
//
//   - [github.com/flowfed/flowfed/share/pseudo]: address and identifier pseudonyms
//     (Crypto-PAn, ipcrypt, keyed MAC and string pseudonyms).
//
// Share packages never import keyvault, node or protocol; they declare the small
// interfaces they need and receive keys as plain bytes.
package share
