package synth

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// FuzzWrite feeds arbitrary configurations to Write: it either rejects
// them with ErrInvalidConfig, writing nothing, or writes a capture whose
// flows are all labelled as their kinds, whose addresses lie in the
// configured prefixes and whose summary matches it.
func FuzzWrite(f *testing.F) {
	f.Add(uint64(1), int32(20), uint16(300), []byte{192, 0, 2, 0}, uint8(24), []byte{198, 51, 100, 0}, uint8(24),
		[]byte(nil), uint8(0), "example.org", int64(0), 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
	f.Add(uint64(2), int32(3), uint16(120), []byte{10, 9, 0, 0}, uint8(30), []byte{203, 0, 113, 16}, uint8(28),
		[]byte{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(64), "a.example.net", int64(3600), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
	f.Add(uint64(3), int32(1), uint16(50), []byte{8, 8, 8, 0}, uint8(24), []byte(nil), uint8(0),
		[]byte(nil), uint8(0), "example.io", int64(-1), -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
	f.Add(uint64(4), int32(200), uint16(500), []byte{172, 16, 0, 0}, uint8(12), []byte{192, 168, 7, 0}, uint8(24),
		[]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(120), "EXAMPLE.COM.", int64(1), 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0)
	f.Fuzz(func(t *testing.T, seed uint64, hosts int32, packets uint16, cli []byte, cliBits uint8, srv []byte, srvBits uint8,
		cli6 []byte, cli6Bits uint8, domain string, startOff int64, wDNS, wHTTP, wTLS, wSSH, wNTP, wQUIC, wScan float64) {
		cfg := Config{
			Seed:    seed,
			Hosts:   int(hosts % 5000),
			Packets: int(packets % 700),
			Domain:  domain,
			Start:   DefaultStart.Add(time.Duration(startOff) * time.Second),
		}
		if a, ok := netip.AddrFromSlice(cli); ok {
			cfg.Clients = netip.PrefixFrom(a, int(cliBits))
		}
		if a, ok := netip.AddrFromSlice(srv); ok {
			cfg.Servers = netip.PrefixFrom(a, int(srvBits))
		}
		if a, ok := netip.AddrFromSlice(cli6); ok {
			cfg.Clients6 = netip.PrefixFrom(a, int(cli6Bits))
		}
		if w := []float64{wDNS, wHTTP, wTLS, wSSH, wNTP, wQUIC, wScan}; w[0] != 1 || w[1] != 1 {
			cfg.Mix = map[string]float64{}
			for i, k := range Kinds() {
				if w[i] != 0 {
					cfg.Mix[k] = w[i]
				}
			}
		}
		var buf bytes.Buffer
		sum, err := Write(&buf, cfg)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) || buf.Len() != 0 {
				t.Fatalf("Write(%+v) = %v after %d bytes", cfg, err, buf.Len())
			}
			return
		}
		n, err := cfg.normalize()
		if err != nil {
			t.Fatalf("Write accepted %+v, normalize rejects it: %v", cfg, err)
		}
		checkLabels(t, cfg, buf.Bytes(), sum)
		for _, a := range sum.Addrs {
			if !n.Clients.Contains(a) && !n.Servers.Contains(a) && !n.Clients6.Contains(a) && !n.Servers6.Contains(a) {
				t.Fatalf("address %s outside the prefixes of %+v", a, cfg)
			}
		}
		if sum.Packets < n.Packets {
			t.Fatalf("%d packets written, %d asked", sum.Packets, n.Packets)
		}
	})
}
