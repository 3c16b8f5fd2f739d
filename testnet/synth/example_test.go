package synth_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/flowfed/flowfed/testnet/synth"
)

// Two members of a federation, each with its own hosts, talking to the
// same synthetic Internet.
func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "synth")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for i, clients := range []string{"10.1.0.0/16", "10.2.0.0/16"} {
		sum, err := synth.WriteFile(filepath.Join(dir, fmt.Sprintf("org%d.pcap", i+1)), synth.Config{
			Seed:    uint64(i + 1),
			Clients: netip.MustParsePrefix(clients),
			Packets: 2000,
			Mix:     map[string]float64{synth.KindTLS: 3, synth.KindDNS: 1, synth.KindScan: 1},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(sum.Packets >= 2000, sum.ByKind[synth.KindTLS] > 0, sum.ByKind[synth.KindScan] > 0)
	}
	// Output:
	// true true true
	// true true true
}
