package policy

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var wantRe = regexp.MustCompile(`(?m)^# want: (\d+:\d+): (.*)$`)

// TestMalformedFiles parses each file in testdata/bad and compares the
// problems with the "# want: line:col: text" comments at its top: each
// wanted problem must be reported at exactly that position, and no other.
func TestMalformedFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("malformed fixtures: %v, %v", files, err)
	}
	for _, path := range files {
		name := "bad/" + filepath.Base(path)
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wants := wantRe.FindAllStringSubmatch(string(src), -1)
			if len(wants) == 0 {
				t.Fatal("fixture has no # want: line")
			}
			p, err := Parse(name, src)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", Summary(p))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %T %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			for _, w := range wants {
				prefix := name + ":" + w[1] + ": "
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, prefix) && strings.Contains(g, w[2]) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing %s%s\ngot:\n%s", prefix, w[2], err)
				}
			}
			if len(got) != len(wants) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(wants), err)
			}
		})
	}
}

func TestParseErrorsInline(t *testing.T) {
	cases := []struct{ src, want string }{
		{"version: 1\npeers: [{id: 'has space', org: A}]\n", "t.yaml:2:14: peer id: \"has space\" is not a peer ID"},
		{"version: 1\nself: {id: S}\npeers: [{id: S, org: A}]\n", "t.yaml:3:14: peer \"S\" is this node"},
		{"version: 1\npeers: [{id: P}]\n", "t.yaml:2:9: peer: missing required key \"org\""},
		{"version: 1\negress: [{name: r, effect: allow, to: all, kinds: [x], tlp: GREEN}]\n", "t.yaml:2:28: egress rule effect must be permit or forbid"},
		{"version: 1\negress: [{name: r, effect: permit, to: {}, kinds: [\"*\"], tlp: GREEN}]\n", "t.yaml:2:40: egress rule to names no one"},
		{"version: 1\negress: [{name: r, effect: permit, to: all, kinds: [], tlp: GREEN}]\n", "t.yaml:2:52: egress rule: kinds must name at least one kind"},
		{"version: 1\nversion: 1\n", "t.yaml:2:1: policy: key \"version\" repeated"},
		{"version: \"1\"\n", "t.yaml:1:10: unsupported policy version \"1\""},
		{"version: 1\npeers: [{id: P, org: A, purposes: [Has Space]}]\n", "t.yaml:2:36: peer purposes: \"Has Space\" is not a purpose name"},
		{"version: 1\nself: {org: \"a\\u0000b\"}\n", "t.yaml:2:13: self.org"},
		{"version: 1\negress: [{name: 'builtin:x', effect: permit, to: all, kinds: [\"*\"], tlp: GREEN}]\n", "t.yaml:2:17: egress rule name \"builtin:x\""},
		{"version: 1\ningress: [{name: r, effect: permit, from: all, kinds: [\"*\"], retention: 1h}]\n", "t.yaml:2:73: ingress rule retention must be whole days"},
		{"version: 1\ningress: [{name: r, effect: permit, from: all, kinds: [\"*\"], retention: 5y}]\n", "(a year is 365d)"},
		{"version: 1\ningress: [{name: r, effect: permit, from: all, kinds: [\"*\"], source: local}]\n", "t.yaml:2:70: ingress rule source must be direct, forwarded or any"},
		{"version: 1\npeers: !!seq []\n", ""},
		{"version: 1\npeers: !!map {}\n", "t.yaml:2:8: peers must be a list, not a mapping"},
		{"\t\n", "t.yaml:1:1: YAML syntax"},
	}
	for _, c := range cases {
		_, err := Parse("t.yaml", []byte(c.src))
		if c.want == "" {
			if err != nil {
				t.Errorf("Parse(%q) = %v, want no problem", c.src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v\nwant %s", c.src, err, c.want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	big := make([]byte, MaxFileSize+1)
	if _, err := Parse("big.yaml", big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(big) = %v, want ErrTooLarge", err)
	}
	var b strings.Builder
	b.WriteString("version: 1\npeers:\n")
	for range 200 {
		b.WriteString("  - {id: P, org: A, groups: [nope]}\n")
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	var l ErrorList
	if !errors.As(err, &l) || len(l) != maxErrors+1 || !strings.Contains(l[maxErrors].Msg, "more problems not shown") {
		t.Errorf("many problems: %d reported, last %v", len(l), l[len(l)-1])
	}
	if _, err := Load("testdata/does-not-exist.yaml"); err == nil || !os.IsNotExist(errors.Unwrap(err)) {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestParseDurations(t *testing.T) {
	cases := map[string]int{"1d": 1, "2w": 14, "48h": 2, "365d": 365}
	for s, days := range cases {
		src := "version: 1\ningress: [{name: r, effect: permit, from: all, kinds: [\"*\"], retention: " + s + "}]\n"
		p := mustParse(t, src)
		if got := p.rules[Ingress][0].retention; got != days {
			t.Errorf("retention %s = %d days, want %d", s, got, days)
		}
	}
}

// TestParseErrorsOneLine keeps each problem on one line even when the
// offending value holds line breaks (found by FuzzParse).
func TestParseErrorsOneLine(t *testing.T) {
	for _, src := range []string{"!!aaaa%0aaaa%0D", "version: 1\nself: {org: !<x%0Ay> a}\n", "version: 1\npeers: [{id: \"a\\nb\", org: A}]\n"} {
		_, err := Parse("t.yaml", []byte(src))
		var l ErrorList
		n := 1
		if errors.As(err, &l) {
			n = len(l)
		}
		if err == nil || strings.Count(err.Error(), "\n") != n-1 {
			t.Errorf("Parse(%q) = %q, want %d one-line problems", src, err, n)
		}
	}
}
