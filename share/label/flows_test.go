package label

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// Directories of the shared test data; tests that need them are skipped
// when they are absent.
const (
	casesDir = "../../../shared/cases"
	devDir   = "../../../shared/data/pcap/dev"
)

// flowKey identifies a bidirectional flow: the transport and the two
// endpoints in a canonical order.
type flowKey struct {
	proto uint8
	a, b  netip.AddrPort
}

func (k flowKey) String() string {
	return map[uint8]string{ipTCP: "TCP", ipUDP: "UDP"}[k.proto] + " " + k.a.String() + " " + k.b.String()
}

func makeKey(proto uint8, x, y netip.AddrPort) flowKey {
	if y.Compare(x) < 0 {
		x, y = y, x
	}
	return flowKey{proto, x, y}
}

// testFlow is a flow of a capture as these tests group them: the
// initiator is the sender of the first packet seen.
type testFlow struct {
	proto      uint8
	init, resp netip.AddrPort
	state      State
	done       bool
	payloads   [2]int // payload-bearing packets per direction
	observed   int    // packets given to Observe
	recorded   []pkt  // copies of the first payloads, for benchmarks
}

func (f *testFlow) result() Label {
	return f.state.Result(f.proto, f.init.Port(), f.resp.Port())
}

// readFlows groups the TCP and UDP packets of a capture into flows by
// 5-tuple (tunnel and VLAN context ignored) and labels them, calling
// Observe for each payload-bearing packet until it reports done, as the
// flow table does. Non-first IP fragments are skipped.
func readFlows(tb testing.TB, path string) []*testFlow {
	tb.Helper()
	return readFlowsOpt(tb, path, false)
}

// readFlowsRecorded is readFlows that also keeps copies of the first
// payloads of each flow (as many as Observe could be given).
func readFlowsRecorded(tb testing.TB, path string) []*testFlow {
	tb.Helper()
	return readFlowsOpt(tb, path, true)
}

func readFlowsOpt(tb testing.TB, path string, record bool) []*testFlow {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("capture not available: %v", err)
	}
	defer f.Close()
	r, err := capture.NewReader(f)
	if err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	flows := map[flowKey]*testFlow{}
	var order []*testFlow
	var p packet.Packet
	for {
		pk, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Logf("%s: stopped reading: %v", path, err)
			break
		}
		packet.Decode(&p, pk.Data, uint32(pk.LinkType))
		if p.L4 < 0 || (p.Proto != ipTCP && p.Proto != ipUDP) || p.Frag.Offset > 0 {
			continue
		}
		s, d := p.InnerAddrs(pk.Data)
		sa, ok1 := netip.AddrFromSlice(s)
		da, ok2 := netip.AddrFromSlice(d)
		if !ok1 || !ok2 {
			continue
		}
		src, dst := netip.AddrPortFrom(sa, p.SrcPort), netip.AddrPortFrom(da, p.DstPort)
		k := makeKey(p.Proto, src, dst)
		fl := flows[k]
		if fl == nil {
			fl = &testFlow{proto: p.Proto, init: src, resp: dst}
			flows[k] = fl
			order = append(order, fl)
		}
		payload := p.PayloadBytes(pk.Data)
		if len(payload) == 0 {
			continue
		}
		fromInit := src == fl.init
		dir := 1
		if fromInit {
			dir = 0
		}
		fl.payloads[dir]++
		if record && len(fl.recorded) < MaxPackets {
			fl.recorded = append(fl.recorded, pkt{fromInit, append([]byte(nil), payload...)})
		}
		if !fl.done {
			fl.observed++
			fl.done = fl.state.Observe(fromInit, p.Proto, p.SrcPort, p.DstPort, payload)
		}
	}
	return order
}
