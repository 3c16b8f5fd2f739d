// Package policy evaluates GDPR-style sharing rules (TLP, purpose, retention,
// minimisation, reshare) for a recipient and an artifact, explains each decision,
// and keeps the hash-chained audit log of decisions. It performs no network I/O.
package policy
