package pseudo

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// secretKey is recognizable in every encoding the leak check looks for.
var secretKey = []byte("SECRETKEYMATERIAL-0123456789abcd")

// leaks returns the encodings of key material found in out: the raw bytes,
// hex, base64 and Go's decimal byte-slice form, for the whole key and for
// each of its 16-byte halves (an AES key on its own).
func leaks(out string, key []byte) []string {
	var found []string
	for _, k := range [][]byte{key, key[:16], key[len(key)-16:]} {
		for _, enc := range []string{
			string(k), hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
			base64.StdEncoding.EncodeToString(k), strings.Trim(fmt.Sprint(k[:8]), "[]"),
		} {
			if strings.Contains(out, enc) {
				found = append(found, enc)
			}
		}
	}
	return found
}

// TestNoKeyInOutput prints every key-holding type with every fmt verb, as a
// pointer and as a struct value, and through slog's JSON handler.
func TestNoKeyInOutput(t *testing.T) {
	cp, _ := NewCryptoPAn(secretKey)
	pfx, _ := NewIPCryptPFX(secretKey)
	det, _ := NewIPCryptDet(secretKey[:16])
	nd, _ := NewIPCryptND(secretKey[:16])
	ndx, _ := NewIPCryptNDX(secretKey)
	old, _ := NewIPCrypt2015(secretKey[:16])
	mac, _ := NewMACMapper(secretKey, true)
	tok, _ := NewTokenizer(secretKey, "hostname")
	values := map[string][2]any{
		"CryptoPAn": {cp, *cp}, "IPCryptPFX": {pfx, *pfx}, "IPCryptDet": {det, *det},
		"IPCryptND": {nd, *nd}, "IPCryptNDX": {ndx, *ndx}, "IPCrypt2015": {old, *old},
		"MACMapper": {mac, *mac}, "Tokenizer": {tok, *tok},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"}
	for name, vs := range values {
		for i, v := range vs {
			for _, verb := range verbs {
				out := fmt.Sprintf(verb, v)
				if l := leaks(out, secretKey); l != nil {
					t.Errorf("%s (form %d) with %s = %q shows key material %q", name, i, verb, out, l)
				}
				if i == 0 && verb != "%T" && !strings.Contains(out, "REDACTED") {
					t.Errorf("Sprintf(%s, %s) = %q, want the redacted form", verb, name, out)
				}
			}
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			log.Info("mapper", "m", v, slog.Group("g", "m", v), "list", []any{v})
			if l := leaks(buf.String(), secretKey); l != nil {
				t.Errorf("%s (form %d) in slog JSON = %s shows key material %q", name, i, buf.String(), l)
			}
			if i == 0 && !strings.Contains(buf.String(), "REDACTED") {
				t.Errorf("slog JSON of %s = %s, want the redacted form", name, buf.String())
			}
		}
	}
}

// TestErrorsCarryNoKey checks the constructors' errors for keys of wrong
// size or with equal halves.
func TestErrorsCarryNoKey(t *testing.T) {
	long := append(append([]byte{}, secretKey...), secretKey...)
	same := append(append([]byte{}, secretKey[:16]...), secretKey[:16]...)
	var errs []error
	for _, k := range [][]byte{long, secretKey[:20], same} {
		_, e1 := NewCryptoPAn(k)
		_, e2 := NewIPCryptPFX(k)
		_, e3 := NewIPCryptDet(k)
		_, e4 := NewIPCryptNDX(k)
		_, e5 := NewAddrMapper(ModePFX, k)
		_, e6 := NewIPCryptND(k)
		_, e7 := NewIPCrypt2015(k)
		errs = append(errs, e1, e2, e3, e4, e5, e6, e7)
	}
	_, err := NewMACMapper(secretKey[:8], false)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			continue
		}
		if l := leaks(err.Error(), secretKey); l != nil {
			t.Errorf("error %q shows key material %q", err, l)
		}
	}
}
