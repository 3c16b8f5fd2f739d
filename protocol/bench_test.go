package protocol

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	benchDataset = 64 << 20
	benchChunk   = 4 << 20
	rawID        = "/flowfed-bench/raw/1"
)

// BenchmarkFetchVsStream moves a 64 MiB dataset (16 chunks of 4 MiB) between
// two hosts over loopback TCP, once with Fetch chunk by chunk (framing,
// SHA-256 check, signed receipts) and once as the same bytes on one plain
// libp2p stream, and reports both rates and their ratio.
func BenchmarkFetchVsStream(b *testing.B) {
	ms := newMembership()
	a := newNode(b, ms, nodeOpts{})
	c := newNode(b, ms, nodeOpts{})
	connect(b, c, a)
	var hashes []string
	for range benchDataset / benchChunk {
		chunk, hash := randomChunk(b, benchChunk)
		a.b.chunks[hash] = chunk
		hashes = append(hashes, hash)
	}
	blob := make([]byte, benchDataset)
	for i, h := range hashes {
		copy(blob[i*benchChunk:], a.b.chunks[h])
	}
	a.h.SetStreamHandler(rawID, func(s network.Stream) {
		if _, err := s.Write(blob); err != nil {
			s.Reset()
			return
		}
		s.CloseWrite()
		io.Copy(io.Discard, s)
		s.Close()
	})
	b.Cleanup(func() { a.h.RemoveStreamHandler(rawID) })

	plain := func() {
		s, err := c.h.NewStream(ctxT(b), a.id, rawID)
		if err != nil {
			b.Fatal(err)
		}
		s.CloseWrite()
		n, err := io.Copy(io.Discard, s)
		if err != nil || n != benchDataset {
			b.Fatalf("plain stream moved %d bytes: %v", n, err)
		}
		s.Close()
	}
	fetch := func() {
		for _, h := range hashes {
			if n, err := c.svc.Fetch(ctxT(b), a.id, h, io.Discard, 0); err != nil || n != benchChunk {
				b.Fatalf("Fetch = %d, %v", n, err)
			}
		}
	}
	plain() // warm up both paths
	fetch()
	var tPlain, tFetch time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if i%2 == 0 {
			plain()
			tPlain += time.Since(start)
			start = time.Now()
			fetch()
			tFetch += time.Since(start)
		} else {
			fetch()
			tFetch += time.Since(start)
			start = time.Now()
			plain()
			tPlain += time.Since(start)
		}
	}
	mib := float64(b.N) * benchDataset / (1 << 20)
	b.ReportMetric(mib/tFetch.Seconds(), "fetch-MiB/s")
	b.ReportMetric(mib/tPlain.Seconds(), "stream-MiB/s")
	b.ReportMetric(tPlain.Seconds()/tFetch.Seconds()*100, "fetch/stream-%")
}

// BenchmarkNotifyToAccepted measures the latency from Notify on the
// publisher to Accept of a small envelope on the receiver, which pulls when
// notified.
func BenchmarkNotifyToAccepted(b *testing.B) {
	ms := newMembership()
	a := newNode(b, ms, nodeOpts{})
	c := newNode(b, ms, nodeOpts{})
	connect(b, c, a)
	accepted := make(chan uint64, 16)
	c.b.onAccept = func(e Envelope) error {
		accepted <- e.Seq
		return nil
	}
	pulls := make(chan struct{}, 1)
	done := make(chan struct{})
	c.b.onNotified = func(p peer.ID, _ uint64) {
		select {
		case pulls <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	go func() { // the node's pull scheduler
		defer close(done)
		for range pulls {
			if _, err := c.svc.Pull(ctx, a.id); err != nil {
				b.Error(err)
			}
		}
	}()
	b.Cleanup(func() { close(pulls); <-done; cancel() })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		e := a.publish(b, KindIndicator, fmt.Sprintf("ind-%d", i), 1, []byte(`{"type":"domain","value":"example.org"}`), usage.Green)
		b.StartTimer()
		if err := a.svc.Notify(ctxT(b), c.id); err != nil {
			b.Fatal(err)
		}
		for seq := range accepted {
			if seq == e.Seq {
				break
			}
		}
	}
}
