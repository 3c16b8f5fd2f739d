package flow

import "errors"

// Sentinel errors. Test for them with errors.Is; the errors returned by this
// package wrap them with the context of the failed step.
var (
	// ErrConfig is returned by [NewTable], [ReadCapture], [ReadFile] and
	// [ParseConfig] for a configuration that cannot be used: a negative
	// bound, a sequence length above [MaxSeqLen], an unknown field or
	// version in an encoded configuration. The message names the field.
	ErrConfig = errors.New("invalid flow configuration")
)
