package node

import (
	"testing"
)

// FuzzDecodeTombstone feeds arbitrary bytes to the decoder of the tombstone
// payload that peers send.
func FuzzDecodeTombstone(f *testing.F) {
	f.Add([]byte(`{"artifact":"ds-1","reason":"erased"}`))
	f.Add([]byte(`{"artifact":""}`))
	f.Add([]byte(`{"artifact":"x","extra":1}`))
	f.Add([]byte(`{"artifact":"x"} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := decodeTombstone(b)
		if err == nil && ts.Artifact == "" {
			t.Fatalf("accepted a tombstone without artifact: %q", b)
		}
	})
}

// FuzzParseConfig feeds arbitrary bytes to the config file parser.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("version: 1\norg: ORG-A\n"))
	f.Add([]byte("version: 1\nsync_interval: 5s\nlisten: [/ip4/127.0.0.1/tcp/4001]\n"))
	f.Add([]byte("version: 2\n"))
	f.Add([]byte("bogus: 1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig("fuzz.yaml", b)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("ParseConfig accepted an invalid config: %v", verr)
			}
		}
	})
}
