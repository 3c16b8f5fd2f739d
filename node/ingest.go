package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowfed/flowfed/internal/progress"
	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/flow"
)

// IngestOptions say how captures are taken into the store.
type IngestOptions struct {
	// Flow holds the flow-meter settings; the zero value is the default.
	Flow flow.Config
	// Mapper pseudonymizes addresses; KeyID names its epoch key and Mode its
	// algorithm. Both are required: the store keeps no raw address.
	Mapper flow.AddrMapper
	// Names, when set, replaces the host names in the label evidence (DNS
	// query and answer names, TLS/QUIC SNI, HTTP Host) by keyed tokens, so
	// that the store holds no name in clear; indicators are matched against
	// them by tokenizing their names with the same key (see NameKeyer).
	Names func(name string) string
	// Shredded names the shredded epoch keys, so that a capture whose
	// flows were erased is reported as such.
	Shredded map[string]bool
	KeyID    string
	Mode     string
	// BatchSize is the number of flows written per transaction (default 2048).
	BatchSize int
	// Progress, when set, is called with the bytes of the current file read so far.
	Progress func(file string, done, total int64)
}

// IngestResult reports one capture.
type IngestResult struct {
	File   string
	SHA256 [32]byte
	// Skipped is set when the capture had been ingested completely before.
	Skipped bool
	Packets uint64
	Flows   uint64
	Damage  []capture.Damage
	// Err is set when the file could not be read as a capture (missing, not a
	// capture, no packets readable); the other files are ingested all the same.
	Err error `json:"-"`
	// OtherSettings is set for a skipped capture that was ingested under other
	// flow settings, key or mode than asked for now.
	OtherSettings bool
	// Erased is set for a skipped capture whose flows were erased: the
	// epoch key they were made under is shredded. It is not ingested
	// again, so erased data does not come back.
	Erased bool `json:",omitempty"`
}

// ErrNoPseudonymizer is returned by Ingest without a Mapper or KeyID.
var ErrNoPseudonymizer = errors.New("ingest needs a pseudonymizer and its key ID")

// Ingest reads each capture, meters its flows, pseudonymizes every address and
// stores the flows with the key ID. A capture is identified by the SHA-256 of its
// bytes: one ingested completely before is skipped; one whose ingest was
// interrupted is done again, writing the same flow keys, so no flow is doubled.
// Damage in a capture is reported, not fatal; a file that cannot be read as a
// capture is reported in its result and the others go on. Ingest stops at the
// first error of the store or at cancellation.
func Ingest(ctx context.Context, st *store.Store, files []string, opts IngestOptions) ([]IngestResult, error) {
	if opts.Mapper == nil || opts.KeyID == "" {
		return nil, ErrNoPseudonymizer
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 2048
	}
	cfgJSON, err := opts.Flow.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding flow settings: %w", err)
	}
	var out []IngestResult
	for _, name := range files {
		res, err := ingestFile(ctx, st, name, opts, string(cfgJSON))
		var ce *captureError
		if errors.As(err, &ce) {
			res.Err = ce.err
			out = append(out, res)
			continue
		}
		if err != nil {
			return out, fmt.Errorf("ingesting %s: %w", name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

func ingestFile(ctx context.Context, st *store.Store, name string, opts IngestOptions, cfgJSON string) (IngestResult, error) {
	res := IngestResult{File: name}
	sum, size, err := hashFile(name)
	if err != nil {
		return res, &captureError{err}
	}
	res.SHA256 = sum
	if prev, ok, err := st.Ingest(sum); err != nil {
		return res, err
	} else if ok && prev.Complete {
		res.Skipped, res.Packets, res.Flows = true, prev.Packets, prev.Flows
		res.OtherSettings = prev.FlowConfigDigest != opts.Flow.Digest() || prev.KeyID != opts.KeyID || prev.PseudoMode != opts.Mode
		res.Erased = opts.Shredded[prev.KeyID]
		return res, nil
	}
	rec := store.Ingest{
		SHA256:           sum,
		Name:             filepath.Base(name),
		Size:             size,
		Started:          time.Now(),
		KeyID:            opts.KeyID,
		PseudoMode:       opts.Mode,
		FlowConfigDigest: opts.Flow.Digest(),
	}
	if err := st.BeginIngest(rec, cfgJSON); err != nil {
		return res, err
	}
	f, err := os.Open(name)
	if err != nil {
		return res, fmt.Errorf("opening capture: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if opts.Progress != nil {
		r = &progress.Reader{R: f, Name: name, Total: size, Report: opts.Progress}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		batch   []flow.Record
		next    uint64
		putErr  error
		flushTo = func(done *store.Ingest) error {
			if err := st.PutFlows(sum, next, batch, done); err != nil {
				return err
			}
			next += uint64(len(batch))
			batch = batch[:0]
			return nil
		}
	)
	stats, err := flow.ReadCapture(ctx, r, opts.Flow, func(fl *flow.Flow) {
		if putErr != nil {
			return
		}
		rec := fl.Record(opts.Flow)
		rec.Pseudonymize(opts.Mapper, opts.KeyID)
		if opts.Names != nil {
			tokenizeNames(&rec, opts.Names)
		}
		batch = append(batch, rec)
		if len(batch) >= opts.BatchSize {
			if putErr = flushTo(nil); putErr != nil {
				cancel()
			}
		}
	})
	if putErr != nil {
		return res, putErr
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		// Not readable as a capture at all (the reader refuses unknown formats
		// before any packet). The incomplete ingest record stays, harmlessly.
		return res, &captureError{err}
	}
	if err != nil {
		return res, err
	}
	// An interrupted ingest stays incomplete, to be redone by the next run.
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("interrupted: %w", err)
	}
	res.Packets, res.Flows, res.Damage = stats.Packets, stats.Flows, stats.Damage
	rec.Packets, rec.Flows, rec.Finished = stats.Packets, stats.Flows, time.Now()
	if len(stats.Damage) > 0 {
		rec.Damage = map[string]uint64{}
		for _, d := range stats.Damage {
			rec.Damage[d.Kind.String()] += uint64(d.Count)
		}
	}
	// The last batch and the completion mark go in one transaction.
	if err := flushTo(&rec); err != nil {
		return res, err
	}
	return res, nil
}

// hashFile returns the SHA-256 and the size of a file.
func hashFile(name string) (sum [32]byte, size int64, err error) {
	f, err := os.Open(name)
	if err != nil {
		return sum, 0, fmt.Errorf("opening capture: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return sum, 0, fmt.Errorf("reading capture: %w", err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, size, nil
}

// captureError marks a file that could not be read as a capture.
type captureError struct{ err error }

func (e *captureError) Error() string { return e.err.Error() }
func (e *captureError) Unwrap() error { return e.err }

// tokenizeNames replaces the host names of a flow's evidence by tokens.
// Addresses (already pseudonyms), rcodes and "TYPE<n>" answers stay.
func tokenizeNames(r *flow.Record, token func(string) string) {
	ev := r.Label.Evidence
	if ev == nil {
		return
	}
	for _, p := range []*string{&ev.DNSQuery, &ev.TLSSNI, &ev.HTTPHost, &ev.DNSAnswer} {
		v := *p
		if v == "" || strings.HasPrefix(v, "TYPE") {
			continue
		}
		host := v
		if h, _, err := net.SplitHostPort(v); err == nil {
			host = h
		}
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			continue
		}
		*p = token(NormalizeName(v))
	}
}

// NormalizeName is the form a host name is tokenized in: lower case, no
// trailing dot, no port.
func NormalizeName(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}
