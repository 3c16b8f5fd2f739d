package pcap

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowfed/flowfed/share/capture"
)

// AnonymizeFile runs Anonymize from the file in to the file out. The output, and for
// classic pcap its sidecar out+SidecarSuffix, are written to temporary files in the
// directory of out and renamed into place only when everything succeeded, so that
// a failed or interrupted rewrite never leaves a partial file. An existing out is
// replaced; out may not be in itself (ErrSameFile).
//
// The files are not synced to disk before the rename: an fsync of a large output
// waits for the device, often longer than the rewrite took, and an output lost to
// a power failure can be made again from its input.
func AnonymizeFile(ctx context.Context, in, out string, opts Options) (Stats, error) {
	if err := opts.check(); err != nil {
		return Stats{}, err
	}
	var st Stats
	err := rewriteFile(in, out, func(r io.Reader, w io.Writer) (capture.Format, error) {
		var err error
		st, err = Anonymize(ctx, r, w, opts)
		return st.Output, err
	}, opts.metadata().sidecar())
	return st, err
}

// DeanonymizeFile runs Deanonymize from the file in to the file out, with the same
// care for the output as AnonymizeFile. It writes no sidecar.
func DeanonymizeFile(ctx context.Context, in, out string, opts RestoreOptions) (Stats, error) {
	var st Stats
	err := rewriteFile(in, out, func(r io.Reader, w io.Writer) (capture.Format, error) {
		var err error
		st, err = Deanonymize(ctx, r, w, opts)
		return 0, err
	}, nil)
	return st, err
}

// rewriteFile streams in through fn into a temporary file next to out, then renames
// it (and a sidecar, when fn reports a classic pcap output and sidecar is set).
func rewriteFile(in, out string, fn func(io.Reader, io.Writer) (capture.Format, error), sidecar []byte) (err error) {
	src, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("opening input: %w", err)
	}
	defer src.Close()
	if si, err := src.Stat(); err == nil {
		if oi, err := os.Stat(out); err == nil && os.SameFile(si, oi) {
			return fmt.Errorf("writing %s: %w", out, ErrSameFile)
		}
	}
	// The temporary files are in out's directory so that the rename stays on one
	// file system, and hidden so that they are not mistaken for results.
	dir, base := filepath.Split(out)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating output: %w", err)
	}
	var side *os.File
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			if side != nil {
				side.Close()
				os.Remove(side.Name())
			}
		}
	}()
	// Large inputs are read ahead on another goroutine (see prefetcher).
	var r io.Reader = src
	if si, err := src.Stat(); err == nil && si.Size() >= prefetchMin {
		pf := newPrefetcher(src)
		defer pf.Close()
		r = pf
	}
	format, err := fn(r, tmp)
	if err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if format == capture.FormatPcap && sidecar != nil {
		side, err = os.CreateTemp(dir, "."+base+SidecarSuffix+".tmp-*")
		if err != nil {
			return fmt.Errorf("creating sidecar: %w", err)
		}
		_, err = side.Write(sidecar)
		if cerr := side.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing sidecar: %w", err)
		}
		// The record goes first: a capture in place without its record could not
		// be restored; a record without its capture is removed on failure.
		if err = os.Rename(side.Name(), out+SidecarSuffix); err != nil {
			return fmt.Errorf("placing sidecar: %w", err)
		}
		side = nil
	}
	if err = os.Rename(tmp.Name(), out); err != nil {
		if format == capture.FormatPcap && sidecar != nil {
			os.Remove(out + SidecarSuffix)
		}
		return fmt.Errorf("placing output: %w", err)
	}
	return nil
}
