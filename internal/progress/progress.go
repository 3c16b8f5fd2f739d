// Package progress reports how far a long read has come, for progress lines on a
// terminal.
package progress

import (
	"io"
	"time"
)

// Reader passes reads through to R and calls Report at most five times a second,
// and once at the end, with the bytes read so far and Total.
type Reader struct {
	R      io.Reader
	Name   string
	Total  int64
	Report func(name string, done, total int64)

	done int64
	last time.Time
}

// Read implements io.Reader.
func (p *Reader) Read(b []byte) (int, error) {
	n, err := p.R.Read(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) > 200*time.Millisecond || err == io.EOF {
		p.last = now
		p.Report(p.Name, p.done, p.Total)
	}
	return n, err
}
