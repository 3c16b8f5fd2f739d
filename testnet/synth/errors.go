package synth

import "errors"

// ErrInvalidConfig is wrapped by every error that [Write], [WriteFile] and
// [Config.Validate] return for a [Config] that cannot be synthesized: a
// negative count, an unknown kind in Mix, a prefix of the wrong family or
// too small, a domain outside the documentation domains.
var ErrInvalidConfig = errors.New("invalid synthesizer configuration")

// ErrNotReserved is wrapped (together with [ErrInvalidConfig]) when a
// prefix of the Config reaches outside the documentation and private
// address ranges, so that a synthetic capture can never name a real host.
var ErrNotReserved = errors.New("prefix is not inside a documentation or private range")
