package protocol

import (
	"context"
	"errors"
	"fmt"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/libp2p/go-libp2p/core/peer"
)

// batchResult collects what the attempts at one sync batch did.
type batchResult struct {
	accepted, duplicates, rejected int
	cursor, head                   uint64
	// retryLater is set when Accept could not store an envelope now.
	retryLater error
}

// Pull brings this node up to date with p's envelopes: from the stored cursor
// on, in batches of at most BatchSize, until p has nothing newer. Each
// envelope is checked (size, publisher = p, membership, signature, seq above
// the cursor) before Backend.Accept sees it; rejections are counted and
// skipped, duplicates ignored. After each batch the cursor is saved and a
// signed Receipt for the stored envelopes goes back on the same stream. A
// batch whose stream is reset is pulled again from the same cursor, with the
// same receipt nonce, so nothing is lost and the publisher records it once.
// Pulls from one peer are serialised.
func (s *Service) Pull(ctx context.Context, p peer.ID) (ps PullStats, err error) {
	defer func() { s.count(err) }()
	if !s.b.IsMember(p) {
		return ps, fmt.Errorf("pulling from %s: %w", p, ErrNotMember)
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return ps, err
	}
	defer done()
	defer s.pulls.lock(p)()
	for {
		after, err := s.b.Cursor(p)
		if err != nil {
			return ps, fmt.Errorf("pulling from %s: reading cursor: %w", p, err)
		}
		var nonce [16]byte
		copy(nonce[:], newNonce(16))
		var res batchResult
		err = s.retry(ctx, func() error { return s.pullBatch(ctx, p, after, nonce, &res) })
		ps.Accepted += res.accepted
		ps.Duplicates += res.duplicates
		ps.Rejected += res.rejected
		if err != nil {
			return ps, fmt.Errorf("pulling from %s after seq %d: %w", p, after, err)
		}
		ps.Batches++
		ps.Cursor, ps.Head = res.cursor, res.head
		if res.retryLater != nil {
			return ps, fmt.Errorf("pulling from %s: stopped at seq %d: %w", p, res.cursor+1, res.retryLater)
		}
		if res.cursor >= res.head || res.cursor <= after {
			return ps, nil
		}
	}
}

// pullBatch pulls the envelopes after the cursor after: one stream, one batch.
func (s *Service) pullBatch(ctx context.Context, p peer.ID, after uint64, nonce [16]byte, res *batchResult) (err error) {
	st, err := s.open(ctx, p, SyncID)
	if err != nil {
		return err
	}
	defer func() { st.finish(err) }()
	if err := st.write("sync request", &pb.SyncRequest{After: after, Limit: uint32(s.cfg.BatchSize)}); err != nil {
		return err
	}
	var (
		good  []Envelope
		last  = after
		total int
		n     int
		end   *syncEnd
	)
	for end == nil {
		var w pb.SyncResponse
		if err := st.read("sync response", &w); err != nil {
			return err
		}
		var raw []byte
		if raw, end, err = syncResponseFromWire(&w); err != nil {
			return err
		}
		if end != nil {
			break
		}
		if n++; n > s.cfg.BatchSize {
			return fmt.Errorf("batch of more than %d envelopes: %w", s.cfg.BatchSize, ErrMalformed)
		}
		if total += len(raw); total > MaxBatchBytes {
			return fmt.Errorf("batch over %d bytes: %w", MaxBatchBytes, ErrTooLarge)
		}
		e, err := s.checkIncoming(p, raw, last)
		if err != nil {
			s.count(err)
			res.rejected++
			continue
		}
		last = e.Seq
		good = append(good, e)
	}
	if end.count != n || end.next < after || end.next < last {
		return fmt.Errorf("batch end (next %d, count %d) does not match %d envelopes up to seq %d: %w",
			end.next, end.count, n, last, ErrMalformed)
	}

	cursor := end.next
	stored := make([]Envelope, 0, len(good))
accept:
	for _, e := range good {
		err := s.b.Accept(ctx, p, e)
		switch {
		case err == nil:
			res.accepted++
			s.counter.received.Add(1)
			stored = append(stored, e)
		case errors.Is(err, ErrDuplicate):
			res.duplicates++
			s.counter.duplicates.Add(1)
			stored = append(stored, e)
		case errors.Is(err, ErrRetryLater):
			cursor = e.Seq - 1
			res.retryLater = err
			break accept
		case ctx.Err() != nil:
			return fmt.Errorf("storing envelope seq %d: %w", e.Seq, err)
		default:
			res.rejected++
			if r := reasonOf(err); r != "" {
				s.reject(r)
			} else {
				s.reject(ReasonRejected)
			}
		}
	}
	if cursor > after {
		if err := s.b.SetCursor(p, cursor); err != nil {
			return fmt.Errorf("saving cursor %d: %w", cursor, localError{err})
		}
	}
	res.cursor, res.head = cursor, end.head

	seqs := make([]uint64, len(stored))
	for i := range stored {
		seqs[i] = stored[i].Seq
	}
	r, err := signReceipt(s.key, Receipt{
		Publisher: p, Upto: cursor, Seqs: seqs, Digest: BatchDigest(stored), Nonce: nonce, Time: s.cfg.Clock(),
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
	return st.readEOF("sync")
}

// checkIncoming decodes and checks one received envelope: size, form,
// publisher = the peer it came from, membership, signature, seq order.
func (s *Service) checkIncoming(from peer.ID, raw []byte, last uint64) (Envelope, error) {
	e, err := UnmarshalEnvelope(raw)
	if err != nil {
		return Envelope{}, err
	}
	if e.Publisher != from {
		return Envelope{}, fmt.Errorf("envelope of %s relayed by %s: %w", e.Publisher, from, ErrNotOriginator)
	}
	if !s.b.IsMember(e.Publisher) {
		return Envelope{}, fmt.Errorf("envelope of %s: %w", e.Publisher, ErrNotMember)
	}
	if err := e.Verify(); err != nil {
		return Envelope{}, err
	}
	if e.Seq <= last {
		return Envelope{}, fmt.Errorf("envelope seq %d at or below %d: %w", e.Seq, last, ErrReplay)
	}
	return e, nil
}

// serveSync answers a SyncRequest with the envelopes the Decider lets the
// requester see, then waits for its receipt.
func (s *Service) serveSync(ctx context.Context, st *stream, remote peer.ID) error {
	var req pb.SyncRequest
	if err := st.read("sync request", &req); err != nil {
		return err
	}
	after, limit, err := syncRequestFromWire(&req)
	if err != nil {
		return err
	}
	limit = min(limit, s.cfg.BatchSize)
	envs, next, err := s.b.After(ctx, after, limit)
	if err != nil {
		return fmt.Errorf("reading envelopes after seq %d: %w", after, err)
	}
	var (
		sent  []Envelope
		last  = after
		total int
	)
	for i := range envs {
		e := &envs[i]
		if i >= limit || e.Seq <= last || e.Publisher != s.self {
			return fmt.Errorf("backend returned envelope seq %d out of order or not ours", e.Seq)
		}
		d, err := s.cfg.Decider.Decide(remote, e)
		if err != nil || !d.Allow {
			s.counter.withheld.Add(1)
			last = e.Seq
			continue
		}
		if r := d.Envelope; r != nil {
			// The decider's version for this requester: the same artifact
			// and sequence number, signed by us again.
			if r.Seq != e.Seq || r.Publisher != s.self || r.ArtifactID != e.ArtifactID || r.Version != e.Version {
				return fmt.Errorf("decider replaced envelope seq %d by another artifact", e.Seq)
			}
			e = r
		}
		b, err := MarshalEnvelope(*e)
		if err != nil {
			s.count(err)
			last = e.Seq
			continue
		}
		if total+len(b) > MaxBatchBytes {
			next = last // the rest goes in the next batch
			break
		}
		if err := st.write("envelope", &pb.SyncResponse{Body: &pb.SyncResponse_Envelope{Envelope: b}}); err != nil {
			return err
		}
		total += len(b)
		sent = append(sent, *e)
		last = e.Seq
	}
	next = max(next, last)
	head := max(s.b.Head(), next)
	end := &pb.SyncEnd{Next: next, Head: head, Count: uint32(len(sent))}
	if err := st.write("sync end", &pb.SyncResponse{Body: &pb.SyncResponse_End{End: end}}); err != nil {
		return err
	}
	s.counter.sent.Add(uint64(len(sent)))

	var w pb.Receipt
	if err := st.read("receipt", &w); err != nil {
		return err
	}
	r, err := receiptFromWire(&w)
	if err != nil {
		return err
	}
	if r.Peer != remote || r.Publisher != s.self || r.Chunk != "" || r.Upto < after || r.Upto > next {
		return fmt.Errorf("receipt does not answer this batch: %w", ErrMalformed)
	}
	stored := make([]Envelope, 0, len(r.Seqs))
	j := 0
	for _, seq := range r.Seqs {
		for j < len(sent) && sent[j].Seq < seq {
			j++
		}
		if j == len(sent) || sent[j].Seq != seq {
			return fmt.Errorf("receipt names seq %d, which was not sent: %w", seq, ErrMalformed)
		}
		stored = append(stored, sent[j])
	}
	if BatchDigest(stored) != r.Digest {
		return fmt.Errorf("receipt digest does not match the envelopes sent: %w", ErrMalformed)
	}
	if err := r.Verify(); err != nil {
		return err
	}
	if err := st.readEOF("sync"); err != nil {
		return err
	}
	if len(stored) == 0 {
		return nil
	}
	return s.deliver(remote, stored, r)
}

// deliver hands a verified receipt to Backend.Delivered once per nonce.
func (s *Service) deliver(p peer.ID, envs []Envelope, r Receipt) error {
	k := nonceKey(p, r.Nonce)
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if s.seen.has(k) {
		return nil
	}
	if err := s.b.Delivered(p, envs, r); err != nil {
		return fmt.Errorf("recording receipt: %w", err)
	}
	s.seen.add(k)
	s.counter.receipts.Add(1)
	return nil
}

// localError marks a failure of this node (its backend, its writer), which a
// retry of the stream cannot fix.
type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }
func (e localError) Unwrap() error { return e.err }
