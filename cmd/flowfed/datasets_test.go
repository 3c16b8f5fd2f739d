package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/testnet/synth"
)

func TestDatasetsModelPolicyAudit(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	dir := t.TempDir()
	for i, seed := range []uint64{1, 2, 3, 4} {
		p := filepath.Join(dir, "cap"+string(rune('a'+i))+".pcap")
		if _, err := synth.WriteFile(p, synth.Config{Seed: seed, Packets: 2500}); err != nil {
			t.Fatal(err)
		}
		c.must("", "ingest", p)
	}
	// k larger than the population: nothing released, nothing written.
	code, _, errs := c.run("", "datasets", "build", "--k", "500")
	if code != 1 || !strings.Contains(errs, "nothing released") {
		t.Fatalf("k=500: exit %d, %s", code, errs)
	}
	if out := c.must("", "datasets", "list"); !strings.Contains(out, "no datasets") {
		t.Fatalf("a refused build left a dataset: %s", out)
	}
	out := c.must("", "datasets", "build", "--k", "3")
	id := regexp.MustCompile(`ds-[0-9a-f]{64}`).FindString(out)
	if id == "" {
		t.Fatalf("build: %s", out)
	}
	// The same flows and parameters give the same id.
	if out := c.must("", "datasets", "build", "--k", "3"); !strings.Contains(out, "nothing new") || !strings.Contains(out, id) {
		t.Fatalf("rebuild: %s", out)
	}
	if out := c.must("", "datasets", "list"); !strings.Contains(out, id) {
		t.Fatalf("list: %s", out)
	}
	for _, f := range []string{"csv", "jsonl", "npz"} {
		p := filepath.Join(dir, "out."+f)
		c.must("", "datasets", "export", id, "--format", f, p)
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Fatalf("export %s: %v", f, err)
		}
	}
	code, _, errs = c.run("", "datasets", "export", "ds-0000", "--format", "csv", filepath.Join(dir, "x.csv"))
	if code == 0 || !strings.Contains(errs, "no dataset ds-0000") {
		t.Fatalf("unknown id: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); err == nil {
		t.Fatal("a failed export left a file")
	}
	// Aggregates with DP: the second release in the month exceeds the budget.
	c.must("", "datasets", "build", "--kind", "aggregates", "--group-by", "protocol", "--k", "3", "--dp", "laplace", "--epsilon", "0.6")
	code, _, errs = c.run("", "datasets", "build", "--kind", "aggregates", "--group-by", "protocol", "--k", "3", "--dp", "laplace", "--epsilon", "0.6")
	if code != 1 || !strings.Contains(errs, "budget") || !strings.Contains(errs, "nothing released") {
		t.Fatalf("budget: exit %d %s", code, errs)
	}

	modelPath := filepath.Join(dir, "m.model")
	out = c.must("", "model", "train", "--dataset", id, "--epochs", "5", "--arch", "logreg", "--test-fraction", "0.5", "--out", modelPath)
	if !strings.Contains(out, "macro-F1") || !strings.Contains(out, "majority") {
		t.Fatalf("model train: %s", out)
	}
	// Scoring on the training data says that it overstates the model.
	if out := c.must("", "model", "eval", "--model", modelPath, "--dataset", id); !strings.Contains(out, "were used to train this model") {
		t.Fatalf("model eval on the training dataset: %s", out)
	}

	out = c.must("", "policy", "check", "../../policy/testdata/example.yaml")
	if !strings.Contains(out, "peers (") {
		t.Fatalf("policy check: %s", out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\negress:\n  - name: x\n    effect: perhaps\n"), 0o600)
	code, _, errs = c.run("", "policy", "check", bad)
	if code != 1 || !strings.Contains(errs, "bad.yaml:4:") {
		t.Fatalf("bad policy: exit %d %s", code, errs)
	}
	c.must("", "policy", "apply", "../../policy/testdata/example.yaml")
	out = c.must("", "audit", "verify")
	if !strings.Contains(out, "audit chain intact") {
		t.Fatalf("audit verify: %s", out)
	}
}
