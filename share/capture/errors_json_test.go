package capture

import (
	"encoding/json"
	"testing"
)

// A damage summary survives JSON (the admin API carries it).
func TestDamageKindJSON(t *testing.T) {
	for k := DamageKind(1); k < numDamageKinds; k++ {
		b, err := json.Marshal(Damage{Kind: k, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		var d Damage
		if err := json.Unmarshal(b, &d); err != nil || d.Kind != k || d.Count != 2 {
			t.Fatalf("%s: %s → %+v, %v", k, b, d, err)
		}
	}
	var k DamageKind
	if err := k.UnmarshalText([]byte("no-such-damage")); err == nil {
		t.Fatal("an unknown name decoded")
	}
}
