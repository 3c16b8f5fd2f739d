package store

import "errors"

var (
	// ErrLocked is returned by Open when another process holds the store, usually a
	// running node.
	ErrLocked = errors.New("store is in use by another process (is the node running?)")
	// ErrNotStore is returned by Open for a file that is not a flowfed store.
	ErrNotStore = errors.New("not a flowfed store")
	// ErrSchemaTooNew is returned by Open for a store written by a newer flowfed.
	ErrSchemaTooNew = errors.New("store was written by a newer flowfed")
	// ErrCorrupt is returned when a stored value cannot be decoded.
	ErrCorrupt = errors.New("store is damaged")
	// ErrNotFound is returned by lookups of a record that does not exist.
	ErrNotFound = errors.New("not found")
)
