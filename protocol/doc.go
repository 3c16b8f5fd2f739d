// Package protocol holds flowfed's libp2p protocol IDs, stream framing, message
// size limits and signed envelopes, and converts between wire messages (proto/)
// and the domain types of share/. It makes no policy decisions and stores nothing.
package protocol
