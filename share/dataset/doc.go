// Package dataset builds the labeled, pseudonymized datasets that members share
// for joint model training: one record per flow (sequence tensor, statistics,
// label) or aggregates per group, released only through the privacy gates
// (k-threshold with complementary suppression, optional differential privacy
// under an epsilon budget), described by a deterministic manifest whose id is
// its content hash, stored as content-addressed chunks, and exported as CSV,
// JSON Lines or NumPy NPZ.
//
// [Build] takes a [Spec] and the stored flows ([Row]: a pseudonymized
// flow.Record and the capture it came from) and returns a [Built]: the
// [Manifest], the content and its [Chunk]s, and for DP datasets the [Charge]
// for the epsilon ledger. [DecodeManifest], [Assemble], [Records],
// [Aggregates] and [Export] are the recipient's side.
//
// # Kinds
//
// A flows dataset ([KindFlows]) has one [Record] per flow: the capture it came
// from, the protocol label and its evidence class ("payload" or "port"), the
// pseudonymized endpoints with their key ID, ports and IP protocol, start
// and end, per-direction packets, IP and payload bytes and retransmissions,
// Zeek's conn_state and history, and the packet sequence as the tensor of
// [Tensor] ([Steps] x [Features], names in [FeatureNames]) with its mask.
// VLAN IDs, tunnel endpoints and the label evidence (DNS names, SNI, user
// agents, banners) are never read into a dataset.
//
// An aggregates dataset ([KindAggregates]) has one [Aggregate] per group. The
// group-by keys are "host" (the source host), "protocol", "pair" (source and
// destination host) and "window" (the bucket of Spec.Window holding the
// flow's start), in any combination; none gives one group for the whole
// selection. A group has flows, packets and IP bytes per direction, distinct
// source hosts and counterparts (destination hosts), its label distribution,
// and duration minimum, median, 90th percentile (nearest rank), maximum and
// mean. Groups keyed by an address carry the key ID of its pseudonym.
//
// # Privacy gates
//
// Cells. The k-threshold applies to cells: in a flows dataset a cell is a
// label class (the records of one protocol label); in an aggregates dataset
// it is one label within one group, so that a group's label distribution
// obeys the threshold too. A cell is released only if its flows come from at
// least k distinct source hosts (Spec.K, default [DefaultK], raised to the
// usage policy's k_min; the k applied is both Manifest.K and the policy's
// k_min). Hosts are told apart by their pseudonym under one key: a cell's
// count is the largest number of distinct pseudonyms under any one key ID of
// the selection, a lower bound of its real hosts when the selection spans
// key epochs (a host has a pseudonym per epoch). Grouping by host or pair
// makes groups of one source host, which only k = 1 releases.
//
// Complementary suppression. Classic tables publish margins computed from
// all the data and must then suppress further cells so that a suppressed cell
// cannot be solved for from a margin and its released neighbours. Here the
// rule is the stronger one of computing every published figure after
// suppression: the manifest's record count, label counts, time range, key
// IDs and config digests, and every group's flows, packets, bytes, host
// counts, duration statistics and label distribution, are taken over the
// released cells only. A suppressed cell's flows enter no published number,
// so no combination of published numbers involves it, and the dataset is
// byte-for-byte the same whatever the suppressed cell holds (the tests check
// exactly that). Manifest.Suppressed counts suppressed cells, never their
// flows, so it tells that something was withheld but not how much. The rule
// protects one dataset: two datasets over overlapping selections (other
// windows, other time ranges) can still be differenced; repeated releases
// of the same data need DP.
//
// Differential privacy. With Spec.DP an aggregates dataset's counts are
// noisy. The privacy unit is a source host under one key epoch (the flows it
// initiated). Each unit's flows are bounded to DP.MaxContrib (default
// [DefaultMaxContrib]), taken round-robin over the unit's cells in canonical
// order, and each flow's packets, bytes and duration are clamped (DP.MaxPackets,
// MaxBytes, MaxDuration). Eight statistics are noised: flows per cell (a
// group's flows are the sum of its noisy label counts), source hosts,
// counterparts, packets and bytes per direction, and the duration sum (the
// mean is the noisy sum over the noisy flows); minimum and quantiles are not
// published. Sensitivities are MaxContrib (times the clamp) times the number
// of key epochs in the selection. "laplace" splits epsilon evenly over the
// eight and adds discrete Laplace noise of scale sensitivity/(epsilon/8);
// "gaussian" converts (epsilon, delta) to rho-zCDP (epsilon = rho +
// 2 sqrt(rho ln(1/delta))), splits rho evenly and adds discrete Gaussian noise
// of variance sensitivity^2/(2 rho/8), the host count using its L2
// sensitivity sqrt(MaxContrib x epochs). The samplers are the exact integer
// algorithms of Canonne, Kamath and Steinke (2020) drawing uniform bytes from
// Spec.Rand (crypto/rand by default); noise parameters are rounded up to a
// multiple of 2^-20 and recorded in the manifest. Negative noisy counts are
// published as 0. A DP dataset's time range is the calendar month of its
// flows (narrowed to the selection), not the exact first and last flow. The
// choice of released cells is made by the exact k-threshold and is not
// itself differentially private.
//
// Ledger. A DP Build returns a [Charge]: family (kind, group-by, labels) and
// period (the calendar month, UTC, of the selected flows; a DP selection must
// lie within one month) with the epsilon to charge and the budget (DP.Budget,
// default [DefaultBudget]). Storage calls [CheckBudget] with the epsilon
// already spent on that family and period inside the transaction that
// records the charge; it returns an error wrapping [ErrBudgetExhausted] when
// the budget would be exceeded. Build itself only refuses an epsilon larger
// than the whole budget, through the same helper.
//
// Nothing partial is ever returned: an empty selection is [ErrEmpty], a
// k-threshold that releases nothing is [ErrBelowK] with the number of
// distinct source hosts, each with a message saying why nothing was released.
//
// # Manifest and content
//
// The manifest is canonical JSON (fixed field order, UTC times, no
// insignificant space); its id is "ds-" and the hex SHA-256 of that encoding
// with the id empty. It lists schema version, kind, group-by and window,
// feature schema, flow-meter settings and config digests, key IDs and
// pseudonymization domain, the selection, the time range, label counts,
// record count, k and suppressed cells, the DP parameters with each noisy
// statistic's sensitivity and noise, the chunks (hash and size), the content
// size and the usage policy (usage.Policy, normalised: TLP:AMBER, research,
// 180 days, no reshare unless set). It holds no wall-clock time, and records
// and groups are in canonical order, so the same flows in any order under
// the same Spec without DP give the same id. [DecodeManifest] accepts only
// that canonical form and checks every field and the id.
//
// The content is a compact binary encoding (see codec.go) that stores the
// packet steps rather than the tensor; [Records] rebuilds the tensor. It is
// cut into chunks of [ChunkSize] (1 MiB) bytes, the last shorter, each named
// by the hex SHA-256 of its bytes; [Assemble] fetches and checks them.
//
// # Export
//
// [Export] writes CSV ([FormatCSV] with the tensor as columns
// x_<step>_<feature>, [FormatCSVStats] without), JSON Lines ([FormatJSONL],
// present steps only) and, for flows, NPZ ([FormatNPZ]): a stored zip of
// NumPy .npy 1.0 arrays X float32 (n, 128, 9), mask float32 (n, 128), y int64
// (n,), label_names, source (unicode) and start_ns int64, deterministic to
// the byte. It decodes all content before writing anything.
package dataset
