package node

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/share/usage"
)

func TestAddIndicatorTwiceKeepsTheVersion(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	add := func(at time.Time, labels ...string) uint32 {
		t.Helper()
		ind, err := NewIndicator("domain", "C2.Example.NET.", "ORG-A", at)
		if err != nil {
			t.Fatal(err)
		}
		ind.Labels, ind.Policy = labels, usage.Policy{TLP: usage.Amber}.Normalize()
		got, err := AddIndicator(st, ind)
		if err != nil {
			t.Fatal(err)
		}
		return got.Version
	}
	if v := add(day); v != 1 {
		t.Fatalf("first add: version %d", v)
	}
	if v := add(day.Add(time.Hour)); v != 1 {
		t.Fatalf("the same indicator again: version %d, want 1", v)
	}
	if v := add(day.Add(2*time.Hour), "c2"); v != 2 {
		t.Fatalf("a new label: version %d, want 2", v)
	}
}
