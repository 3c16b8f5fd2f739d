// Package dataset builds the labeled, pseudonymized datasets that members share
// for joint model training: one record per flow (sequence tensor, statistics,
// label) or aggregates per group, released only through the privacy gates
// (k-threshold with complementary suppression, optional differential privacy
// under an epsilon budget), described by a deterministic manifest whose id is
// its content hash, stored as content-addressed chunks, and exported as CSV,
// JSON Lines or NumPy NPZ.
package dataset
