package dataset

import "errors"

// Sentinel errors. Functions wrap them with context; test with errors.Is. A
// Build that fails returns no part of a dataset.
var (
	// ErrEmpty is returned by Build when no flow is left after the
	// selection (time range and labels), or no row was given at all.
	ErrEmpty = errors.New("empty selection")

	// ErrBelowK is returned by Build when the k-threshold releases nothing:
	// the selection has fewer than k distinct source hosts, or every cell
	// covers fewer than k. The message gives the counts.
	ErrBelowK = errors.New("below the k-threshold")

	// ErrBudgetExhausted is returned (wrapped) by CheckBudget when charging
	// a build's epsilon would exceed the budget of its family and period.
	ErrBudgetExhausted = errors.New("privacy budget exhausted")

	// ErrSpec is returned by Build for a Spec that cannot be built (an
	// unknown kind, group-by key, label or DP mechanism, a bad parameter)
	// and for a row that cannot be used.
	ErrSpec = errors.New("invalid dataset spec")

	// ErrRawAddresses is returned by Build for a row whose flow has no key
	// ID, that is whose addresses were never pseudonymized.
	ErrRawAddresses = errors.New("flow with raw addresses")

	// ErrBadManifest is returned by DecodeManifest, Verify and Assemble for
	// a manifest that is malformed, not canonical, or whose id does not
	// match its content.
	ErrBadManifest = errors.New("bad dataset manifest")

	// ErrBadContent is returned by Assemble, Records, Aggregates and Export
	// for content that does not match its manifest: a chunk whose hash or
	// size differs, or bytes that do not decode as the manifest's records.
	ErrBadContent = errors.New("bad dataset content")

	// ErrFormat is returned by Export for an unknown format, or one the
	// dataset's kind cannot be written in (NPZ for aggregates).
	ErrFormat = errors.New("unsupported export format")
)
