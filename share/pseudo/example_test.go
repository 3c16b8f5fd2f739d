package pseudo_test

import (
	"fmt"
	"net/netip"

	"github.com/flowfed/flowfed/share/pseudo"
)

// A node derives the key bytes from its epoch key (keyvault's PseudoKey); a fixed
// key keeps this example reproducible. The key is the Crypto-PAn sample key.
func ExampleNewAddrMapper() {
	key := []byte{21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
		216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2}
	m, err := pseudo.NewAddrMapper(pseudo.ModeCryptoPAn, key)
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"192.102.249.13", "192.215.32.125"} {
		p := m.Map(netip.MustParseAddr(s))
		back, _ := m.Unmap(p)
		fmt.Println(s, "->", p, "->", back)
	}
	// Output:
	// 192.102.249.13 -> 252.138.62.131 -> 192.102.249.13
	// 192.215.32.125 -> 252.43.47.189 -> 192.215.32.125
}
