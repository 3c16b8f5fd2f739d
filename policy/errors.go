package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Test for them with errors.Is; the errors returned by this
// package wrap them with the position or sequence number of the failure.
var (
	// ErrInvalid is wrapped by every [ParseError]: the policy file is not
	// valid YAML, has an unknown key, a missing or out-of-range value, or
	// refers to a peer or group it does not declare.
	ErrInvalid = errors.New("invalid policy")

	// ErrTooLarge is returned by [Parse] and [Load] for a policy file larger
	// than [MaxFileSize].
	ErrTooLarge = errors.New("policy file too large")

	// ErrChainBroken is wrapped by every [ChainError]: an audit entry was
	// edited, removed, inserted or reordered.
	ErrChainBroken = errors.New("audit chain broken")

	// ErrEntry is returned (wrapped) by [DecodeEntry] for bytes that are not
	// one canonical audit entry: truncated, a wrong format byte, a
	// non-minimal length, an oversized field or trailing bytes.
	ErrEntry = errors.New("malformed audit entry")
)

// ParseError is one problem in a policy file, at a line and column (both
// counted from 1).
type ParseError struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error returns "file:line:col: message".
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Unwrap returns [ErrInvalid].
func (e *ParseError) Unwrap() error { return ErrInvalid }

// ErrorList holds every problem found in a policy file, in file order. [Parse]
// returns a single *ParseError when there is one problem and an ErrorList
// when there are more; errors.As finds the first *ParseError in both.
type ErrorList []*ParseError

// Error returns one problem per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems as errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// ChainError reports where an audit chain breaks. Seq is the sequence number
// the chain should have at the first bad position: the edited entry, the
// first missing one, or the first one out of order.
type ChainError struct {
	Seq    uint64 // first bad sequence number
	Index  int    // position in the verified slice
	Reason string // what does not match
}

// Error returns "audit chain broken at seq N (entry I): reason".
func (e *ChainError) Error() string {
	return fmt.Sprintf("%v at seq %d (entry %d): %s", ErrChainBroken, e.Seq, e.Index, e.Reason)
}

// Unwrap returns [ErrChainBroken].
func (e *ChainError) Unwrap() error { return ErrChainBroken }
