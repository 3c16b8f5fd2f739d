// Package policy evaluates GDPR-style sharing rules (TLP, purpose, retention,
// minimisation, reshare) for a recipient and an artifact, explains each decision,
// and keeps the hash-chained audit log of decisions. It performs no network I/O.
//
// A node compiles its policy file once with [Load] or [Parse] and asks the
// resulting [Policy] for every artifact it would send ([Policy.Decide]) or
// receive ([Policy.Accept]). A Policy is immutable and safe for concurrent
// use; a new file means a new Policy, whose [Policy.Version] (a content hash)
// goes into every audit entry. The file format is described in FORMAT.md
// beside this file; testdata/example.yaml is a complete example.
//
// # Decisions
//
// Nothing is shared by default. A decision runs, in order:
//
//  1. Membership: the peer must be listed in the policy file. The listing
//     is authoritative: org, groups and purposes come from the file, never
//     from the caller.
//  2. The artifact's sticky usage policy, which the originator signed and
//     no rule can override: TLP:RED never leaves the node automatically;
//     TLP:AMBER+STRICT goes only to nodes of the originator's organisation;
//     a received artifact with reshare none is never forwarded, with reshare
//     group only to members of the groups it came through; a dataset must
//     have been built with at least the k its usage policy asks; the peer
//     must declare one of the artifact's purposes.
//  3. Forbid rules: any matching forbid rule denies, whatever permits say.
//  4. Permit rules: at least one must match. TLP:AMBER and above also need
//     a rule that names the peer (by ID, org or group), not one that reaches
//     it only through "all"; GREEN and CLEAR go to any member a rule reaches.
//
// An allowing [Decision] says how to ship the artifact: the pseudonymization
// domain of the recipient, the minimisation (the most restrictive of all
// matching permits: ports dropped if any drops them, the coarsest time unit,
// the shortest address prefixes, the union of dropped fields) and the usage
// policy to attach, which is the artifact's own narrowed by the rules
// (purposes the peer declares and a rule permits, the shortest retention,
// the narrowest reshare, the largest k_min) and so never wider than what the
// originator allowed. A recipient enforces that policy on its own egress, so
// onward sharing never widens the scope.
//
// Decide allocates nothing unless the attached policy drops some of the
// artifact's purposes or matching rules drop different fields.
//
// # Pseudonymization domains
//
// Recipients in different domains get addresses pseudonymized under
// different keys and cannot link what they receive. The domain of a
// decision is the deciding rule's domain; else the domain of the group
// through which the rule addresses the peer; else the peer's own domain;
// else "peer:<ID>", a domain of that peer alone.
//
// # Explanations
//
// [Policy.Explain] returns the decision with every built-in check and every
// rule it considered, the conditions that failed, and the smallest change
// that would flip it. [Preview] shows what a peer would receive now, and
// [Diff] replays recorded decisions under a new policy before it is put in
// force. [Summary] and [ROPA] describe a policy for `flowfed policy check`
// and for the record of processing activities (GDPR Art. 30).
//
// # Audit chain
//
// Every decision, key event, policy change, erasure and retention deletion
// is an [AuditEntry]. [Chain] links an entry to the one before by SHA-256
// over its canonical encoding ([EncodeEntry]), which includes the previous
// hash, so that [VerifyChain] finds any entry that was edited, removed,
// inserted or reordered. Removing entries from the end leaves a valid
// shorter chain: the node keeps the latest sequence number and hash apart
// from the entries to detect that. Entries name keys by ID only; key
// material never enters the chain.
package policy
