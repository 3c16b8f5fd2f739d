package intel

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParsePatternObservables(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Observable
	}{
		{"[ipv4-addr:value = '10.0.0.0']", []Observable{{TypeIPv4, "10.0.0.0"}}},
		{"[ipv6-addr:value = '2001:db8::1']", []Observable{{TypeIPv6, "2001:db8::1"}}},
		{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", []Observable{{TypeCIDR, "198.51.100.0/24"}}},
		{"[domain-name:value = 'a.example' OR domain-name:value = 'b.example']", []Observable{{TypeDomain, "a.example"}, {TypeDomain, "b.example"}}},
		{"[url:value = 'http://x.example/'] OR ([email-addr:value = 'a@x.example'])", []Observable{{TypeURL, "http://x.example/"}, {TypeEmail, "a@x.example"}}},
		{"[file:hashes.'SHA-256' = 'ab' OR file:hashes.MD5 = 'cd' OR file:hashes.sha1 = 'ef' OR file:hashes.'SHA-512' = '01']",
			[]Observable{{TypeSHA256, "ab"}, {TypeMD5, "cd"}, {TypeSHA1, "ef"}, {TypeSHA512, "01"}}},
		{"[file:name IN ('a.exe', 'b\\'s.exe')]", []Observable{{TypeFilename, "a.exe"}, {TypeFilename, "b's.exe"}}},
		{"[windows-registry-key:key = 'HKLM\\\\Run']", []Observable{{TypeRegKey, `HKLM\Run`}}},
		{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.1']", []Observable{{TypeIPv4, "192.0.2.1"}}},
		{"[network-traffic:extensions.'x-flowfed-tls'.ja3 = 'e7d705a3286e19ea42f587b344ee6865']", []Observable{{TypeJA3, "e7d705a3286e19ea42f587b344ee6865"}}},
		{"  [ ( domain-name:value='a.example' ) ]  ", []Observable{{TypeDomain, "a.example"}}},
		{"[domain-name:value = 'a.example'] or [domain-name:value = 'b.example']", []Observable{{TypeDomain, "a.example"}, {TypeDomain, "b.example"}}},
	} {
		p, err := ParsePattern(tc.in)
		if err != nil {
			t.Errorf("ParsePattern(%q) = %v", tc.in, err)
			continue
		}
		got, err := p.Observables()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Observables(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		// The canonical text parses to the same pattern.
		again, err := ParsePattern(p.String())
		if err != nil || again.String() != p.String() {
			t.Errorf("ParsePattern(%q).String() = %q does not round-trip: %v", tc.in, p.String(), err)
		}
	}
}

func TestPatternUnsupported(t *testing.T) {
	for _, tc := range []struct{ in, what string }{
		{"[file:hashes.MD5 = 'a'] FOLLOWEDBY [file:name = 'b']", "FOLLOWEDBY"},
		{"[file:hashes.MD5 = 'a'] AND [file:name = 'b']", "observation operator AND"},
		{"[file:hashes.MD5 = 'a' AND file:name = 'b']", "AND of two value comparisons"},
		{"[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", "WITHIN"},
		{"[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES", "REPEATS"},
		{"[ipv4-addr:value = '1.2.3.4'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", "START"},
		{"[process:name = 'evil.exe']", "object path process:name"},
		{"[domain-name:value LIKE '%.example']", "operator LIKE"},
		{"[domain-name:value MATCHES '^a']", "operator MATCHES"},
		{"[domain-name:value != 'a.example']", "operator !="},
		{"[domain-name:value NOT = 'a.example']", "NOT"},
		{"[file:size > 100]", "object path file:size"},
		{"[file:hashes.MD5 = h'00ff']", "non-string"},
		{"[EXISTS file:name]", "EXISTS"},
		{"[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '192.0.2.1']", "does not match"},
		{"[email-message:to_refs[*].value = 'a@example.org']", "object path"},
	} {
		p, err := ParsePattern(tc.in)
		if err != nil {
			t.Errorf("ParsePattern(%q) = %v, want a valid pattern", tc.in, err)
			continue
		}
		_, err = p.Observables()
		if !errors.Is(err, ErrUnsupportedPattern) || !strings.Contains(err.Error(), tc.what) {
			t.Errorf("Observables(%q) = %v, want ErrUnsupportedPattern naming %q", tc.in, err, tc.what)
		}
	}
}

func TestParsePatternErrors(t *testing.T) {
	for _, in := range []string{
		"", "ipv4-addr:value = '1.2.3.4'", "[ipv4-addr:value = '1.2.3.4'", "[ipv4-addr:value = '1.2.3.4]",
		"[ipv4-addr:value = 'a\\b']", "[ipv4-addr:value '1.2.3.4']", "[ipv4-addr = '1.2.3.4']", "[:value = 'x']",
		"[file:name = 'a'] FOLLOWEDBY", "[file:name = 'a'] WITHIN SECONDS", "[file:name IN 'a']",
		"[file:name = ('a')]", "[file:name LIKE 5]", "[file:size > (1)]", "[file:name = 'a'] [file:name = 'b']",
		"[file:name = 'a' OR]", "[file:name ! 'a']", "[file:name = 1.2.3]", "[file:name = 'a']]", "[a:b[x] = 'c']",
		"[file:name = 'a'] START '2016' STOP t'2017'", strings.Repeat("(", 100) + "[file:name = 'a']" + strings.Repeat(")", 100),
		"[file:name = '\xff']",
	} {
		if p, err := ParsePattern(in); !errors.Is(err, ErrPatternSyntax) {
			t.Errorf("ParsePattern(%q) = %v, %v; want ErrPatternSyntax", in, p, err)
		}
	}
}

func TestFormatPattern(t *testing.T) {
	for _, tc := range []struct {
		obs  []Observable
		want string
	}{
		{[]Observable{{TypeIPv4, "10.0.0.0"}}, "[ipv4-addr:value = '10.0.0.0']"},
		{[]Observable{{TypeCIDR, "2001:db8::/32"}}, "[ipv6-addr:value = '2001:db8::/32']"},
		{[]Observable{{TypeSHA256, "ab"}, {TypeMD5, "cd"}}, "[file:hashes.'SHA-256' = 'ab' OR file:hashes.MD5 = 'cd']"},
		{[]Observable{{TypeFilename, `both\'mixed`}}, `[file:name = 'both\\\'mixed']`},
		{[]Observable{{TypeRegKey, `HKCU\Software\Example\Run`}}, `[windows-registry-key:key = 'HKCU\\Software\\Example\\Run']`},
		{[]Observable{{TypeJA4, "t13d1516h2_8daaf6152771_02713d6af862"}}, "[network-traffic:extensions.'x-flowfed-tls'.ja4 = 't13d1516h2_8daaf6152771_02713d6af862']"},
	} {
		got, err := FormatPattern(tc.obs...)
		if err != nil || got != tc.want {
			t.Errorf("FormatPattern(%v) = %q, %v; want %q", tc.obs, got, err, tc.want)
		}
	}
	if _, err := FormatPattern(); err == nil {
		t.Error("FormatPattern() of nothing succeeded")
	}
	if _, err := FormatPattern(Observable{Type: "sha384", Value: "x"}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("FormatPattern(sha384) = %v", err)
	}
}
