package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/flowfed/flowfed/testnet/synth"
)

func indicators(t *testing.T, org string, n int, tlp usage.TLP) []intel.Indicator {
	t.Helper()
	var out []intel.Indicator
	for i := range n {
		ind, err := node.NewIndicator("ipv4", fmt.Sprintf("203.0.113.%d", i%250+1), org, time.Date(2026, 1, 5, 0, 0, 0, i, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if i >= 250 {
			ind, err = node.NewIndicator("domain", fmt.Sprintf("host%d.example.net", i), org, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
		}
		ind.Policy = usage.Policy{TLP: tlp}
		out = append(out, ind)
	}
	return out
}

func countFrom(t *testing.T, n *Node, publisher *Node) int {
	t.Helper()
	c := 0
	err := n.Store().Artifacts(func(a store.Artifact) error {
		if a.Publisher == string(publisher.ID()) {
			c++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitCount(t *testing.T, n, publisher *Node, want int) {
	t.Helper()
	err := WaitFor(context.Background(), 60*time.Second, fmt.Sprintf("%s to hold %d artifacts of %s", n.Org, want, publisher.Org), func() (bool, error) {
		return countFrom(t, n, publisher) >= want, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := countFrom(t, n, publisher); got != want {
		t.Fatalf("%s holds %d artifacts of %s, want exactly %d", n.Org, got, publisher.Org, want)
	}
}

func TestScenarioThreeOrganisations(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out bytes.Buffer
	rep, err := Scenario{Nodes: 3, Packets: 3000, Dir: t.TempDir()}.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	if !rep.OK() {
		t.Fatalf("scenario failed: %v", rep.Problems)
	}
	for _, o := range rep.Orgs {
		if o.Records == 0 || o.Received == 0 || o.Datasets != 2 || o.Withheld != 1 {
			t.Errorf("%s: %+v", o.Org, o)
		}
	}
}

func TestRedNeverLeavesAndOfflineNodeCatchesUp(t *testing.T) {
	net := New(t, 3)
	a, c := net.Nodes[0], net.Nodes[2]
	if err := net.Stop(2); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.PublishIndicators(ctx, indicators(t, a.Org, 20, usage.Amber)); err != nil {
		t.Fatal(err)
	}
	red, err := node.NewIndicator("domain", "secret.example.org", a.Org, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	red.Policy = usage.Policy{TLP: usage.Red}
	if _, err := a.PublishIndicators(ctx, []intel.Indicator{red}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, net.Nodes[1], a, 20)
	if err := net.Restart(ctx, 2); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c, a, 20)
	for _, n := range net.Nodes[1:] {
		if _, err := n.Store().Indicator(node.IndicatorArtifact(red.ID, a.ID())); err == nil {
			t.Fatalf("%s holds the TLP:RED indicator", n.Org)
		}
	}
}

func TestRestartDuringSyncLosesAndDuplicatesNothing(t *testing.T) {
	net := New(t, 2, func(o *Options) {
		o.Configure = func(i int, cfg *node.Config) { cfg.SyncInterval = node.Duration(200 * time.Millisecond) }
	})
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	const total = 600
	if _, err := a.PublishIndicators(ctx, indicators(t, a.Org, total, usage.Green)); err != nil {
		t.Fatal(err)
	}
	// Stop B as soon as part of the batch arrived, then bring it back.
	_ = WaitFor(ctx, 30*time.Second, "a first part", func() (bool, error) { return countFrom(t, b, a) > 0, nil })
	if err := net.Stop(1); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitCount(t, b, a, total)
	var inds int
	if err := b.Store().ForEachIndicator(func(string, []byte) error { inds++; return nil }); err != nil {
		t.Fatal(err)
	}
	if inds != total {
		t.Fatalf("B stores %d indicators, want %d", inds, total)
	}
}

func TestAdminAPIAndMetrics(t *testing.T) {
	net := New(t, 2)
	a := net.Nodes[0]
	ctx := context.Background()
	if _, err := a.PublishIndicators(ctx, indicators(t, a.Org, 5, usage.Clear)); err != nil {
		t.Fatal(err)
	}
	waitCount(t, net.Nodes[1], a, 5)
	var c *node.Client
	err := WaitFor(ctx, 10*time.Second, "admin API", func() (bool, error) {
		var err error
		c, err = node.Dial(a.Dir)
		return err == nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Head != 5 || len(st.Peers) != 1 || st.Peers[0].Org != "ORG-B" {
		t.Fatalf("status = %+v, %v", st, err)
	}
	// The sent counter moves when the receiver's signed receipt arrives.
	var mt string
	err = WaitFor(ctx, 10*time.Second, "receipts", func() (bool, error) {
		mt, err = c.Metrics(ctx)
		return err == nil && strings.Contains(mt, "flowfed_artifacts_sent_total 5"), err
	})
	if err != nil {
		t.Fatalf("%v:\n%s", err, mt)
	}
	for _, want := range []string{`flowfed_peers{state="connected"} 1`, "flowfed_head_seq 5", `flowfed_artifacts_rejected_total{reason="bad_signature"} 0`, "flowfed_artifacts_withheld_total "} {
		if !strings.Contains(mt, want) {
			t.Errorf("metrics lack %q:\n%s", want, mt)
		}
	}
}

func TestLeakCheckFindsPlantedAddresses(t *testing.T) {
	net := New(t, 1)
	n := net.Nodes[0]
	raw := []netip.Addr{netip.MustParseAddr("10.1.0.7"), netip.MustParseAddr("2001:db8:100::7"), netip.MustParseAddr("10.1.0.8")}
	if leaks, err := findLeaks(n, raw); err != nil || len(leaks) != 0 {
		t.Fatalf("clean directory: leaks %v, %v", leaks, err)
	}
	// A text form, and a longer number that merely contains one.
	if err := os.WriteFile(filepath.Join(n.Dir, "notes.txt"), []byte("seen 10.1.0.7, 10.1.0.80 and 2001:db8:100::7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	leaks, err := findLeaks(n, raw)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(leaks) != "[10.1.0.7 2001:db8:100::7]" {
		t.Fatalf("leaks = %v", leaks)
	}
	// An indicator holding a raw address is found by decoding the store.
	ind, err := node.NewIndicator("ipv4", "10.1.0.8", n.Org, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store().PutIndicators(map[string][]byte{ind.ID: ind.Encode()}); err != nil {
		t.Fatal(err)
	}
	leaks, err = findLeaks(n, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaks) != 3 {
		t.Fatalf("leaks = %v, want the indicator's address too", leaks)
	}
}

func TestAddressFreeDPAggregatesTravelAsPublished(t *testing.T) {
	net := New(t, 2)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	capPath := filepath.Join(t.TempDir(), "a.pcap")
	if _, err := synth.WriteFile(capPath, synth.Config{Seed: 3, Packets: 3000}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ingest(ctx, []string{capPath}); err != nil {
		t.Fatal(err)
	}
	m, err := a.BuildDataset(dataset.Spec{Kind: dataset.KindAggregates, GroupBy: []string{"protocol"}, K: 3,
		DP: &dataset.DP{Mechanism: "laplace", Epsilon: 0.5}, Usage: usage.Policy{TLP: usage.Green}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.PublishDataset(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	err = WaitFor(ctx, 30*time.Second, "the DP dataset at B", func() (bool, error) {
		ds, err := node.Datasets(b.Store())
		return err == nil && len(ds) == 1 && ds[0].Complete() && ds[0].Manifest.ID == m.ID, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRetentionShredsOldEpochKeys(t *testing.T) {
	clock := &fakeClock{}
	net := New(t, 1, func(o *Options) {
		o.Now = clock.now
		o.Configure = func(_ int, cfg *node.Config) { cfg.KeyRetention = node.Duration(24 * time.Hour) }
	})
	n := net.Nodes[0]
	ek, err := n.Vault.EpochFor(clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Reap(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Vault.Key(ek.ID()); err != nil {
		t.Fatalf("a current epoch key was shredded: %v", err)
	}
	clock.advance(ek.End().Sub(clock.now()) + 25*time.Hour)
	if _, err := n.Reap(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Vault.Key(ek.ID()); err == nil {
		t.Fatal("an epoch key past its retention is still usable")
	}
	log, _ := node.AuditLog(n.Store())
	if last := log[len(log)-1]; last.Kind != "key" || !strings.Contains(last.Reason, ek.ID().String()) {
		t.Fatalf("last audit entry %+v", last)
	}
}

// lockedBuffer is a log sink safe for the nodes' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOneSidedMembershipIsLogged: B lists A, A does not list B. A says
// once that it refused B, naming what to add; B says once that A is
// unreachable and what to check.
func TestOneSidedMembershipIsLogged(t *testing.T) {
	var logs lockedBuffer
	net := New(t, 2, func(o *Options) {
		o.Isolated = true
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	a, b := net.Nodes[0], net.Nodes[1]
	if err := b.AddPeer(store.Peer{ID: string(a.ID()), Org: a.Org, Addrs: a.listenAddrs()}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b.Sync(context.Background())
	}
	out := logs.String()
	refused := "refused a connection from a peer that is not a member"
	if strings.Count(out, refused) != 1 || !strings.Contains(out, "peers add --org ORG ADDR/p2p/"+b.ID().String()) {
		t.Errorf("A's log of the refusal (want it once, naming B):\n%s", out)
	}
	if strings.Count(out, "member unreachable") != 1 {
		t.Errorf("B's log of the unreachable member (want it once):\n%s", out)
	}
}

// TestRelistedOrgIsCheckedAtOnce: listing a connected member under another
// organisation closes its connection; handshakes both ways fail from then
// on and the log names the mismatch.
func TestRelistedOrgIsCheckedAtOnce(t *testing.T) {
	var logs lockedBuffer
	net := New(t, 2, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	a, b := net.Nodes[0], net.Nodes[1]
	if err := a.AddPeer(store.Peer{ID: string(b.ID()), Org: "ORG-Z", Addrs: b.listenAddrs()}); err != nil {
		t.Fatal(err)
	}
	err := WaitFor(context.Background(), 30*time.Second, "A to log the mismatch", func() (bool, error) {
		return strings.Contains(logs.String(), "names another organisation than it is listed with"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(context.Background(), b.ID()); !errors.Is(err, protocol.ErrNotMember) {
		t.Fatalf("A connects to B listed under another organisation: %v", err)
	}
	// B's handshakes with A are refused too.
	if err := b.Connect(context.Background(), a.ID()); err == nil {
		t.Fatal("A admits B's handshake, which contradicts B's listing there")
	}
}
