package packet

import (
	"encoding/binary"
	"os"
	"testing"
)

// devDir holds the development captures; tests that need them are skipped
// when it is absent.
const devDir = "../../../shared/data/pcap/dev"

// record is one packet read from a capture file, with the full 32-bit link
// type of its interface (gopacket's readers keep link types as uint8).
type record struct {
	data     []byte
	linkType uint32
}

// readCapture reads every packet record of a classic pcap or pcapng file.
// It is deliberately small, for tests only: a record cut short by the end of
// the file is returned with the bytes present.
func readCapture(tb testing.TB, path string) []record {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	if len(b) < 24 {
		tb.Fatalf("%s: too short for a capture file", path)
	}
	switch {
	case binary.LittleEndian.Uint32(b) == 0x0a0d0d0a:
		return readPcapng(tb, path, b)
	default:
		return readPcap(tb, path, b)
	}
}

func readPcap(tb testing.TB, path string, b []byte) []record {
	tb.Helper()
	var order binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(b); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		tb.Fatalf("%s: not a pcap file (magic %#x)", path, m)
	}
	lt := order.Uint32(b[20:]) & 0xffff // the upper bits hold FCS information
	var recs []record
	for o := 24; o+16 <= len(b); {
		n := int(order.Uint32(b[o+8:]))
		o += 16
		end := min(o+n, len(b))
		recs = append(recs, record{data: b[o:end:end], linkType: lt})
		o = end
	}
	return recs
}

func readPcapng(tb testing.TB, path string, b []byte) []record {
	tb.Helper()
	var order binary.ByteOrder = binary.LittleEndian
	var ifaces []uint32
	var recs []record
	for o := 0; o+12 <= len(b); {
		typ := order.Uint32(b[o:])
		if typ == 0x0a0d0d0a { // section header: byte order, new interfaces
			if binary.LittleEndian.Uint32(b[o+8:]) == 0x1a2b3c4d {
				order = binary.LittleEndian
			} else {
				order = binary.BigEndian
			}
			ifaces = ifaces[:0]
		}
		n := int(order.Uint32(b[o+4:]))
		if n < 12 || o+n > len(b) {
			tb.Logf("%s: block at %#x has bad length %d; stopping", path, o, n)
			break
		}
		body := b[o+8 : o+n-4]
		switch typ {
		case 1: // interface description
			if len(body) >= 2 {
				ifaces = append(ifaces, uint32(order.Uint16(body)))
			}
		case 6: // enhanced packet
			if len(body) >= 20 {
				id, cl := int(order.Uint32(body)), int(order.Uint32(body[12:]))
				if id < len(ifaces) {
					cl = min(cl, len(body)-20)
					recs = append(recs, record{data: body[20 : 20+cl : 20+cl], linkType: ifaces[id]})
				}
			}
		case 3: // simple packet
			if len(body) >= 4 && len(ifaces) > 0 {
				cl := min(int(order.Uint32(body)), len(body)-4)
				recs = append(recs, record{data: body[4 : 4+cl : 4+cl], linkType: ifaces[0]})
			}
		case 2: // obsolete packet block
			if len(body) >= 20 {
				id, cl := int(order.Uint16(body)), int(order.Uint32(body[12:]))
				if id < len(ifaces) {
					cl = min(cl, len(body)-20)
					recs = append(recs, record{data: body[20 : 20+cl : 20+cl], linkType: ifaces[id]})
				}
			}
		}
		o += n
	}
	return recs
}

// fileExists reports whether path can be read.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
