package intel_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/pseudo"
)

// An event from MISP is imported, its indicators pseudonymized with the
// key of the flow store and matched against a stored (pseudonymized)
// address.
func Example() {
	event := `{"Event": {"uuid": "5f0c2a8e-0000-4000-8000-00000000e001", "info": "example",
	  "timestamp": "1700000000", "Tag": [{"name": "tlp:green"}],
	  "Orgc": {"name": "Example CERT", "uuid": "5f0c2a8e-0000-4000-8000-0000000000aa"},
	  "Attribute": [
	    {"uuid": "5f0c2a8e-0000-4000-8000-00000000a001", "type": "ip-dst", "value": "192.0.2.0/24", "to_ids": true, "timestamp": "1700000000"},
	    {"uuid": "5f0c2a8e-0000-4000-8000-00000000a002", "type": "domain", "value": "C2.Example.ORG.", "to_ids": true, "timestamp": "1700000000"}]}}`
	res, err := intel.ImportMISP(strings.NewReader(event), intel.ImportOptions{})
	if err != nil {
		panic(err)
	}
	for _, ind := range res.Indicators {
		fmt.Println(ind.Type, ind.Value, ind.Policy.TLP)
	}

	key := []byte("0123456789abcdef0123456789abcdef") // the flow store's epoch key
	cp, _ := pseudo.NewAddrMapper(pseudo.ModeCryptoPAn, key)
	m, err := intel.NewMatcher(res.Indicators, intel.Infallible(cp), pseudo.ModeCryptoPAn.PrefixPreserving(), nil)
	if err != nil {
		panic(err)
	}
	stored := cp.Map(netip.MustParseAddr("192.0.2.77")) // as a flow record holds it
	fmt.Println(len(m.MatchAddr(stored)) == 1)
	// Output:
	// cidr 192.0.2.0/24 GREEN
	// domain c2.example.org GREEN
	// true
}
