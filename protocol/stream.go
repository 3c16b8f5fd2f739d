package protocol

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"
)

// stream frames length-delimited protobuf messages on a libp2p stream. Every
// read and write renews the stream's deadline, so a stalled peer cannot hold a
// stream longer than Config.StreamTimeout; cancelling the context resets it.
//
// Writes go through go-msgio/pbio. Reads use frameReader, which reads the same
// framing but hands out the frame in place, so that chunk pieces reach the
// hash and the caller's writer without a copy per piece.
type stream struct {
	s       network.Stream
	r       *frameReader
	w       pbio.WriteCloser
	cw      *countingRW
	timeout time.Duration
	stop    func() bool
	release func(error) // returns the window slot of an outgoing stream
}

// countingRW counts the bytes through a stream into the Service's counters.
type countingRW struct {
	s       network.Stream
	in, out *atomic.Uint64
}

func (c *countingRW) Read(p []byte) (int, error) {
	n, err := c.s.Read(p)
	c.in.Add(uint64(n))
	return n, err
}

func (c *countingRW) Write(p []byte) (int, error) {
	n, err := c.s.Write(p)
	c.out.Add(uint64(n))
	return n, err
}

func (s *Service) wrap(ctx context.Context, ns network.Stream) *stream {
	cw := &countingRW{s: ns, in: &s.counter.bytesIn, out: &s.counter.bytesOut}
	st := &stream{
		s:       ns,
		r:       &frameReader{r: bufio.NewReader(cw)},
		w:       pbio.NewDelimitedWriter(cw),
		cw:      cw,
		timeout: s.cfg.StreamTimeout,
	}
	st.stop = context.AfterFunc(ctx, func() { _ = ns.Reset() })
	_ = ns.SetDeadline(time.Now().Add(st.timeout))
	return st
}

// read reads one message of at most MaxMessage bytes into m and rejects
// unknown fields.
func (st *stream) read(what string, m proto.Message) error {
	_ = st.s.SetReadDeadline(time.Now().Add(st.timeout))
	b, err := st.r.next()
	if err != nil {
		return wireError(what, err)
	}
	if err := unmarshalStrict(b, m); err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	return nil
}

// readPiece reads one FetchResponse: a data piece (valid until the next read)
// or the end.
func (st *stream) readPiece() ([]byte, *fetchEnd, error) {
	_ = st.s.SetReadDeadline(time.Now().Add(st.timeout))
	b, err := st.r.next()
	if err != nil {
		return nil, nil, wireError("chunk data", err)
	}
	return decodeFetchResponse(b)
}

// write writes one message.
func (st *stream) write(what string, m proto.Message) error {
	if n := proto.Size(m); n > MaxMessage {
		return fmt.Errorf("writing %s: %d bytes: %w", what, n, ErrTooLarge)
	}
	_ = st.s.SetWriteDeadline(time.Now().Add(st.timeout))
	if err := st.w.WriteMsg(m); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	return nil
}

// writeData writes a FetchResponse holding data without copying it into a
// marshalled message first: the varint length, the field key and length, then
// the bytes, exactly as proto.Marshal would lay them out.
func (st *stream) writeData(data []byte) error {
	inner := uint64(len(data))
	msgLen := 1 + uint64(protoVarintSize(inner)) + inner
	var hdr [24]byte
	b := appendVarint(hdr[:0], msgLen)
	b = append(b, 0x0a) // field 1 (data), wire type 2
	b = appendVarint(b, inner)
	_ = st.s.SetWriteDeadline(time.Now().Add(st.timeout))
	if _, err := st.cw.Write(b); err != nil {
		return fmt.Errorf("writing data: %w", err)
	}
	if _, err := st.cw.Write(data); err != nil {
		return fmt.Errorf("writing data: %w", err)
	}
	return nil
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func protoVarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// errFrameTooLarge is returned by frameReader for a frame over MaxMessage.
var errFrameTooLarge = errors.New("frame too large")

// frameReader reads frames of an unsigned varint length and that many bytes,
// the framing of go-msgio/pbio, refusing lengths over MaxMessage before
// reading them. The frame returned is valid until the next call.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

func (f *frameReader) next() ([]byte, error) {
	var n uint64
	for i := 0; ; i++ {
		c, err := f.r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if i == 9 && c > 1 {
			return nil, errFrameTooLarge // beyond 64 bits
		}
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			break
		}
	}
	if n > MaxMessage {
		return nil, errFrameTooLarge
	}
	if uint64(cap(f.buf)) < n {
		f.buf = make([]byte, n)
	}
	b := f.buf[:n]
	if _, err := io.ReadFull(f.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// closeWrite half-closes the stream after the last write: the peer reads to
// EOF and knows that nothing was cut off.
func (st *stream) closeWrite() error {
	if err := st.s.CloseWrite(); err != nil {
		return fmt.Errorf("closing stream for writing: %w", err)
	}
	return nil
}

// readEOF waits for the peer's half-close. Anything but a clean EOF is an
// error: more data is malformed, a reset means the peer refused.
func (st *stream) readEOF(what string) error {
	_ = st.s.SetReadDeadline(time.Now().Add(st.timeout))
	_, err := st.r.next()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return fmt.Errorf("%s: message after the last one: %w", what, ErrMalformed)
	}
	return wireError(what+" end of stream", err)
}

// finish closes the stream after success and resets it after an error.
func (st *stream) finish(err error) {
	cancelled := !st.stop() // the context already reset the stream
	if err != nil {
		_ = st.s.Reset()
	} else {
		_ = st.s.Close()
	}
	if st.release != nil {
		if cancelled {
			err = errCancelled // says nothing about the peer's limits
		}
		st.release(err)
	}
}

// errCancelled stands for a stream ended by its own context.
var errCancelled = errors.New("cancelled")
