package model

import "errors"

// Sentinel errors. Test for them with errors.Is; the errors returned by this
// package wrap them with the context of the failed step.
var (
	// ErrEmpty is returned by [Train] when it is given no training examples.
	ErrEmpty = errors.New("no training examples")

	// ErrTooFewClasses is returned by [Train] when fewer than two classes
	// have at least Config.MinClassSize training examples: there is nothing
	// to tell apart. The message names the classes and their counts.
	ErrTooFewClasses = errors.New("too few classes to train on")

	// ErrBadConfig is returned by [Train] for a [Config] that cannot be used:
	// an unknown architecture, a non-positive epoch count, learning rate,
	// batch size or hidden width, a negative or non-finite L2 penalty. The
	// message names the field.
	ErrBadConfig = errors.New("invalid model configuration")

	// ErrBadExample is returned by [Train] for a training example whose
	// tensor or mask has the wrong length or whose label is empty, longer
	// than [MaxLabelLen] bytes or not UTF-8. The message gives its index.
	ErrBadExample = errors.New("invalid training example")

	// ErrBadModel is returned by [Load] for input that is not a model file of
	// a version this package reads, is truncated or damaged (checksum
	// mismatch), is not in canonical form, or describes an impossible model
	// (non-finite weights, mismatched dimensions, unsorted labels).
	ErrBadModel = errors.New("invalid model file")
)
