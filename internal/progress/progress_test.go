package progress

import (
	"io"
	"strings"
	"testing"
)

func TestReaderReportsTheEnd(t *testing.T) {
	var last, calls int64
	r := &Reader{R: strings.NewReader(strings.Repeat("x", 10000)), Name: "f", Total: 10000,
		Report: func(name string, done, total int64) {
			if name != "f" || total != 10000 || done < last {
				t.Errorf("Report(%q, %d, %d) after %d", name, done, total, last)
			}
			last = done
			calls++
		}}
	b, err := io.ReadAll(r)
	if err != nil || len(b) != 10000 {
		t.Fatalf("ReadAll = %d bytes, %v", len(b), err)
	}
	if last != 10000 || calls == 0 {
		t.Fatalf("last report %d after %d calls, want 10000", last, calls)
	}
}
