package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/internal/testutil"
)

// TestMain lets a test run the flowfed command itself in a child process (the
// test binary re-executed with FLOWFED_TEST_MAIN=1), so that it can be killed.
func TestMain(m *testing.M) {
	if os.Getenv("FLOWFED_TEST_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], newOSEnv()))
	}
	os.Exit(m.Run())
}

// TestIngestKilledHalfway kills an ingest with SIGKILL once it has written flows,
// then checks that the store opens cleanly and that running the same ingest again
// completes it with exactly the flows of an uninterrupted ingest.
func TestIngestKilledHalfway(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large capture")
	}
	capPath := filepath.Join(t.TempDir(), "big.pcap")
	testutil.WriteSynthCapture(t, capPath, 30000)

	c := newCLI(t)
	c.must("", "init")
	storePath := filepath.Join(c.dir, "store.db")

	cmd := exec.Command(os.Args[0], "ingest", "--dir", c.dir, capPath)
	cmd.Env = append(os.Environ(), "FLOWFED_TEST_MAIN=1", "FLOWFED_PASSPHRASE="+c.env["FLOWFED_PASSPHRASE"])
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Kill once a few batches of flows are in the file.
	killed := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if fi, err := os.Stat(storePath); err == nil && fi.Size() > 8<<20 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
		select {
		case err := <-done:
			t.Fatalf("ingest ended (%v) before it could be killed", err)
		default:
		}
	}
	if !killed {
		t.Fatal("the store never grew")
	}
	<-done

	st, err := store.Open(storePath, store.Options{})
	if err != nil {
		t.Fatalf("store after SIGKILL: %v", err)
	}
	partial, _ := st.FlowCount()
	ins, _ := st.Ingests()
	st.Close()
	if len(ins) != 1 || ins[0].Complete {
		t.Fatalf("after SIGKILL (%d flows stored) the ingest record is %+v; want one incomplete ingest", partial, ins)
	}
	out := c.must("", "ingest", capPath)
	m := regexp.MustCompile(`(\d+) flows stored`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("re-run after the kill: %s", out)
	}
	want, _ := strconv.Atoi(m[1])
	st, err = store.Open(storePath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, _ := st.FlowCount(); n != want || partial >= want {
		t.Fatalf("%d flows after the re-run (had %d after the kill), want %d and no duplicates", n, partial, want)
	}
	t.Logf("killed with %d of %d flows stored; the re-run completed the ingest", partial, want)
}
