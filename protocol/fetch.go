package protocol

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/libp2p/go-libp2p/core/peer"
)

// refusalNotFound is the refusal of a chunk the publisher does not have (or
// will not give to this requester).
const refusalNotFound = "not found"

// transfer is the state of one Fetch across its retries.
type transfer struct {
	hash  string
	w     io.Writer
	h     hash.Hash
	pos   int64
	nonce [16]byte
}

// Fetch copies the chunk whose SHA-256 (lowercase hex) is hash from p into w,
// starting at byte offset, and returns the number of bytes written. The chunk
// arrives in pieces of at most PieceSize bytes; a transfer whose stream is
// reset (a resource manager refusing it, for one) resumes where it stopped.
// Success means the whole chunk hashed to hash and p holds a signed receipt
// for it; on ErrHashMismatch or any other error the bytes written must be
// discarded. To resume at offset > 0, w must also be an io.ReaderAt holding
// the first offset bytes (an *os.File opened for reading and writing), which
// are hashed first. An unknown chunk fails with ErrNotFound.
func (s *Service) Fetch(ctx context.Context, p peer.ID, hash string, w io.Writer, offset int64) (n int64, err error) {
	defer func() { s.count(err) }()
	if err := checkHash(hash); err != nil {
		return 0, fmt.Errorf("fetching chunk: %w", err)
	}
	if offset < 0 || offset > MaxChunk {
		return 0, fmt.Errorf("fetching chunk %.12s: offset %d: %w", hash, offset, ErrMalformed)
	}
	if !s.b.IsMember(p) {
		return 0, fmt.Errorf("fetching chunk %.12s from %s: %w", hash, p, ErrNotMember)
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	t := &transfer{hash: hash, w: w, h: sha256.New(), pos: offset}
	copy(t.nonce[:], newNonce(16))
	if offset > 0 {
		ra, ok := w.(io.ReaderAt)
		if !ok {
			return 0, fmt.Errorf("fetching chunk %.12s: resuming at %d needs a writer that is also an io.ReaderAt", hash, offset)
		}
		if m, err := io.Copy(t.h, io.NewSectionReader(ra, 0, offset)); err != nil || m != offset {
			return 0, fmt.Errorf("fetching chunk %.12s: hashing the first %d bytes (read %d): %v", hash, offset, m, err)
		}
	}
	err = s.retry(ctx, func() error { return s.fetchOnce(ctx, p, t) })
	n = t.pos - offset
	if err != nil {
		return n, fmt.Errorf("fetching chunk %.12s from %s: %w", hash, p, err)
	}
	s.counter.chunksReceived.Add(1)
	return n, nil
}

func (s *Service) fetchOnce(ctx context.Context, p peer.ID, t *transfer) (err error) {
	st, err := s.open(ctx, p, FetchID)
	if err != nil {
		return err
	}
	defer func() { st.finish(err) }()
	if err := st.write("fetch request", &pb.FetchRequest{Hash: t.hash, Offset: t.pos}); err != nil {
		return err
	}
	k := newSink(t)
	end, err := readPieces(st, t.pos, k)
	if werr := k.close(); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	switch end.refusal {
	case "":
	case refusalNotFound:
		return ErrNotFound
	default:
		return fmt.Errorf("%q: %w", end.refusal, ErrRefused)
	}
	if end.size != t.pos {
		return fmt.Errorf("chunk of %d bytes ended after %d: %w", end.size, t.pos, ErrMalformed)
	}
	var sum [32]byte
	t.h.Sum(sum[:0])
	if hex.EncodeToString(sum[:]) != t.hash {
		return ErrHashMismatch
	}
	r, err := signReceipt(s.key, Receipt{
		Publisher: p, Upto: uint64(t.pos), Chunk: t.hash, Digest: sum, Nonce: t.nonce, Time: s.cfg.Clock(),
	})
	if err != nil {
		return localError{err}
	}
	if err := st.write("receipt", receiptToWire(&r)); err != nil {
		return err
	}
	if err := st.closeWrite(); err != nil {
		return err
	}
	// The publisher half-closes once it has recorded the receipt.
	return st.readEOF("fetch")
}

// readPieces reads data pieces up to the end of a chunk transfer and hands
// them to k; pos is where the transfer starts.
func readPieces(st *stream, pos int64, k *sink) (*fetchEnd, error) {
	defer func() { st.r.buf = nil }() // the buffers belong to k
	for {
		buf := k.buffer()
		st.r.buf = buf
		data, end, err := st.readPiece()
		if err != nil || end != nil {
			k.free <- buf
			return end, err
		}
		if pos += int64(len(data)); pos > MaxChunk {
			k.free <- buf
			return nil, fmt.Errorf("chunk over %d bytes: %w", MaxChunk, ErrTooLarge)
		}
		k.put(buf, data)
	}
}

// sinkBuffers is the number of pieces in flight between the stream reader and
// the sink.
const sinkBuffers = 3

// sink writes pieces to the caller's writer and the hash in a goroutine of its
// own, so that the next piece is read from the stream while the last one is
// hashed; piece buffers circulate between the two.
type sink struct {
	t    *transfer
	in   chan [2][]byte // buffer, piece within it
	free chan []byte
	made int
	done chan struct{}
	err  error // first write error; read after done
}

func newSink(t *transfer) *sink {
	k := &sink{t: t, in: make(chan [2][]byte, sinkBuffers), free: make(chan []byte, sinkBuffers), done: make(chan struct{})}
	go k.run()
	return k
}

func (k *sink) run() {
	defer close(k.done)
	for p := range k.in {
		if k.err == nil {
			if _, err := k.t.w.Write(p[1]); err != nil {
				k.err = localError{fmt.Errorf("writing chunk: %w", err)}
			} else {
				k.t.h.Write(p[1])
				k.t.pos += int64(len(p[1]))
			}
		}
		k.free <- p[0]
	}
}

// buffer returns a buffer for the next frame, waiting while all are in use.
func (k *sink) buffer() []byte {
	if k.made < sinkBuffers {
		select {
		case b := <-k.free:
			return b
		default:
			k.made++
			return *pieceBuffers.Get().(*[]byte)
		}
	}
	return <-k.free
}

// put hands over piece, which lies in buf.
func (k *sink) put(buf, piece []byte) { k.in <- [2][]byte{buf, piece} }

// close waits until every piece handed over is written and returns the first
// write error. The transfer's position and hash are then up to date.
func (k *sink) close() error {
	close(k.in)
	<-k.done
	for range k.made {
		b := <-k.free
		pieceBuffers.Put(&b)
	}
	return k.err
}

// pieceBuffers recycles frame buffers of MaxMessage bytes between transfers.
var pieceBuffers = sync.Pool{New: func() any {
	b := make([]byte, MaxMessage)
	return &b
}}

// serveFetch sends a chunk from the requested offset, then waits for the
// requester's receipt.
func (s *Service) serveFetch(ctx context.Context, st *stream, remote peer.ID) error {
	var req pb.FetchRequest
	if err := st.read("fetch request", &req); err != nil {
		return err
	}
	hash, offset, err := fetchRequestFromWire(&req)
	if err != nil {
		return err
	}
	data, err := s.b.Chunk(ctx, remote, hash)
	if errors.Is(err, ErrNotFound) {
		refusal := &pb.FetchEnd{Refusal: refusalNotFound}
		return st.write("fetch refusal", &pb.FetchResponse{Body: &pb.FetchResponse_End{End: refusal}})
	}
	if err != nil {
		return fmt.Errorf("reading chunk %.12s: %w", hash, err)
	}
	size := int64(len(data))
	if size > MaxChunk {
		return fmt.Errorf("chunk %.12s of %d bytes: %w", hash, size, ErrTooLarge)
	}
	if offset > size {
		return fmt.Errorf("fetch offset %d beyond chunk of %d bytes: %w", offset, size, ErrMalformed)
	}
	for off := offset; off < size; off += PieceSize {
		if err := st.writeData(data[off:min(off+PieceSize, size)]); err != nil {
			return err
		}
	}
	if err := st.write("fetch end", &pb.FetchResponse{Body: &pb.FetchResponse_End{End: &pb.FetchEnd{Size: size}}}); err != nil {
		return err
	}

	var w pb.Receipt
	if err := st.read("receipt", &w); err != nil {
		return err
	}
	r, err := receiptFromWire(&w)
	if err != nil {
		return err
	}
	want, _ := hex.DecodeString(hash)
	if r.Peer != remote || r.Publisher != s.self || r.Chunk != hash || r.Upto != uint64(size) ||
		len(r.Seqs) != 0 || string(r.Digest[:]) != string(want) {
		return fmt.Errorf("receipt does not answer this chunk: %w", ErrMalformed)
	}
	if err := r.Verify(); err != nil {
		return err
	}
	if err := st.readEOF("fetch"); err != nil {
		return err
	}
	if err := s.deliver(remote, nil, r); err != nil {
		return err
	}
	s.counter.chunksSent.Add(1)
	return nil
}
