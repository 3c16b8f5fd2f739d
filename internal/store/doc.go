// Package store is the node's local data store: one bbolt file in the data
// directory holding pseudonymized flows, the record of every ingested capture, and
// (as the node grows) datasets, indicators and the audit chain. It is the only
// package besides keyvault that uses bbolt.
//
// # Schema
//
// Bucket names are constants. The meta bucket holds the schema version; Open runs
// the numbered migrations that bring an older file up to [SchemaVersion] in one
// write transaction, and refuses a file written by a newer flowfed. Values are
// protobuf messages of package flowfed.v1; the generated types never leave this
// package.
//
// # Raw addresses
//
// The store holds no raw address: callers hand it flows whose addresses are
// already pseudonyms, each with the key ID they were made under.
//
// # Concurrency
//
// A Store is safe for concurrent use by the goroutines of one process. bbolt locks
// the file, so a second process (a CLI while the node runs) gets [ErrLocked].
package store
