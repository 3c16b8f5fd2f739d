// Package intel holds flowfed's threat indicators and sightings: their
// canonical form and deterministic ids, the originator-only versioning of
// indicators with tombstones and decay, lossless STIX 2.1 and MISP import
// and export, and matching against pseudonymized flows.
//
// # Indicators
//
// An [Indicator] is one value of one [Type] (ipv4, ipv6, cidr, domain, url,
// email, md5, sha1, sha256, sha512, ja3, ja4, filename, regkey) with its
// labels, confidence, validity, originator and [github.com/flowfed/flowfed/share/usage.Policy]. Values are
// canonical ([Canonicalize], rules of version [CanonVersion], golden-tested
// in testdata/canon.golden); the value as the source wrote it is kept in
// Original and is what exporters write, so values round-trip byte for
// byte.
//
// # Identifiers
//
// [IndicatorID] derives the id from the canonical type and value like a
// STIX 2.1 deterministic identifier: "indicator--" and the UUIDv5 under
// [STIXNamespace] of the JCS (RFC 8785) form of {"type": t, "value": v}.
// The same value posted twice, in two MISP events or by two organisations,
// gets one id: it is linked, not duplicated, and each posting stays as a
// [Source] (format, object UUID, event, organisation, version, the object
// as received). Sightings keep the id their source gave them or get
// [SightingID].
//
// # Versions, tombstones and decay
//
// Only the originator changes an indicator: [Apply] takes the current
// version, the update and the organisation making it, and refuses others
// ([ErrNotOriginator]), older or equal versions ([ErrStale]), other ids
// ([ErrIDMismatch]) and changes after revocation ([ErrRevoked]). [Revoke]
// and [Expire] are such updates: a tombstone (Revoked) and an explicit
// ValidUntil, never a silent delete. Anyone may [Link] another posting of
// the same value as provenance, which changes no field.
//
// [Indicator.Score] is MISP's polynomial decay, base × (1 − (t/τ)^(1/δ)),
// with the confidence as base, t the time since the indicator was last
// confirmed, and τ and δ per type ([DefaultDecay]); [Indicator.Decayed]
// expires an indicator whose score fell below the threshold, whose
// ValidUntil passed, or that was revoked.
//
// # Usage policy
//
// Every indicator and sighting carries a sticky [github.com/flowfed/flowfed/share/usage.Policy]. TLP comes
// from STIX TLP 1.0 and 2.0 marking definitions (by their OASIS ids or
// their content), from "tlp:" labels and MISP tags, the most restrictive
// one winning; "tlp:unclear", "tlp:ex:chr", other unknown labels and the
// absence of any TLP read as RED. "PAP:" tags set PAP. MISP distribution
// levels set the reshare scope (organisation and community only: none;
// connected communities and sharing groups: group; all communities:
// community) and, without a tlp tag, the TLP (organisation only:
// AMBER+STRICT; community, connected, sharing group: AMBER; all: GREEN);
// an attribute's distribution narrows its event's. STIX objects share
// their TLP's scope: CLEAR and GREEN community, others none. Purposes,
// legal basis and retention come from [ImportOptions].Policy.
//
// # STIX 2.1
//
// [ImportSTIX] reads bundles, TAXII 2.1 envelopes, TAXII server data files
// and object lists. Indicator patterns are parsed with the full STIX
// pattern grammar ([ParsePattern]); those that are ORs of equality tests of
// the object paths [Pattern.Observables] lists become indicators, the
// others are reported and kept unmodelled. String literals escape "\" then
// "'" ([QuoteString]). Sightings, observed-data, identities and marking
// definitions are modelled; every other object is kept as received.
// [ExportSTIX] writes TLP 2.0 (or 1.0) markings and never a valid_until
// that is not after valid_from.
//
// JA3 and JA4 have no STIX object; flowfed writes them as the custom
// network-traffic extension "x-flowfed-tls" (properties ja3, ja4),
// false-positive or expiration sightings with "x_flowfed_kind", and
// informational indicators (MISP to_ids false) with
// "x_flowfed_informational".
//
// # MISP
//
// [ImportMISP] reads events in the core format, search responses and
// sharing group lists; [ImportMISPFeed] reads a feed (manifest.json and one
// file per event; numbers may be JSON strings). These attribute types
// become indicators: ip-src, ip-dst, ip (addresses and networks), domain,
// hostname, url, uri, email, email-src, email-dst, md5, sha1, sha256,
// sha512, filename, regkey, ja3-fingerprint-md5, ja4-fingerprint, and
// ja4-fingerprint text attributes of objects. to_ids false marks them
// Informational, deleted revokes them, comments are descriptions, and
// first_seen/last_seen (the attribute's, else its object's) bound the
// activity; valid_from is first_seen, else the timestamp. Sighting types
// 0, 1 and 2 are seen, false positive and expiration. Everything else
// (context attributes, objects, galaxies, proposals) stays in the event.
//
// # Lossless round trips
//
// Importers keep each source object as received (Source.Raw, Event.Raw,
// Identity.Raw, ...) and exporters write from it: an object unchanged since
// import comes out as it came in, and a changed one is its source object
// with only the changed members replaced, down to the spelling of numbers
// and timestamps. A document read from one format and written back to it
// keeps every UUID, creator organisation, TLP marking, timestamp, value and
// tag. Exporters never add what was filtered out: an indicator missing
// from the exported [Objects] is missing from the output, together with
// its attribute in a MISP event. The Minimal options write only modelled
// fields, for policies that allow no others.
//
// # Problems
//
// Importers import the valid rest of a document and report, per object,
// what they could not import in [ImportResult].Problems: malformed JSON,
// unknown object types, invalid values, patterns that cannot be evaluated,
// and times out of order ([ErrTimeOrder]; the bad bound is dropped and
// never exported).
//
// # Matching in pseudonym space
//
// Flows are stored with pseudonymized addresses and name tokens and are
// never turned back. [NewMatcher] instead pseudonymizes the indicators,
// with the same [AddrMapper] and [NameKeyer] as the flows, and indexes
// them (exact addresses in a hash map, networks in a sorted prefix table
// with links to enclosing networks): [Matcher.MatchAddr] and
// [Matcher.MatchName] return indicator ids.
// CIDR indicators need a prefix-preserving mapper (Crypto-PAn,
// ipcrypt-pfx), under which a network's members map into the pseudonym
// of its prefix; NewMatcher refuses them otherwise
// ([ErrNotPrefixPreserving]). [Infallible] adapts share/pseudo's mappers.
package intel
