package protocol

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Bounds of the per-peer stream window.
const (
	initialWindow = 16
	maxWindow     = 64
)

// window limits the streams this node has open to one peer at a time and
// adapts to what the peer accepts. A resource manager that refuses a stream
// only resets it; when that happens the window shrinks to the number of
// streams the peer was evidently accepting, and each success grows it back by
// about one stream per window's worth of successes. Callers beyond the window
// wait in FIFO order, so a refused operation retries when a stream is
// actually free instead of racing newcomers for it.
type window struct {
	mu       sync.Mutex
	limit    float64
	inflight int
	queue    []chan struct{}
}

// windowFor returns p's window.
func (s *Service) windowFor(p peer.ID) *window {
	s.windowsMu.Lock()
	defer s.windowsMu.Unlock()
	w := s.windows[p]
	if w == nil {
		w = &window{limit: initialWindow}
		s.windows[p] = w
	}
	return w
}

func (w *window) size() int { return max(1, int(w.limit)) }

// acquire takes a stream slot, waiting for one while the window is full.
func (w *window) acquire(ctx context.Context) error {
	w.mu.Lock()
	if len(w.queue) == 0 && w.inflight < w.size() {
		w.inflight++
		w.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	w.queue = append(w.queue, ch)
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		defer w.mu.Unlock()
		select {
		case <-ch: // granted meanwhile: hand the slot on
			w.inflight--
			w.grant()
		default:
			for i, c := range w.queue {
				if c == ch {
					w.queue = append(w.queue[:i], w.queue[i+1:]...)
					break
				}
			}
		}
		return context.Cause(ctx)
	}
}

// release returns a slot; err is the outcome of the stream's use.
func (w *window) release(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err == nil:
		w.limit = min(maxWindow, w.limit+1/w.limit)
	case retryable(err):
		w.limit = max(1, min(w.limit, float64(w.inflight-1)))
	}
	w.inflight--
	w.grant()
}

// grant wakes waiters while the window has room. w.mu is held.
func (w *window) grant() {
	for len(w.queue) > 0 && w.inflight < w.size() {
		ch := w.queue[0]
		w.queue = w.queue[1:]
		w.inflight++
		close(ch)
	}
}
