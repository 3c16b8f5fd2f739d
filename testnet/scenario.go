package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/flowfed/flowfed/testnet/synth"
)

// Scenario is the main job of a federation on one machine: every organisation
// ingests its own traffic, builds a labeled dataset, creates indicators and
// publishes; the others receive, verify and store; then no organisation's raw
// addresses may be found in another's data directory.
type Scenario struct {
	// Nodes is the number of organisations (default 3).
	Nodes int
	// PcapDir, when set, holds real captures (*.pcap, *.pcapng), split
	// round-robin across the organisations; otherwise each synthesizes its
	// own traffic.
	PcapDir string
	// Packets is the size of each organisation's synthetic capture (default 6000).
	Packets int
	// K is the k-threshold of the datasets (default 10 for synthetic traffic,
	// 2 for real captures, which hold few hosts).
	K int
	// Dir keeps the data directories; empty means a temporary directory.
	Dir string
	// Logger receives the nodes' logs.
	Logger *slog.Logger
	// Timeout bounds the wait for delivery (default 2 minutes).
	Timeout time.Duration
}

// OrgReport is what one organisation did and got.
type OrgReport struct {
	Org        string
	Peer       string
	Captures   int
	Flows      int
	Dataset    string
	Records    int
	Suppressed int
	Indicators int // published (shared)
	Withheld   int // TLP:RED indicators kept at home
	Sent       uint64
	Received   int // artifacts from the other organisations, stored
	Rejected   uint64
	Datasets   int // complete datasets received
	Leaks      []string
}

// Report is the scenario's outcome.
type Report struct {
	Orgs     []OrgReport
	Problems []string
	Dir      string
}

// OK reports whether every check passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// orgTraffic is one organisation's input: its captures and the raw addresses
// that are its own (which must never reach another organisation).
type orgTraffic struct {
	files []string
	own   []netip.Addr
	seen  []netip.Addr // every address in its traffic
	names []string
}

// Run runs the scenario and writes the summary table to out.
func (s Scenario) Run(ctx context.Context, out io.Writer) (*Report, error) {
	if s.Nodes == 0 {
		s.Nodes = 3
	}
	if s.Nodes < 2 {
		return nil, fmt.Errorf("a federation needs at least 2 organisations, not %d", s.Nodes)
	}
	if s.Packets == 0 {
		s.Packets = 6000
	}
	if s.K == 0 {
		s.K = 10
		if s.PcapDir != "" {
			s.K = 2
		}
	}
	if s.Timeout == 0 {
		s.Timeout = 2 * time.Minute
	}
	net, err := Start(ctx, Options{Nodes: s.Nodes, Dir: s.Dir, Logger: s.Logger})
	if err != nil {
		return nil, err
	}
	defer net.Close()
	rep := &Report{Dir: net.Dir()}
	traffic, err := s.traffic(net)
	if err != nil {
		return nil, err
	}
	where := "data in " + net.Dir()
	if s.Dir == "" {
		where += ", removed at the end; --keep DIR keeps it"
	}
	fmt.Fprintf(out, "federation of %d organisations on 127.0.0.1 (%s)\n", len(net.Nodes), where)
	// 1. Each organisation ingests, builds and publishes.
	wantArtifacts := 0
	for i, n := range net.Nodes {
		or := OrgReport{Org: n.Org, Peer: n.ID().String(), Captures: len(traffic[i].files)}
		res, err := n.Ingest(ctx, traffic[i].files)
		if err != nil {
			return nil, fmt.Errorf("%s: ingest: %w", n.Org, err)
		}
		for _, r := range res {
			if r.Err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %s: %v", n.Org, filepath.Base(r.File), r.Err))
			}
			or.Flows += int(r.Flows)
		}
		m, err := n.BuildDataset(dataset.Spec{Kind: dataset.KindFlows, K: s.K, Usage: usage.Policy{TLP: usage.Amber, Purposes: []string{"research"}}})
		if err != nil {
			hint := ""
			if errors.Is(err, dataset.ErrBelowK) {
				hint = " (more traffic, --packets or --pcap, or a lower --k lets the dataset pass)"
			}
			return nil, fmt.Errorf("%s: building the dataset released nothing: %w%s", n.Org, err, hint)
		}
		or.Dataset, or.Records, or.Suppressed = m.ID, m.Records, m.Suppressed
		if _, err := n.PublishDataset(ctx, m.ID); err != nil {
			return nil, fmt.Errorf("%s: publishing dataset: %w", n.Org, err)
		}
		shared, withheld := indicatorsFor(n.Org, i, traffic[i])
		if _, err := n.PublishIndicators(ctx, append(shared, withheld...)); err != nil {
			return nil, fmt.Errorf("%s: publishing indicators: %w", n.Org, err)
		}
		or.Indicators, or.Withheld = len(shared), len(withheld)
		wantArtifacts += 1 + len(shared)
		rep.Orgs = append(rep.Orgs, or)
	}
	// 2. Wait until every organisation holds every other's shared artifacts
	// and the datasets' chunks.
	err = WaitFor(ctx, s.Timeout, "delivery to every organisation", func() (bool, error) {
		for i, n := range net.Nodes {
			want := wantArtifacts - (1 + rep.Orgs[i].Indicators)
			got, complete, err := received(n)
			if err != nil {
				return false, err
			}
			if got < want || complete < len(net.Nodes)-1 {
				return false, nil
			}
			// Every delivery acknowledged by a signed receipt.
			if st, err := n.Status(); err != nil || st.Sent < uint64((len(net.Nodes)-1)*(1+rep.Orgs[i].Indicators)) {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	// 3. Per organisation: what it holds, and the leak check.
	for i, n := range net.Nodes {
		or := &rep.Orgs[i]
		st, _ := n.Status()
		or.Sent, or.Rejected = st.Sent, st.Rejected
		or.Received, or.Datasets, _ = received(n)
		want := wantArtifacts - (1 + or.Indicators)
		if or.Received != want {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s received %d artifacts, want %d", n.Org, or.Received, want))
		}
		if or.Rejected > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s rejected %d artifacts from well-behaved members", n.Org, or.Rejected))
		}
		if red := redIndicatorsHeld(n, i); red > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s holds %d TLP:RED indicators of other organisations", n.Org, red))
		}
	}
	for i := range net.Nodes {
		for j, other := range net.Nodes {
			if i == j {
				continue
			}
			leaks, err := findLeaks(other, traffic[i].own)
			if err != nil {
				return nil, err
			}
			for _, l := range leaks {
				rep.Orgs[j].Leaks = append(rep.Orgs[j].Leaks, fmt.Sprintf("%s of %s", l, net.Nodes[i].Org))
				rep.Problems = append(rep.Problems, fmt.Sprintf("raw address %s of %s found in %s's data directory", l, net.Nodes[i].Org, other.Org))
			}
		}
	}
	rep.write(out)
	return rep, nil
}

// traffic gives each organisation its captures: real ones split round-robin,
// or a synthetic capture from its own address range.
func (s Scenario) traffic(net *Net) ([]orgTraffic, error) {
	out := make([]orgTraffic, len(net.Nodes))
	if s.PcapDir != "" {
		var files []string
		err := filepath.WalkDir(s.PcapDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading --pcap %s: %w", s.PcapDir, err)
		}
		if len(files) < len(net.Nodes) {
			return nil, fmt.Errorf("--pcap %s holds %d captures; %d organisations need at least one each", s.PcapDir, len(files), len(net.Nodes))
		}
		sort.Strings(files)
		for k, f := range files {
			i := k % len(net.Nodes)
			out[i].files = append(out[i].files, f)
		}
		for i := range out {
			addrs, err := captureAddrs(out[i].files)
			// Loopback, multicast, broadcast and unspecified addresses name
			// no organisation's host.
			addrs = slices.DeleteFunc(addrs, func(a netip.Addr) bool {
				return a.IsLoopback() || a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
			})
			if err != nil {
				return nil, err
			}
			out[i].own, out[i].seen = addrs, addrs
		}
		// An address seen by several organisations is not one organisation's
		// own: only addresses unique to one are checked for leaks.
		count := map[netip.Addr]int{}
		for _, t := range out {
			for _, a := range t.seen {
				count[a]++
			}
		}
		for i := range out {
			out[i].own = slices.DeleteFunc(slices.Clone(out[i].own), func(a netip.Addr) bool { return count[a] > 1 })
		}
		return out, nil
	}
	for i, n := range net.Nodes {
		clients := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i + 1), 0, 0}), 16)
		clients6 := netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/48", 0x100+i))
		path := filepath.Join(n.Dir, "traffic.pcap")
		sum, err := synth.WriteFile(path, synth.Config{Seed: uint64(i + 1), Hosts: 24, Packets: s.Packets, Clients: clients, Clients6: clients6})
		if err != nil {
			return nil, fmt.Errorf("%s: synthesizing traffic: %w", n.Org, err)
		}
		out[i].files = []string{path}
		out[i].seen = sum.Addrs
		out[i].names = sum.Names
		for _, a := range sum.Addrs {
			if clients.Contains(a) || clients6.Contains(a) {
				out[i].own = append(out[i].own, a)
			}
		}
	}
	return out, nil
}

// captureAddrs lists the addresses of the flows in captures.
func captureAddrs(files []string) ([]netip.Addr, error) {
	set := map[netip.Addr]bool{}
	for _, f := range files {
		// Unreadable captures are reported by the ingest.
		_, _ = flow.ReadFile(context.Background(), f, flow.Config{}, func(fl *flow.Flow) {
			set[fl.Key.SrcAddr()] = true
			set[fl.Key.DstAddr()] = true
		})
	}
	out := make([]netip.Addr, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out, nil
}

// indicatorsFor makes an organisation's indicators: external addresses and
// names seen in its traffic, shared as TLP:AMBER, and one TLP:RED indicator
// that must never leave the node.
func indicatorsFor(org string, i int, t orgTraffic) (shared, withheld []intel.Indicator) {
	// Created now, so that they are live (not decayed) when the kept data
	// directories are looked into afterwards.
	now := time.Now().UTC()
	mk := func(typ, value string, tlp usage.TLP) intel.Indicator {
		ind, err := node.NewIndicator(typ, value, org, now)
		if err != nil {
			return intel.Indicator{}
		}
		ind.Confidence = 70
		ind.Labels = []string{"testnet", "scanning"}
		ind.Policy = usage.Policy{TLP: tlp, Purposes: []string{"detection", "research"}}
		return ind
	}
	var ext []netip.Addr
	own := map[netip.Addr]bool{}
	for _, a := range t.own {
		own[a] = true
	}
	for _, a := range t.seen {
		if !own[a] {
			ext = append(ext, a)
		}
	}
	for k, a := range ext {
		if k >= 2 {
			break
		}
		typ := "ipv4"
		if a.Is6() {
			typ = "ipv6"
		}
		if ind := mk(typ, a.String(), usage.Amber); ind.ID != "" {
			shared = append(shared, ind)
		}
	}
	domain := fmt.Sprintf("c2-%d.example.net", i+1)
	if len(t.names) > 0 {
		domain = t.names[0]
	}
	if ind := mk("domain", domain, usage.Green); ind.ID != "" {
		shared = append(shared, ind)
	}
	if ind := mk("domain", fmt.Sprintf("internal-%d.example.org", i+1), usage.Red); ind.ID != "" {
		withheld = append(withheld, ind)
	}
	return shared, withheld
}

// received counts the artifacts a node holds from other publishers and the
// received datasets that are complete.
func received(n *Node) (artifacts, complete int, err error) {
	err = n.Store().Artifacts(func(a store.Artifact) error {
		if !a.Local {
			artifacts++
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	ds, err := node.Datasets(n.Store())
	if err != nil {
		return 0, 0, err
	}
	for _, d := range ds {
		if d.Publisher != "" && d.Complete() {
			complete++
		}
	}
	return artifacts, complete, nil
}

// redIndicatorsHeld counts TLP:RED indicators of other organisations in a
// node's store.
func redIndicatorsHeld(n *Node, _ int) int {
	red := 0
	_ = n.Store().ForEachIndicator(func(_ string, v []byte) error {
		ind, err := intel.DecodeIndicator(v)
		if err == nil && ind.Policy.TLP == usage.Red && ind.Origin != n.Org {
			red++
		}
		return nil
	})
	return red
}

// findLeaks looks for raw addresses in another node's data directory: in the
// text of every file, and in every address of the records it decodes (flows,
// dataset records, indicators).
func findLeaks(n *Node, raw []netip.Addr) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	want := map[netip.Addr]bool{}
	for _, a := range raw {
		want[a] = true
	}
	found := map[string]bool{}
	// Text forms in the files (configs, logs, JSON); binary IPv6 forms too
	// (16 bytes cannot match by chance).
	err := filepath.WalkDir(n.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".pcap") {
			return err
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a temporary file renamed meanwhile; its content is read under its new name
		}
		if err != nil {
			return err
		}
		for _, a := range raw {
			if a.Is4() && textBoundary(b, a.String()) {
				found[a.String()] = true
			}
			if a.Is6() {
				s := a.As16()
				if bytes.Contains(b, s[:]) || textBoundary(b, a.String()) {
					found[a.String()] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	check := func(a netip.Addr) {
		if want[a.Unmap()] {
			found[a.String()] = true
		}
	}
	ds, err := node.Datasets(n.Store())
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if !d.Complete() {
			continue
		}
		m, content, err := node.LoadDataset(n.Store(), d.Manifest.ID)
		if err != nil {
			return nil, err
		}
		if m.Kind != dataset.KindFlows {
			continue
		}
		for r, err := range dataset.Records(m, content) {
			if err != nil {
				return nil, err
			}
			check(r.Src)
			check(r.Dst)
		}
	}
	err = n.Store().ForEachIndicator(func(_ string, v []byte) error {
		ind, err := intel.DecodeIndicator(v)
		if err != nil {
			return err
		}
		if a, err := netip.ParseAddr(ind.Value); err == nil {
			check(a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(found))
	for a := range found {
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}

// textBoundary reports whether s occurs in b as a whole address, not inside
// a longer number ("10.1.0.1" inside "10.1.0.12").
func textBoundary(b []byte, s string) bool {
	for i := 0; ; {
		k := bytes.Index(b[i:], []byte(s))
		if k < 0 {
			return false
		}
		k += i
		v6 := strings.Contains(s, ":")
		before := k == 0 || !isAddrByte(b[k-1], v6)
		end := k + len(s)
		after := end >= len(b) || !isAddrByte(b[end], v6)
		if before && after {
			return true
		}
		i = k + 1
	}
}

// isAddrByte reports whether c can continue an address's text form.
func isAddrByte(c byte, v6 bool) bool {
	if c >= '0' && c <= '9' || c == '.' {
		return true
	}
	return v6 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':')
}

func (r *Report) write(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tPEER\tCAPTURES\tFLOWS\tDATASET\tRECORDS\tSHARED IND\tRED KEPT\tSENT\tRECEIVED\tDATASETS IN\tREJECTED\tLEAKS")
	for _, o := range r.Orgs {
		peer := o.Peer
		if len(peer) > 12 {
			peer = "…" + peer[len(peer)-8:]
		}
		ds := o.Dataset
		if len(ds) > 14 {
			ds = ds[:14] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", o.Org, peer, o.Captures, o.Flows, ds, o.Records, o.Indicators, o.Withheld, o.Sent, o.Received, o.Datasets, o.Rejected, len(o.Leaks))
	}
	tw.Flush()
	fmt.Fprintln(out, "SHARED IND: indicators published for the others; RED KEPT: TLP:RED indicators kept home;")
	fmt.Fprintln(out, "SENT: artifacts (shared indicators and the dataset) times the organisations that acknowledged each with a signed receipt; RECEIVED: their artifacts verified and stored;")
	fmt.Fprintln(out, "DATASETS IN: their datasets complete with every chunk, each re-pseudonymized for this organisation alone")
	if r.OK() {
		fmt.Fprintln(out, "OK: every organisation received, verified and stored the others' shared artifacts; TLP:RED stayed home; no raw address of one organisation is in another's data directory")
		return
	}
	fmt.Fprintln(out, "FAILED:")
	for _, p := range r.Problems {
		fmt.Fprintln(out, "  -", p)
	}
}

// ErrScenarioFailed is returned by callers that turn a failed report into an
// exit status.
var ErrScenarioFailed = errors.New("testnet scenario failed")
