package synth

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/flowfed/flowfed/share/capture"
)

func TestWriteCaptureDeterministicAndReadable(t *testing.T) {
	var a, b bytes.Buffer
	addrs, err := WriteCapture(&a, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCapture(&b, 3); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two captures of the same size differ")
	}
	for _, ad := range addrs {
		if !(ad.Is4() && (ad.As4()[0] == 192 || ad.As4()[0] == 198 || ad.As4()[0] == 203)) && !ad.Is6() {
			t.Errorf("address %s is outside the documentation ranges", ad)
		}
	}
	r, err := capture.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3*9 || len(r.Damage()) != 0 {
		t.Fatalf("read %d packets (want 27), damage %v", n, r.Damage())
	}
}
