// Package protocol holds flowfed's libp2p protocols: protocol IDs, stream
// framing and size limits, signed envelopes and receipts, the membership
// handshake, and the notify, sync and fetch exchanges between members. It
// converts between the wire messages of proto/flowfed/v1 and plain Go types at
// its edge; no generated type appears in its API. It makes no policy decision
// of its own (a [Decider] does, per peer and envelope) and stores nothing (a
// [Backend] does).
//
// # Protocols
//
//   - [HelloID] /flowfed/hello/1: a three-message handshake. Both sides sign
//     their federation, organisation, clock and a fresh nonce, bound to the
//     other side's nonce and both peer IDs. A connection that a gater refused
//     can still look established to the dialer; a completed [Service.Hello]
//     is the confirmation.
//   - [NotifyID] /flowfed/notify/1: "I have envelopes up to seq N". The
//     receiver hands it to [Backend.Notified] and pulls when it likes.
//   - [SyncID] /flowfed/sync/1: [Service.Pull] asks for the envelopes after
//     its cursor; the publisher filters them per requester through the
//     [Decider] and sends one envelope per message, then an end naming the
//     next cursor. The requester checks and stores them, saves the cursor,
//     and answers with a signed [Receipt] on the same stream.
//   - [FetchID] /flowfed/fetch/1: [Service.Fetch] asks for a chunk by its
//     SHA-256 from an offset; the publisher sends it in pieces of at most
//     [PieceSize] bytes and an end with the size; the requester verifies the
//     hash and answers with a signed receipt.
//
// # Wire format
//
// Every message is a protobuf message (proto/flowfed/v1/protocol.proto)
// preceded by its length as an unsigned varint, as go-msgio/pbio writes it, and
// is at most [MaxMessage] (1 MiB) long; longer frames are refused before they
// are read. Unknown fields are rejected: a newer peer speaks a newer protocol
// ID. Each stream gets a deadline renewed by every read and write
// ([Config.StreamTimeout]) and is reset on any error. The side that writes last
// half-closes its stream (CloseWrite) and the other reads to EOF, so a
// truncated exchange is always detected. A publisher half-closes a sync or
// fetch stream only after it recorded the receipt, so a clean EOF tells the
// receiver its receipt is on file.
//
// # Signatures
//
// Envelopes, receipts and handshake messages are signed with the node's
// Ed25519 identity key, whose public half is inlined in its peer ID, so
// anyone can verify them without a key directory. A signature covers a
// canonical encoding (domain-separation prefix, then length-prefixed fields),
// never the protobuf bytes; an envelope's signature binds ArtifactID, Version,
// Publisher and Seq, so only the originator can issue a new version or a
// tombstone of its artifacts (enforced by [Backend.Accept] with
// [ErrNotOriginator]). [Envelope.Digest] names the signed content.
//
// # Threat model
//
// Peers are members listed by peer ID; the host's connection gater refuses
// everyone else once their ID is authenticated, and every handler checks
// membership again before reading a byte (the list can change while a
// connection lives). Members can still misbehave: every envelope is checked for
// size, form, membership of its publisher, publisher = the peer it came from,
// signature and seq order before the [Backend] sees it; bad envelopes are
// counted by reason in [Stats] and skipped, bad frames reset only their
// stream, and the connection goes on serving. An optional private-network key
// ([HostConfig.PSK]) hides the federation from outsiders altogether.
//
// # Resource limits and retries
//
// A libp2p resource manager that refuses a stream only resets it. Operations
// therefore retry streams that were reset or refused, with exponential
// backoff, at most [Config.MaxRetries] times; a pull batch is retried from the
// same cursor and a fetch resumes at the byte where it stopped. Each peer gets
// an adaptive window of concurrent outgoing streams that shrinks when the peer
// refuses streams and grows back with successes, and callers beyond it wait
// their turn in order, so a burst of fetches neither loses data nor starves.
package protocol
