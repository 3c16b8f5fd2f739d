package pcap

import (
	"io"
	"sync"
)

// Reading a large capture costs about as much in read system calls (copying from
// the page cache) as rewriting it. A prefetcher does the reading on another core:
// a goroutine fills chunks of the input ahead of the rewriter, which copies them
// out of memory at a fraction of the cost. It is used for files of at least
// prefetchMin bytes.
const (
	chunkSize   = 1 << 20
	chunkCount  = 4
	prefetchMin = 8 << 20
)

type chunk struct {
	b   []byte
	n   int
	err error
}

// chunks recycles prefetch buffers between rewrites.
var chunks = sync.Pool{New: func() any { return &chunk{b: make([]byte, chunkSize)} }}

// prefetcher is an io.Reader reading src ahead in a goroutine. Close stops the
// goroutine; it must be called.
type prefetcher struct {
	full chan *chunk
	free chan *chunk
	done chan struct{}
	wg   sync.WaitGroup
	cur  *chunk
	off  int
}

func newPrefetcher(src io.Reader) *prefetcher {
	p := &prefetcher{
		full: make(chan *chunk, chunkCount),
		free: make(chan *chunk, chunkCount),
		done: make(chan struct{}),
	}
	for range chunkCount {
		p.free <- chunks.Get().(*chunk)
	}
	p.wg.Add(1)
	go p.fill(src)
	return p
}

// fill reads src into free chunks until an error (io.EOF included) or Close.
func (p *prefetcher) fill(src io.Reader) {
	defer p.wg.Done()
	for {
		var c *chunk
		select {
		case c = <-p.free:
		case <-p.done:
			return
		}
		c.n, c.err = io.ReadFull(src, c.b)
		if c.err == io.ErrUnexpectedEOF {
			c.err = io.EOF // a short last chunk is the end of the input
		}
		select {
		case p.full <- c:
		case <-p.done:
			chunks.Put(c)
			return
		}
		if c.err != nil {
			return
		}
	}
}

// Read implements io.Reader.
func (p *prefetcher) Read(b []byte) (int, error) {
	for p.cur == nil || p.off == p.cur.n {
		if p.cur != nil {
			if p.cur.err != nil {
				return 0, p.cur.err
			}
			p.free <- p.cur
		}
		p.cur, p.off = <-p.full, 0
	}
	n := copy(b, p.cur.b[p.off:p.cur.n])
	p.off += n
	return n, nil
}

// Close stops the reading goroutine and recycles the chunks.
func (p *prefetcher) Close() {
	close(p.done)
	p.wg.Wait()
	if p.cur != nil {
		chunks.Put(p.cur)
	}
	for {
		select {
		case c := <-p.full:
			chunks.Put(c)
		case c := <-p.free:
			chunks.Put(c)
		default:
			return
		}
	}
}
