package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/flowfed/flowfed/testnet"
)

// startNode runs 'flowfed run' on dir in a child process and returns it once
// its admin API answers.
func startNode(t *testing.T, c *cli) (*exec.Cmd, *node.Client, chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "run", "--dir", c.dir, "--org", "ORG-B")
	cmd.Env = append(os.Environ(), "FLOWFED_TEST_MAIN=1", "FLOWFED_PASSPHRASE="+c.env["FLOWFED_PASSPHRASE"])
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var client *node.Client
	err := testnet.WaitFor(context.Background(), 60*time.Second, "the node's admin API", func() (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("node exited: %v", err)
		default:
		}
		var err error
		client, err = node.Dial(c.dir)
		return err == nil, nil
	})
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	return cmd, client, done
}

// TestSyncKilledHalfway kills a running node with SIGKILL while it pulls a
// large batch from a member, checks that its store opens, every stored
// envelope decodes and its audit chain verifies, then restarts it and checks
// that it ends with every artifact exactly once.
func TestSyncKilledHalfway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node process")
	}
	net := testnet.New(t, 1)
	a := net.Nodes[0]
	const total = 3000
	var inds []intel.Indicator
	for i := range total {
		ind, err := node.NewIndicator("domain", fmt.Sprintf("h%d.example.net", i), a.Org, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		ind.Policy = usage.Policy{TLP: usage.Green}
		inds = append(inds, ind)
	}
	if _, err := a.PublishIndicators(context.Background(), inds); err != nil {
		t.Fatal(err)
	}

	c := newCLI(t)
	c.must("", "init")
	v, err := keyvault.Open(filepath.Join(c.dir, "vault.db"), []byte(c.env["FLOWFED_PASSPHRASE"]))
	if err != nil {
		t.Fatal(err)
	}
	bID, err := v.PeerID()
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddPeer(store.Peer{ID: string(bID), Org: "ORG-B"}); err != nil {
		t.Fatal(err)
	}
	c.must("", "peers", "add", "--org", a.Org, a.Addrs()[0])
	cfg := node.DefaultConfig()
	cfg.Federation = "testnet"
	cfg.SyncInterval = node.Duration(time.Second)
	if err := node.WriteConfig(c.dir, cfg); err != nil {
		t.Fatal(err)
	}

	cmd, client, done := startNode(t, c)
	err = testnet.WaitFor(context.Background(), 60*time.Second, "part of the batch", func() (bool, error) {
		st, err := client.Status(context.Background())
		return err == nil && st.Received > 0, nil
	})
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done

	st, err := store.Open(filepath.Join(c.dir, "store.db"), store.Options{})
	if err != nil {
		t.Fatalf("store after SIGKILL: %v", err)
	}
	partial := 0
	err = st.Artifacts(func(art store.Artifact) error { partial++; return nil })
	if err != nil {
		t.Fatalf("reading artifacts after SIGKILL: %v", err)
	}
	log, err := node.AuditLog(st)
	if err == nil {
		err = policy.VerifyChain(log)
	}
	st.Close()
	if err != nil {
		t.Fatalf("audit chain after SIGKILL: %v", err)
	}
	os.Remove(filepath.Join(c.dir, node.AdminAddrFile)) // left by the killed node

	cmd, client, done = startNode(t, c)
	// Each artifact is stored durably on its own (several fsyncs), which
	// under the race detector on a busy machine takes minutes for 3000.
	err = testnet.WaitFor(context.Background(), 5*time.Minute, "every artifact", func() (bool, error) {
		s, err := client.Status(context.Background())
		return err == nil && s.Artifacts >= total, nil
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(filepath.Join(c.dir, "store.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	_ = st.ForEachIndicator(func(string, []byte) error { n++; return nil })
	if n != total {
		t.Fatalf("%d indicators after the restart (had %d artifacts after the kill), want exactly %d", n, partial, total)
	}
	t.Logf("killed with %d of %d artifacts stored; the restarted node completed the sync", partial, total)
}
