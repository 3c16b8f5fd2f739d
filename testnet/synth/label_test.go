package synth

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
)

// checkLabels asserts that every flow of a capture is labelled by its
// payload as the kind it was generated as (scans: no payload label), that
// the evidence is what the kind writes, and that the counts agree with
// the summary. It returns the flows by kind.
func checkLabels(t *testing.T, cfg Config, data []byte, sum Summary) map[string][]*flow.Flow {
	t.Helper()
	n, _ := cfg.normalize()
	fs, st := flows(t, data)
	if int(st.Flows) != sum.Flows || int(st.Packets) != sum.Packets {
		t.Errorf("share/flow found %d flows and %d packets, the summary says %d and %d", st.Flows, st.Packets, sum.Flows, sum.Packets)
	}
	byKind := map[string][]*flow.Flow{}
	underDomain := func(s string) bool { return strings.HasSuffix(s, "."+n.Domain) }
	for _, f := range fs {
		k := kindOf(f)
		byKind[k] = append(byKind[k], f)
		ev := f.Label.Evidence
		if k == KindScan {
			if f.Label.Source == label.SourcePayload {
				t.Errorf("scan flow %v has a payload label %v", f.Key, f.Label)
			}
			continue
		}
		if f.Label.Protocol != wantProtocol[k] || f.Label.Source != label.SourcePayload || ev == nil {
			t.Errorf("%s flow %v labelled %v from %v", k, f.Key, f.Label, f.Label.Source)
			continue
		}
		ok := true
		switch k {
		case KindDNS:
			ok = underDomain(ev.DNSQuery) && (ev.DNSRcode == "NOERROR" || ev.DNSRcode == "NXDOMAIN")
			if a, err := netip.ParseAddr(ev.DNSAnswer); ev.DNSAnswer != "" && !underDomain(ev.DNSAnswer) &&
				(err != nil || !n.Servers.Contains(a) && !n.Servers6.Contains(a)) {
				ok = false
			}
		case KindHTTP:
			ok = underDomain(strings.TrimSuffix(ev.HTTPHost, ":8080")) && ev.HTTPMethod == "GET" &&
				ev.HTTPStatus == "200" && ev.UserAgent != "" && ev.Version == "HTTP/1.1"
		case KindTLS:
			ok = underDomain(ev.TLSSNI) && ev.TLSALPN != "" && (ev.TLSVersion == "TLSv1.3" || ev.TLSVersion == "TLSv1.2")
		case KindQUIC:
			ok = ev.QUICVersion == "v1" && underDomain(ev.TLSSNI) && ev.TLSALPN == "h3" && f.Seq[0].PayloadLen >= 1200
		case KindSSH:
			ok = strings.HasPrefix(ev.SSHBanner, "SSH-2.0-") && strings.HasPrefix(ev.Banner, "SSH-2.0-")
		case KindNTP:
			ok = ev.Version == "4" && ev.Detail == "client"
		}
		if !ok {
			t.Errorf("%s flow %v: evidence %+v", k, f.Key, *ev)
		}
	}
	if _, ok := byKind["?"]; ok {
		t.Errorf("%d flows of no kind", len(byKind["?"]))
	}
	for k, n := range sum.ByKind {
		if len(byKind[k]) != n {
			t.Errorf("%d %s flows in the capture, %d in the summary", len(byKind[k]), k, n)
		}
	}
	return byKind
}

func TestKindsLabelled(t *testing.T) {
	cfgs := []Config{
		{Seed: 1, Packets: 12000},
		{Seed: 2, Packets: 8000, Clients: netip.MustParsePrefix("10.1.0.0/16"), Domain: "lab.example.com", Hosts: 200},
		{Seed: 3, Packets: 8000, Clients: netip.MustParsePrefix("192.0.2.128/25"), Mix: map[string]float64{"quic": 1, "tls": 1, "http": 1}},
	}
	for _, cfg := range cfgs {
		data, sum := synth(t, cfg)
		byKind := checkLabels(t, cfg, data, sum)
		want := 0
		for k, w := range mixOf(cfg) {
			if w > 0 {
				want++
				if len(byKind[k]) == 0 {
					t.Errorf("%+v: no %s flows", cfg, k)
				}
			}
		}
		if len(sum.ByKind) != want {
			t.Errorf("%+v: kinds %v", cfg, sum.ByKind)
		}
	}
}

func mixOf(cfg Config) map[string]float64 {
	if cfg.Mix == nil {
		return DefaultMix()
	}
	return cfg.Mix
}

// TestEachKind synthesizes each kind alone and checks what is special to
// it beyond its label.
func TestEachKind(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k, func(t *testing.T) {
			cfg := Config{Seed: 21, Packets: 3000, Mix: map[string]float64{k: 1}}
			data, sum := synth(t, cfg)
			fs := checkLabels(t, cfg, data, sum)[k]
			if len(fs) == 0 || len(sum.ByKind) != 1 {
				t.Fatalf("%d %s flows, kinds %v", len(fs), k, sum.ByKind)
			}
			v6 := 0
			for _, f := range fs {
				if f.Key.IPv6 {
					v6++
				}
			}
			switch k {
			case KindDNS:
				seen := map[string]bool{}
				for _, f := range fs {
					ev := f.Label.Evidence
					seen[ev.DNSRcode] = true
					if a, err := netip.ParseAddr(ev.DNSAnswer); err == nil {
						seen[map[bool]string{true: "A", false: "AAAA"}[a.Is4()]] = true
					}
					if ev.DNSAnswer != "" && !strings.Contains(ev.DNSAnswer, ":") && !strings.Contains(ev.DNSAnswer, ".") {
						t.Errorf("DNS answer %q", ev.DNSAnswer)
					}
				}
				for _, w := range []string{"NOERROR", "NXDOMAIN", "A", "AAAA"} {
					if !seen[w] {
						t.Errorf("no DNS flow with %s", w)
					}
				}
			case KindHTTP:
				multi := 0
				for _, f := range fs {
					segs := 0
					for _, s := range f.Seq {
						if s.FromResp && s.PayloadLen > 0 {
							segs++
						}
					}
					if segs >= 4 {
						multi++
					}
					if f.ConnState() != "SF" {
						t.Errorf("HTTP flow %v ends in state %s (%s)", f.Key, f.ConnState(), f.History())
					}
				}
				if multi < len(fs)/3 {
					t.Errorf("%d of %d HTTP responses span four segments or more", multi, len(fs))
				}
			case KindTLS:
				versions := map[string]int{}
				for _, f := range fs {
					versions[f.Label.Evidence.TLSVersion]++
					if f.ConnState() != "SF" {
						t.Errorf("TLS flow %v ends in state %s (%s)", f.Key, f.ConnState(), f.History())
					}
				}
				if versions["TLSv1.3"] == 0 || versions["TLSv1.2"] == 0 {
					t.Errorf("TLS versions %v", versions)
				}
			case KindScan:
				scanners, ports := map[netip.Addr]bool{}, map[uint16]bool{}
				answers := map[string]int{}
				for _, f := range fs {
					scanners[f.Key.SrcAddr()] = true
					ports[f.Key.DstPort] = true
					if f.Orig.Flags.SYN() == 0 {
						t.Errorf("scan flow %v without SYN", f.Key)
					}
					switch {
					case f.Resp.Flags.SYN() > 0:
						answers["open"]++
					case f.Resp.Flags.RST() > 0:
						answers["closed"]++
					default:
						answers["filtered"]++
					}
				}
				if len(scanners) > 2 || len(ports) < 50 || answers["open"] == 0 || answers["closed"] == 0 || answers["filtered"] == 0 {
					t.Errorf("scanners %v, %d ports, answers %v", scanners, len(ports), answers)
				}
			}
			if k != KindScan && (v6 == 0 || v6 == len(fs)) {
				t.Errorf("%d of %d %s flows over IPv6", v6, len(fs), k)
			}
		})
	}
}
