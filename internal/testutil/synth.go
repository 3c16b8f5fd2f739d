// Package testutil holds helpers for flowfed's tests.
package testutil

import (
	"net/netip"
	"os"
	"testing"

	"github.com/flowfed/flowfed/testnet/synth"
)

// WriteSynthCapture writes synth.WriteCapture's capture of the given number of
// flow groups to path and returns the addresses it used.
func WriteSynthCapture(t testing.TB, path string, flows int) []netip.Addr {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := synth.WriteCapture(f, flows)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return addrs
}
