package intel

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "update the golden files in testdata")

// canonInputs are the inputs of testdata/canon.golden.
var canonInputs = []struct {
	t Type
	v string
}{
	{TypeIPv4, "192.0.2.1"}, {TypeIPv4, " 192.0.2.1 "}, {TypeIPv4, "::ffff:192.0.2.1"}, {TypeIPv4, "192.0.2.1/32"},
	{TypeIPv4, "192.000.2.1"}, {TypeIPv4, "192.0.2"}, {TypeIPv4, "256.0.0.1"}, {TypeIPv4, "fe80::1%eth0"},
	{TypeIPv6, "2001:DB8:0:0:0:0:0:1"}, {TypeIPv6, "2001:db8::0:1"}, {TypeIPv6, "2001:0db8:0000:0000:0001:0000:0000:0001"},
	{TypeIPv6, "::"}, {TypeIPv6, "::ffff:10.0.0.1"}, {TypeIPv6, "2001:db8::/128"},
	{TypeCIDR, "10.1.2.3/8"}, {TypeCIDR, "10.0.0.0/8"}, {TypeCIDR, "0.0.0.0/0"}, {TypeCIDR, "2001:DB8::1/32"},
	{TypeCIDR, "::ffff:192.0.2.0/120"}, {TypeCIDR, "10.0.0.0/33"}, {TypeCIDR, "10.0.0.0/08"},
	{TypeDomain, "Example.ORG."}, {TypeDomain, "bücher.example"}, {TypeDomain, "BÜCHER.example"}, {TypeDomain, "münchen.example"},
	{TypeDomain, "例え.テスト"}, {TypeDomain, "xn--bcher-kva.example"}, {TypeDomain, "XN--BCHER-KVA.example"},
	{TypeDomain, "xn--invalid-.example"}, {TypeDomain, "_dmarc.example.org"}, {TypeDomain, "a..example"},
	{TypeDomain, "exa mple.org"}, {TypeDomain, "10.0.0.1"}, {TypeDomain, "localhost"}, {TypeDomain, "example。org"},
	{TypeDomain, strings.Repeat("a", 64) + ".example"}, {TypeDomain, "*.example.org"}, {TypeDomain, "ＥＸＡＭＰＬＥ.org"},
	{TypeDomain, "faß.de"}, {TypeDomain, "xn--abc.example"},
	{TypeURL, "HTTP://Example.ORG"}, {TypeURL, "https://example.org:443/a/./b/../c?x=%7e&y=%2f#frag"},
	{TypeURL, "http://example.org:8080/%E4%f6"}, {TypeURL, "example.org/path"}, {TypeURL, "http://[2001:DB8::1]:80/"},
	{TypeURL, "http://user:pw@Bücher.example./ä b"}, {TypeURL, "http://example.org/evil.txt')"},
	{TypeURL, "http://example.org/100%"}, {TypeURL, "mailto:Someone@Example.org"}, {TypeURL, "http://:80/"},
	{TypeURL, "http://example.org:99999/"}, {TypeURL, "ftp://192.0.2.1:21/file"},
	{TypeEmail, "Phish@Example.ORG"}, {TypeEmail, "a@bücher.example"}, {TypeEmail, "@example.org"}, {TypeEmail, "a b@example.org"},
	{TypeMD5, "0749BAE92CA336A02C83D126E04EC628"}, {TypeMD5, "0749bae92ca336a02c83d126e04ec62"}, {TypeMD5, "0749bae92ca336a02c83d126e04ec62g"},
	{TypeSHA1, "77B0C41B7D340B8A3D903F21347BBF06AA766B5B"},
	{TypeSHA256, " ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c\n"},
	{TypeSHA512, strings.Repeat("Ab", 64)},
	{TypeJA3, "E7D705A3286E19EA42F587B344EE6865"}, {TypeJA4, "T13D1516H2_8DAAF6152771_02713D6AF862"},
	{TypeJA4, "t13d1516h2_8daaf6152771"}, {TypeJA4, "x13d1516h2_8daaf6152771_02713d6af862"},
	{TypeFilename, "weird'name.exe"}, {TypeFilename, "trailing-backslash\\"}, {TypeFilename, " spaced.exe "}, {TypeFilename, ""},
	{TypeRegKey, "HKCU\\Software\\Example\\Run"},
	{"sha384", "00"},
}

// formatCanon renders the result of Canonicalize for one input.
func formatCanon(t Type, v string) string {
	ct, cv, err := Canonicalize(t, v)
	if err != nil {
		kind := "error"
		switch {
		case errors.Is(err, ErrUnsupportedType):
			kind = "unsupported"
		case errors.Is(err, ErrInvalidValue):
			kind = "invalid"
		}
		return fmt.Sprintf("%s\t%s\t=> %s", t, strconv.Quote(v), kind)
	}
	return fmt.Sprintf("%s\t%s\t=> %s\t%s", t, strconv.Quote(v), ct, strconv.Quote(cv))
}

// TestCanonGolden compares the canonical forms with testdata/canon.golden
// (go test -update rewrites it). A change of the file is a change of the
// canonical forms and needs a new CanonVersion.
func TestCanonGolden(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Canonical forms of CanonVersion %d: type, input => type, canonical value (or why refused).\n", CanonVersion)
	for _, in := range canonInputs {
		b.WriteString(formatCanon(in.t, in.v))
		b.WriteByte('\n')
	}
	got := b.String()
	if *update {
		if err := os.WriteFile("testdata/canon.golden", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/canon.golden")
	if err != nil {
		t.Fatalf("reading golden file: %v (run go test -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
			}
		}
	}
}

// TestCanonExamples checks forms that matter beyond the golden file, by
// hand: values whose canonical form other tools agree on.
func TestCanonExamples(t *testing.T) {
	for _, tc := range []struct {
		t     Type
		in    string
		wantT Type
		want  string
	}{
		{TypeIPv6, "2001:0db8:0000:0000:0001:0000:0000:0001", TypeIPv6, "2001:db8::1:0:0:1"}, // RFC 5952 4.2.3
		{TypeIPv6, "2001:db8:0:0:1:0:0:1", TypeIPv6, "2001:db8::1:0:0:1"},
		{TypeIPv4, "::ffff:192.0.2.1", TypeIPv4, "192.0.2.1"},
		{TypeCIDR, "10.1.2.3/8", TypeCIDR, "10.0.0.0/8"},
		{TypeCIDR, "192.0.2.7/32", TypeIPv4, "192.0.2.7"},
		{TypeDomain, "bücher.example", TypeDomain, "xn--bcher-kva.example"}, // RFC 3492 / IDNA
		{TypeDomain, "München.Example.", TypeDomain, "xn--mnchen-3ya.example"},
		{TypeDomain, "пример.example", TypeDomain, "xn--e1afmkfd.example"},
		{TypeURL, "HTTP://www.Example.com:80/%7Euser/./a/../b?q=%3a", TypeURL, "http://www.example.com/~user/b?q=%3A"},
		{TypeURL, "http://example.org/evil.txt')", TypeURL, "http://example.org/evil.txt')"},
		{TypeSHA256, "EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C", TypeSHA256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"},
		{TypeFilename, "both\\'mixed", TypeFilename, "both\\'mixed"},
	} {
		gt, got, err := Canonicalize(tc.t, tc.in)
		if err != nil || gt != tc.wantT || got != tc.want {
			t.Errorf("Canonicalize(%s, %q) = %s, %q, %v; want %s, %q", tc.t, tc.in, gt, got, err, tc.wantT, tc.want)
		}
	}
}

// TestCanonIdempotent checks that canonical values are fixed points.
func TestCanonIdempotent(t *testing.T) {
	for _, in := range canonInputs {
		ct, cv, err := Canonicalize(in.t, in.v)
		if err != nil {
			continue
		}
		ct2, cv2, err := Canonicalize(ct, cv)
		if err != nil || ct2 != ct || cv2 != cv {
			t.Errorf("Canonicalize(%s, %q) = %s, %q, %v; want the fixed point %s %q", ct, cv, ct2, cv2, err, ct, cv)
		}
	}
}

// TestIDNAVectors checks internationalised names against Punycode from
// RFC 3492 section 7.1 and Python's punycode codec.
func TestIDNAVectors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bücher", "xn--bcher-kva"},
		{"münchen", "xn--mnchen-3ya"},
		{"例え", "xn--r8jz45g"},
		{"пример", "xn--e1afmkfd"},
		{"ü", "xn--tda"},
		{"äöü", "xn--4ca0bs"},
		{"ÄÖÜ", "xn--4ca0bs"},
		{"ｅｘａｍｐｌｅ", "example"},
		{"faß", "xn--fa-hia"},
		// RFC 3492 7.1 (A) Arabic (Egyptian), (B) Chinese (simplified).
		{"\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F", "xn--egbpdaj6bu4bxfgehfvwxn"},
		{"\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587", "xn--ihqwcrb4cv8a8dqg056pqjye"},
	} {
		typ, got, err := Canonicalize(TypeDomain, tc.in+".example")
		if err != nil || typ != TypeDomain || got != tc.want+".example" {
			t.Errorf("Canonicalize(domain, %q) = %q, %v; want %q", tc.in+".example", got, err, tc.want+".example")
		}
	}
}

// TestIDVectors checks deterministic ids against UUIDs computed with an
// independent implementation (Python's uuid.uuid5 over json.dumps with
// sorted keys, no spaces and ensure_ascii=False, which is JCS for these
// values).
func TestIDVectors(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		v    string
		want string
	}{
		{TypeIPv4, "10.0.0.0", "indicator--3b9e5db5-b853-5ea3-883b-af8d1104bfec"},
		{TypeDomain, "xn--bcher-kva.example", "indicator--a5522f1d-296e-53d0-85ec-8871bc868180"},
		{TypeFilename, "weird'name.exe", "indicator--13a79903-6565-5138-85e4-51b025dc2a16"},
		{TypeRegKey, `HKCU\Software\Example\Run`, "indicator--16674329-0699-5627-ac86-4a23ed03cbda"},
		{TypeURL, "http://example.org/\"q\"é\n", "indicator--8b5460d0-0db9-52e1-9be6-49fe9f2f1a82"},
	} {
		if got := IndicatorID(tc.t, tc.v); got != tc.want {
			t.Errorf("IndicatorID(%s, %q) = %s, want %s", tc.t, tc.v, got, tc.want)
		}
	}
	first := time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC)
	if got, want := SightingID("indicator--x", "", SightingSeen, first), "sighting--4f981053-f700-5021-a3ab-f1b3012c0108"; got != want {
		t.Errorf("SightingID = %s, want %s", got, want)
	}
	// The same value from two sources is one indicator.
	a, err1 := NewIndicator(TypeDomain, "Bücher.Example.")
	b, err2 := NewIndicator(TypeDomain, "xn--bcher-kva.example")
	if err1 != nil || err2 != nil || a.ID != b.ID {
		t.Errorf("NewIndicator ids %s, %s (%v %v) differ", a.ID, b.ID, err1, err2)
	}
}
