package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/flowfed/flowfed/share/capture"
)

// ctxCheckEvery is how many packets ReadCapture reads between looks at its
// context.
const ctxCheckEvery = 4096

// ReadCapture reads a pcap or pcapng capture from r and adds its packets to
// the table, without flushing it, so that several captures can feed one
// table. Damage to the capture is counted in Stats.Damage, not returned:
// resumable damage skips a block, fatal damage ends the capture early, and
// the packets read before it count. It returns an error for input that is
// not a capture, for an error of r, and for ctx ending (checked every few
// thousand packets).
func (t *Table) ReadCapture(ctx context.Context, r io.Reader) error {
	cr, err := capture.NewReader(r)
	if err != nil {
		var de *capture.DamageError
		if errors.As(err, &de) {
			t.stats.Damage = append(t.stats.Damage, capture.Damage{Kind: de.Kind, Count: 1, Offset: de.Offset})
			return nil
		}
		return fmt.Errorf("opening capture: %w", err)
	}
	defer func() { t.stats.Damage = append(t.stats.Damage, cr.Damage()...) }()
	for n := 0; ; n++ {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("reading capture: %w", err)
			}
		}
		pkt, err := cr.Next()
		if err == nil {
			t.Add(pkt)
			continue
		}
		if err == io.EOF {
			return nil
		}
		var de *capture.DamageError
		if errors.As(err, &de) {
			if de.Resumable {
				continue
			}
			return nil // fatal damage: counted by the reader
		}
		return fmt.Errorf("reading capture: %w", err)
	}
}

// ReadCapture meters the capture in r with a new table of settings cfg,
// hands every flow to emit (see NewTable) and returns the table's Stats.
// The flows read before an error are emitted too.
func ReadCapture(ctx context.Context, r io.Reader, cfg Config, emit func(*Flow)) (Stats, error) {
	t, err := NewTable(cfg, emit)
	if err != nil {
		return Stats{}, err
	}
	err = t.ReadCapture(ctx, r)
	t.Flush()
	return t.Stats(), err
}

// ReadFile is ReadCapture on the file called name.
func ReadFile(ctx context.Context, name string, cfg Config, emit func(*Flow)) (Stats, error) {
	f, err := os.Open(name)
	if err != nil {
		return Stats{}, fmt.Errorf("opening capture: %w", err)
	}
	defer f.Close()
	return ReadCapture(ctx, f, cfg, emit)
}
