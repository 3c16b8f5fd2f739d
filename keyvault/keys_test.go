package keyvault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goldenEpochKey is the fixed key of the golden tests: bytes 0x00…0x1f.
func goldenEpochKey() EpochKey {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	s, _ := secretFrom(b)
	id, _ := keyIDFromBytes(PurposeEpoch, bytes.Repeat([]byte{0xaa}, keyIDSize))
	return EpochKey{id: id, k: s}
}

// TestGoldenDerivations pins the HKDF outputs. They were checked against an
// independent HKDF implementation (openssl kdf ... HKDF). If this test fails,
// every pseudonym flowfed ever produced would change: do not update the
// values, fix the derivation.
func TestGoldenDerivations(t *testing.T) {
	ek := goldenEpochKey()
	dk, err := ek.Domain("group:cert-eu")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(dk.k.bytes()), "ba29fd39ae91997f4c4105f3ca9e6b38ffb2135cd1ee1c396f463ade4d5c3f35"; got != want {
		t.Errorf("domain key = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		mode       string
		size       int
		epoch, dom string
	}{
		{"cryptopan", 32, "9e6ce01c203d6634c3e178bdf0c877ca8ed3848152c0b74aba04421363538967", "88e98cc1de12a808f3eafcfeba79138f4434f4b7a0284243c5b21cd4f176b936"},
		{"ipcrypt-pfx", 32, "a3a2b072ceafb3eae1aabe5e4edffb7f63f2dc0ae6c18c71cdce71215abad631", "ebdb9b141d794217171724483ab541e07a1d8dc888ec06017964ef15722a9043"},
		{"ipcrypt-det", 16, "8edf62b7642ab54976d43f2617fab809", "a315c2ec14d4ab542c1efbbfc9719bc3"},
		{"ipcrypt-nd", 16, "a381a4f8f6431bbd3744db5837bb3042", "1ebd131f0982ae3f16772ae42641f1cb"},
		{"ipcrypt-ndx", 32, "202a2d834562a2d8da13d3be83afa0a8d13d2fe298749a0201d0fae156faf3ce", "6c5d6634739c5e186f348c499b5861ae5626386ed14805000eabae33fc09a85c"},
		{"mac", 32, "054a29fd40511236a2bcc631b921ea96fa0f8e0d57436de8ba644575f644276f", "6cb52813f9aebb6e658e04961925a8552b7efacabaeca30875e45d63e485df85"},
		{"token", 32, "8829aa819b248d3d0b7502f37de09b6cefd656619ad92adb30c360116554c749", "e6ab18b961764c2dc3135ecd93f2799b5c47ca4cc6a60d52be8c95d2def3b022"},
	} {
		if got := hex.EncodeToString(ek.PseudoKey(tc.mode, tc.size)); got != tc.epoch {
			t.Errorf("EpochKey.PseudoKey(%q, %d) = %s, want %s", tc.mode, tc.size, got, tc.epoch)
		}
		if got := hex.EncodeToString(dk.PseudoKey(tc.mode, tc.size)); got != tc.dom {
			t.Errorf("DomainKey.PseudoKey(%q, %d) = %s, want %s", tc.mode, tc.size, got, tc.dom)
		}
	}
	// A shorter output is a prefix of a longer one (HKDF's expand), so the
	// size is not bound into the derivation: callers pick one size per mode.
	if !bytes.HasPrefix(ek.PseudoKey("mac", 64), ek.PseudoKey("mac", 32)) {
		t.Error("PseudoKey is not HKDF-Expand")
	}
}

func TestDomainKeysDiffer(t *testing.T) {
	ek := goldenEpochKey()
	a, _ := ek.Domain("12D3KooWA")
	b, _ := ek.Domain("12D3KooWB")
	if *a.k() == *b.k() || *a.k() == *ek.k() {
		t.Error("domain keys collide")
	}
	if a.EpochID() != ek.ID() || a.Domain() != "12D3KooWA" {
		t.Errorf("DomainKey = %v/%q", a.EpochID(), a.Domain())
	}
	for _, name := range []string{"", strings.Repeat("x", 256), "\xff\xfe"} {
		if _, err := ek.Domain(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Domain(%q) = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := (EpochKey{}).Domain("x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero EpochKey.Domain = %v, want ErrInvalid", err)
	}
}

// TestPfxHalvesCollision forces the 2^-128 case: the derivation must retry
// with a counter and yield distinct halves.
func TestPfxHalvesCollision(t *testing.T) {
	ek := goldenEpochKey()
	info := pseudoKeyInfo + "\x00ipcrypt-pfx"
	var tries []string
	expand := func(in string) []byte {
		tries = append(tries, in)
		if in == info {
			return bytes.Repeat([]byte{7}, 32) // colliding halves
		}
		return mustHKDF(ek.k.bytes(), nil, in, 32)
	}
	got := distinctHalves(info, expand)
	if len(tries) != 2 || tries[1] != info+"\x00\x01" {
		t.Fatalf("infos tried = %q, want the plain info then info 0x00 0x01", tries)
	}
	want := "ec7131905dab3c05dea9a173fbd04f0f835e20cac1c3d035f06b750e5927a389"
	if hex.EncodeToString(got) != want {
		t.Errorf("retried key = %x, want %s", got, want)
	}
	if bytes.Equal(got[:16], got[16:]) {
		t.Error("halves still equal")
	}
}

func TestPseudoKeyPanics(t *testing.T) {
	ek := goldenEpochKey()
	for name, f := range map[string]func(){
		"empty mode":      func() { ek.PseudoKey("", 32) },
		"size 0":          func() { ek.PseudoKey("mac", 0) },
		"size 8161":       func() { ek.PseudoKey("mac", 8161) },
		"zero key":        func() { EpochKey{}.PseudoKey("mac", 32) },
		"zero domain key": func() { DomainKey{}.PseudoKey("mac", 32) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("PseudoKey with %s did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestRedaction proves that no fmt verb, slog handler or error shows key
// bytes, for every key type.
func TestRedaction(t *testing.T) {
	dir := t.TempDir()
	v, err := Create(filepath.Join(dir, "vault.db"), testPass, Options{KDF: fastKDF, Period: PeriodDay})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ek, err := v.EpochFor(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dk, err := ek.Domain("group:cert-eu")
	if err != nil {
		t.Fatal(err)
	}
	ik, err := v.IdentityKey()
	if err != nil {
		t.Fatal(err)
	}
	identityRaw, err := ik.PrivKey().Raw()
	if err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{ek.k.bytes(), dk.k.bytes(), identityRaw, identityRaw[:32], v.master.s.bytes(), v.recordKey.bytes()}

	// A struct that holds keys in unexported fields, where fmt cannot call
	// their methods and falls back to reflection.
	type holder struct {
		epoch  EpochKey
		domain DomainKey
		ident  IdentityKey
		master masterKey
	}
	values := map[string]any{
		"EpochKey":     ek,
		"*EpochKey":    &ek,
		"DomainKey":    dk,
		"IdentityKey":  ik,
		"masterKey":    v.master,
		"secret":       v.recordKey,
		"Vault":        v,
		"[]EpochKey":   []EpochKey{ek, ek},
		"map":          map[string]DomainKey{"d": dk},
		"holder":       holder{ek, dk, ik, v.master},
		"*holder":      &holder{ek, dk, ik, v.master},
		"KeyInfo list": mustList(t, v),
	}
	for name, val := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, val)
			assertNoSecret(t, name+" "+verb, out, secrets...)
		}
	}
	if got := fmt.Sprint(ek); got != "EpochKey("+ek.ID().String()+", redacted)" {
		t.Errorf("fmt.Sprint(EpochKey) = %q", got)
	}

	for _, handler := range []struct {
		name string
		new  func(b *bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(handler.new(&buf))
		log.Info("keys", "epoch", ek, "domain", dk, "identity", ik, "master", v.master,
			"ptr", &ek, slog.Any("any", ek), slog.Group("g", "k", dk))
		out := buf.String()
		assertNoSecret(t, handler.name+" handler", out, secrets...)
		if !strings.Contains(out, "redacted") || !strings.Contains(out, ek.ID().String()) {
			t.Errorf("%s handler output %q lacks the redacted form", handler.name, out)
		}
	}

	// Errors from every failure path name keys by ID only.
	var errs []error
	_, err = v.Key(newKeyID(PurposeEpoch))
	errs = append(errs, err)
	errs = append(errs, v.Shred(ek.ID()))
	_, err = v.Key(ek.ID())
	errs = append(errs, err)
	errs = append(errs, v.ChangePassphrase(otherPass, testPass))
	_, err = Open(v.Path(), testPass)
	errs = append(errs, err)
	_, err = ek.Domain("")
	errs = append(errs, err)
	_, err = Restore(v.Path(), testPass, filepath.Join(dir, "x.db"), testPass, Options{KDF: fastKDF})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			continue
		}
		assertNoSecret(t, "error", err.Error(), secrets...)
		assertNoSecret(t, "error %+v", fmt.Sprintf("%+v", err), secrets...)
	}
}

func mustList(t testing.TB, v *Vault) []KeyInfo {
	t.Helper()
	infos, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	return infos
}
