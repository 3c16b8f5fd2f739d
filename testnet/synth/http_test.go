package synth

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// TestBodyLength checks that every kind of HTTP body has the length its
// Content-Length header announces, and the look of its type.
func TestBodyLength(t *testing.T) {
	initTables()
	n, _ := Config{}.normalize()
	g := newGen(&n)
	for _, res := range resources {
		for _, size := range []int{0, 1, 2, 63, 64, 80, 81, 1000, 70000} {
			b := g.appendBody([]byte("head"), &res, size)
			if len(b) != 4+size {
				t.Errorf("%s body of %d bytes has %d", res.contentType, size, len(b)-4)
				continue
			}
			b = b[4:]
			switch {
			case size < 80:
			case res.contentType == "image/png":
				// Signature, then chunks whose CRCs hold.
				if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
					t.Errorf("PNG without signature")
				}
				for off := 8; off < len(b); {
					l := int(binary.BigEndian.Uint32(b[off:]))
					if crc32.ChecksumIEEE(b[off+4:off+8+l]) != binary.BigEndian.Uint32(b[off+8+l:]) {
						t.Errorf("PNG chunk %q of %d bytes: bad CRC", b[off+4:off+8], l)
					}
					off += 12 + l
				}
			case res.contentType == "image/jpeg":
				if !bytes.HasPrefix(b, []byte{0xff, 0xd8}) || !bytes.HasSuffix(b, []byte{0xff, 0xd9}) {
					t.Errorf("JPEG without SOI or EOI")
				}
			}
		}
	}
}
