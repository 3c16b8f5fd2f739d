package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/internal/testutil"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/share/pseudo"
)

// cli runs flowfed commands in-process against one data directory.
type cli struct {
	t   testing.TB
	dir string
	env map[string]string
}

func newCLI(t testing.TB) *cli {
	t.Helper()
	return &cli{t: t, dir: filepath.Join(t.TempDir(), "node"), env: map[string]string{"FLOWFED_PASSPHRASE": "s3cret passphrase"}}
}

// run executes one command with --dir appended and returns exit code, stdout, stderr.
func (c *cli) run(stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return c.env[k] },
	}
	if len(args) > 0 && args[0] != "help" {
		args = append(args, "--dir", c.dir)
	}
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// must runs a command that has to succeed and returns its stdout.
func (c *cli) must(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("flowfed %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	return out
}

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

var epochRE = regexp.MustCompile(`ek_[a-z2-7]+`)

// pseudonyms returns the data lines of flowfed pseudo output (no header, no
// comments, no blank lines).
func pseudonyms(out string) []string {
	var p []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			p = append(p, l)
		}
	}
	return p
}

// stripHeader drops the header line of flowfed pseudo output.
func stripHeader(out string) string {
	if strings.HasPrefix(out, pseudoHeader) {
		_, rest, _ := strings.Cut(out, "\n")
		return rest
	}
	return out
}

func TestInitRefusesToOverwrite(t *testing.T) {
	c := newCLI(t)
	out := c.must("", "init")
	if !strings.Contains(out, "peer ID") || !strings.Contains(out, "12D3KooW") {
		t.Fatalf("init output lacks the peer ID:\n%s", out)
	}
	vault := filepath.Join(c.dir, "vault.db")
	before := fileSum(t, vault)
	code, _, errs := c.run("", "init")
	if code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("second init: exit %d, stderr %q; want exit 1 and 'already exists'", code, errs)
	}
	if fileSum(t, vault) != before {
		t.Fatal("second init changed the vault file")
	}
}

func TestPseudoRoundTripEveryMode(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	in := "192.0.2.1\n192.0.2.77\n198.51.100.9\n2001:db8::1\n2001:db8:1::42\n::ffff:203.0.113.5\n"
	want := strings.Fields(in)
	want[5] = "::ffff:203.0.113.5"
	for _, mode := range []string{"cryptopan", "ipcrypt-pfx", "ipcrypt-det", "ipcrypt-nd", "ipcrypt-ndx"} {
		t.Run(mode, func(t *testing.T) {
			out := c.must(in, "pseudo", "--mode", mode)
			got := pseudonyms(out)
			if len(got) != len(want) {
				t.Fatalf("pseudo printed %d lines, want %d:\n%s", len(got), len(want), out)
			}
			for i := range got {
				if got[i] == want[i] {
					t.Errorf("pseudonym of %s is the address itself", want[i])
				}
			}
			back := pseudonyms(c.must(out, "pseudo", "--reverse"))
			want := append([]string(nil), want...)
			if !pseudo.Mode(mode).PrefixPreserving() {
				// ipcrypt works on the 16-byte form, in which an IPv4 address and its
				// IPv4-mapped IPv6 form are the same value.
				want[5] = "203.0.113.5"
			}
			if strings.Join(back, " ") != strings.Join(want, " ") {
				t.Errorf("reverse = %v, want %v", back, want)
			}
		})
	}
}

func TestPseudoPrefixPreservedAndDeterministic(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	a := pseudonyms(c.must("192.0.2.1\n192.0.2.200\n", "pseudo"))
	b := pseudonyms(c.must("192.0.2.200\n", "pseudo"))
	if a[1] != b[0] {
		t.Errorf("same address gave %s then %s", a[1], b[0])
	}
	pa, pb := strings.Split(a[0], "."), strings.Split(a[1], ".")
	if pa[0] != pb[0] || pa[1] != pb[1] || pa[2] != pb[2] {
		t.Errorf("pseudonyms %s and %s of one /24 do not share a /24", a[0], a[1])
	}
}

func TestPseudoInvalidLinesReported(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	code, out, errs := c.run("192.0.2.1\nnot-an-ip\n\n# comment\n300.1.1.1\n2001:db8::1\n", "pseudo")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if n := len(pseudonyms(out)); n != 2 {
		t.Errorf("printed %d pseudonyms, want 2 (the valid lines):\n%s", n, out)
	}
	// One output line per input line, after the header, so outputs can be pasted
	// next to inputs.
	lines := strings.Split(strings.TrimSuffix(stripHeader(out), "\n"), "\n")
	if len(lines) != 6 || lines[1] != "" || lines[2] != "" || lines[3] != "# comment" || lines[4] != "" {
		t.Errorf("output lines do not line up with the input: %q", lines)
	}
	for _, want := range []string{"stdin:2:", "stdin:5:", "2 of 4 lines were invalid"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestPseudoDomainsUnlinkable(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	a := c.must("192.0.2.1\n", "pseudo", "--domain", "peer-a")
	b := c.must("192.0.2.1\n", "pseudo", "--domain", "peer-b")
	plain := c.must("192.0.2.1\n", "pseudo")
	if pa, pb, pp := pseudonyms(a)[0], pseudonyms(b)[0], pseudonyms(plain)[0]; pa == pb || pa == pp {
		t.Fatalf("domains not separated: a=%q b=%q plain=%q", pa, pb, pp)
	}
	if back := c.must(a, "pseudo", "--domain", "peer-a", "--reverse"); strings.TrimSpace(back) != "192.0.2.1" {
		t.Errorf("reverse in domain = %q", back)
	}
	if code, _, errs := c.run(a, "pseudo", "--domain", "peer-b", "--reverse"); code != 1 || !strings.Contains(errs, "contradicts") {
		t.Errorf("reverse with a domain contradicting the header: exit %d, stderr %q", code, errs)
	}
}

func TestWrongPassphraseLeavesVaultUntouched(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	vault := filepath.Join(c.dir, "vault.db")
	before := fileSum(t, vault)
	c.env["FLOWFED_PASSPHRASE"] = "wrong"
	code, _, errs := c.run("192.0.2.1\n", "pseudo")
	if code != 1 || !strings.Contains(errs, "wrong passphrase") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("exit %d stderr %q: want exit 1 and one line saying wrong passphrase", code, errs)
	}
	if fileSum(t, vault) != before {
		t.Fatal("a failed unlock changed the vault")
	}
}

func TestNoPassphraseWithoutTerminal(t *testing.T) {
	c := newCLI(t)
	delete(c.env, "FLOWFED_PASSPHRASE")
	code, _, errs := c.run("", "init")
	if code != 1 || !strings.Contains(errs, "FLOWFED_PASSPHRASE") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
}

func TestPassphraseFile(t *testing.T) {
	c := newCLI(t)
	pf := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pf, []byte("from a file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(c.env, "FLOWFED_PASSPHRASE")
	c.must("", "init", "--passphrase-file", pf)
	c.must("192.0.2.1\n", "pseudo", "--passphrase-file", pf)
	c.env["FLOWFED_PASSPHRASE"] = "from a file"
	c.must("192.0.2.1\n", "pseudo")
}

func TestNotAVault(t *testing.T) {
	c := newCLI(t)
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	vault := filepath.Join(c.dir, "vault.db")
	if err := os.WriteFile(vault, []byte("hello, I am a text file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, vault)
	code, _, errs := c.run("", "keys", "list")
	if code != 1 || !strings.Contains(errs, "not a flowfed vault") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	if fileSum(t, vault) != before {
		t.Fatal("the file was changed")
	}
	code, _, errs = newCLI(t).run("", "keys", "list")
	if code != 1 || !strings.Contains(errs, "flowfed init") {
		t.Fatalf("missing vault: exit %d stderr %q; want a hint to run flowfed init", code, errs)
	}
}

func TestRotateShred(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	p := c.must("192.0.2.1\n", "pseudo")
	old := epochRE.FindString(p)
	c.must("", "keys", "rotate")
	p2 := c.must("192.0.2.1\n", "pseudo")
	cur := epochRE.FindString(p2)
	if cur == old || pseudonyms(p2)[0] == pseudonyms(p)[0] {
		t.Fatalf("after rotate: key %s (was %s), pseudonym %q (was %q)", cur, old, p2, p)
	}
	// Without the header, reversing needs the key named.
	if code, _, errs := c.run(stripHeader(p), "pseudo", "--reverse"); code != 1 || !strings.Contains(errs, "--epoch") {
		t.Fatalf("headerless reverse without --epoch: exit %d stderr %q", code, errs)
	}
	if back := c.must(p, "pseudo", "--reverse", "--epoch", old); strings.TrimSpace(back) != "192.0.2.1" {
		t.Fatalf("old epoch reverse = %q", back)
	}
	// Without a terminal and without --yes nothing is shredded.
	if code, _, _ := c.run("", "keys", "shred", old); code == 0 {
		t.Fatal("shred without --yes and without a terminal succeeded")
	}
	c.must("", "keys", "shred", old, "--yes")
	list := c.must("", "keys", "list", "--json")
	if !strings.Contains(list, `"state":"shredded"`) {
		t.Errorf("list after shred:\n%s", list)
	}
	code, _, errs := c.run(p, "pseudo", "--reverse", "--epoch", old)
	if code != 1 || !strings.Contains(errs, "shredded") {
		t.Fatalf("reverse under a shredded key: exit %d stderr %q", code, errs)
	}
	// The shredded key's bytes are gone from the vault file: the derived Crypto-PAn
	// key cannot be checked directly, but the pseudonym must not be reversible
	// through any remaining key either.
	if back := c.must(stripHeader(p), "pseudo", "--reverse", "--epoch", cur); strings.TrimSpace(back) == "192.0.2.1" {
		t.Fatal("the current key reverses a pseudonym of the shredded epoch")
	}
	// Every key operation is in the audit chain, by key ID only.
	log := c.must("", "audit", "list")
	for _, want := range []string{"created", "epoch key " + cur + " created by rotation", "epoch key " + old + " shredded"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit list lacks %q:\n%s", want, log)
		}
	}
	c.must("", "audit", "verify")
}

func TestBackupRestorePasswd(t *testing.T) {
	c := newCLI(t)
	out := c.must("", "init")
	peer := regexp.MustCompile(`12D3KooW\w+`).FindString(out)
	p := c.must("192.0.2.1\n2001:db8::1\n", "pseudo")
	ek := epochRE.FindString(p)
	bak := filepath.Join(t.TempDir(), "node.ffbak")
	c.env["FLOWFED_BACKUP_PASSPHRASE"] = "backup pass"
	c.must("", "keys", "backup", bak)
	if code, _, _ := c.run("", "keys", "backup", bak); code == 0 {
		t.Fatal("backup overwrote an existing file")
	}

	r := newCLI(t)
	r.env["FLOWFED_BACKUP_PASSPHRASE"] = "wrong"
	r.env["FLOWFED_PASSPHRASE"] = "restored pass"
	if code, _, errs := r.run("", "keys", "restore", bak); code != 1 || !strings.Contains(errs, "wrong passphrase") {
		t.Fatalf("restore with a wrong backup passphrase: exit %d stderr %q", code, errs)
	}
	r.env["FLOWFED_BACKUP_PASSPHRASE"] = "backup pass"
	rout := r.must("", "keys", "restore", bak, "--org", "ORG-R")
	if !strings.Contains(rout, peer) {
		t.Errorf("restored peer ID differs: %s vs %s", rout, peer)
	}
	if cfg, err := node.LoadConfig(r.dir); err != nil || cfg.Org != "ORG-R" {
		t.Errorf("restored config: org %q (%v), want ORG-R", cfg.Org, err)
	}
	if got := r.must("192.0.2.1\n2001:db8::1\n", "pseudo", "--epoch", ek); got != p {
		t.Errorf("restored vault pseudonyms %q, original %q", got, p)
	}

	c.env["FLOWFED_NEW_PASSPHRASE"] = "new pass"
	c.must("", "keys", "passwd")
	if code, _, _ := c.run("", "keys", "list"); code != 1 {
		t.Fatal("old passphrase still opens the vault")
	}
	c.env["FLOWFED_PASSPHRASE"] = "new pass"
	c.must("", "keys", "list")
}

func TestHelpEverywhere(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		{"help"}, {"init", "--help"}, {"pseudo", "--help"}, {"version", "--help"},
		{"keys", "--help"}, {"keys", "list", "--help"}, {"keys", "rotate", "--help"},
		{"keys", "shred", "--help"}, {"keys", "backup", "--help"}, {"keys", "restore", "--help"},
		{"keys", "passwd", "--help"}, {"synth", "--help"}, {"ingest", "--help"}, {"flows", "--help"},
	} {
		code, out, errs := c.run("", args...)
		if code != 0 || !strings.Contains(out, "Example") {
			t.Errorf("flowfed %v: exit %d, stdout %q, stderr %q; want usage with an example", args, code, out, errs)
		}
	}
	if code, _, _ := c.run("", "nope"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, _, _ := c.run("", "pseudo", "--mode", "rot13"); code != 2 {
		t.Errorf("bad mode: exit %d, want 2", code)
	}
}

func TestPseudoKeepsZone(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	out := c.must("fe80::1%eth0\n", "pseudo", "--no-header")
	if p := strings.TrimSpace(out); !strings.HasSuffix(p, "%eth0") || strings.HasPrefix(p, "fe80::1%") {
		t.Fatalf("pseudonym of a zoned address = %q", p)
	}
	if back := c.must(out, "pseudo", "--reverse", "--epoch", epochRE.FindString(c.must("", "keys", "list"))); strings.TrimSpace(back) != "fe80::1%eth0" {
		t.Fatalf("reverse = %q", back)
	}
}

func TestShortNewPassphraseRefused(t *testing.T) {
	c := newCLI(t)
	c.env["FLOWFED_PASSPHRASE"] = "short"
	if code, _, errs := c.run("", "init"); code != 1 || !strings.Contains(errs, "too short") {
		t.Fatalf("init with a 5-character passphrase: exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "vault.db")); err == nil {
		t.Fatal("a vault was created anyway")
	}
}

func TestIngestAndFlows(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	capPath := filepath.Join(t.TempDir(), "synth.pcap")
	raw := testutil.WriteSynthCapture(t, capPath, 5)

	out := c.must("", "ingest", capPath)
	if !strings.Contains(out, "15 flows stored under ek_") {
		t.Fatalf("ingest output:\n%s", out)
	}
	if out := c.must("", "ingest", capPath); !strings.Contains(out, "already ingested") {
		t.Fatalf("second ingest:\n%s", out)
	}

	// flows prints pseudonyms by default and raw addresses only with --raw.
	pseud := c.must("", "flows", capPath)
	rawOut := c.must("", "flows", "--raw", capPath)
	for _, a := range raw {
		if strings.Contains(pseud, a.String()) {
			t.Errorf("pseudonymized flows show raw address %s", a)
		}
	}
	if !strings.Contains(rawOut, "192.0.2.1:40000") || !strings.Contains(rawOut, "www.example.org") {
		t.Errorf("raw flows lack the endpoints or the DNS evidence:\n%s", rawOut)
	}
	for _, format := range []string{"jsonl", "csv", "zeek"} {
		out := c.must("", "flows", "--format", format, capPath)
		if n := strings.Count(out, "\n"); n < 15 {
			t.Errorf("--format %s printed %d lines:\n%s", format, n, out)
		}
	}
	if code, _, errs := c.run("", "flows", "--format", "xml", capPath); code != 2 || !strings.Contains(errs, "--format") {
		t.Errorf("bad format: exit %d %q", code, errs)
	}
	if code, _, errs := c.run("", "ingest", filepath.Join(t.TempDir(), "missing.pcap")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing capture: exit %d %q", code, errs)
	}
	// A file that is no capture is reported; the captures after it are ingested.
	bad := filepath.Join(t.TempDir(), "notes.pcap")
	if err := os.WriteFile(bad, []byte("hello, these are notes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(t.TempDir(), "second.pcap")
	testutil.WriteSynthCapture(t, second, 2)
	code, out, errs := c.run("", "ingest", bad, second)
	if code != 1 || !strings.Contains(errs, "notes.pcap: not ingested") || !strings.Contains(out, "second.pcap: ") || !strings.Contains(errs, "1 of 2 files") {
		t.Errorf("ingest of a bad and a good file: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	// The key ID travels with saved flows.
	if js := c.must("", "flows", "--format", "jsonl", capPath); !strings.Contains(strings.SplitN(js, "\n", 2)[0], `"key_id":"ek_`) {
		t.Errorf("jsonl header lacks the key ID: %s", strings.SplitN(js, "\n", 2)[0])
	}
}

func TestInitOrg(t *testing.T) {
	c := newCLI(t)
	c.must("", "init", "--org", "CERT-X")
	c.must("", "intel", "add", "ipv4", "198.51.100.9")
	if out := c.must("", "intel", "list"); !strings.Contains(out, "CERT-X") {
		t.Fatalf("the indicator's origin is not the org given to init:\n%s", out)
	}
}
