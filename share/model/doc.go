// Package model trains and evaluates baseline protocol classifiers on the
// flow sequence features that members share (package dataset): multinomial
// logistic regression and a small neural network with one hidden layer,
// written in plain Go. They make the value of a shared dataset measurable:
// train on it, test on flows from captures it did not contain, and compare
// with the majority-class baseline.
//
//	train, test := model.SplitByGroup(examples, 0.3, 1)
//	m, err := model.Train(model.DefaultConfig(), train)
//	if err != nil { ... }
//	rep := model.Evaluate(m, test)
//	rep.WriteText(os.Stdout)
//
// # Inputs
//
// An [Example] carries a flow's raw sequence tensor (dataset.Tensor: per
// packet direction, IP and payload length, gap in microseconds and TCP flag
// bits, for up to dataset.Steps packets) with its mask and label. The
// model derives its own inputs from it: for each of the first 16 packets
// the payload size as log1p signed by direction, the log1p gap and the flag
// bits; and statistics over all packets present (counts, per-direction size
// mean, spread and maximum, gap statistics, header overhead, flag
// frequencies, direction changes, repeated sizes, the first payload sizes).
// Addresses and ports are not inputs, so a model learns the same from
// pseudonymized records as from raw ones. The inputs are standardised with
// the training set's mean and standard deviation, which the model keeps,
// and clipped to ±8 standard deviations.
//
// # Training
//
// Training ([Train], or [TrainContext] to be able to cancel it) minimises
// cross-entropy with the Adam optimiser in mini-batches, with an L2 penalty
// on the weights. Classes with fewer than
// Config.MinClassSize examples are dropped first and reported by
// [Model.Dropped]. All randomness (initial weights, the order of examples
// in each epoch, the group split of [SplitByGroup]) comes from a PCG
// generator seeded with the configured seed, and nothing depends on map
// order: the same seed and examples give the same model, byte for byte.
//
// # Evaluation
//
// [Evaluate] reports accuracy, macro-averaged F1 and per-class precision,
// recall and F1, with the accuracy of always predicting the most frequent
// training class; [MajorityBaseline] scores that constant classifier in full.
// Split by [SplitByGroup] so that flows of one capture never sit on both
// sides: flows of a capture share hosts, software and timing, and a test
// on them overstates what the model learned.
//
// # Model file
//
// [Model.Save] writes a versioned binary file (magic, format version, the
// version of the input derivation, the training settings, classes with
// their training counts, standardisation statistics, weights, and a
// CRC-32C checksum against damage). [Load] accepts only an intact file of
// its version whose contents describe a possible model, and a model it
// accepts saves to the same bytes. The checksum detects accidents, not
// tampering: models travel inside flowfed's signed envelopes.
package model
