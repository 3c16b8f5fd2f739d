package node

import (
	"fmt"
	"time"

	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/share/intel"
)

// minimiseIntel returns the payload of an indicator or sighting reduced as m
// says (see policy.DroppableFields): free-text fields dropped, a sighting's
// observer removed and its times rounded down to m.TimeUnit. The artifact's
// identity (its id, type and value) never changes.
func minimiseIntel(kind string, payload []byte, m policy.Minimise) ([]byte, error) {
	switch kind {
	case KindIndicator:
		ind, err := intel.DecodeIndicator(payload)
		if err != nil {
			return nil, fmt.Errorf("minimising indicator: %w", err)
		}
		if m.Drops("description") {
			ind.Description = ""
		}
		if m.Drops("labels") {
			ind.Labels = nil
		}
		if m.Drops("name") {
			ind.Name = ""
		}
		if m.Drops("origin_name") {
			ind.OriginName = ""
		}
		if m.Drops("original") {
			ind.Original = ""
		}
		return ind.Encode(), nil
	case KindSighting:
		sg, err := intel.DecodeSighting(payload)
		if err != nil {
			return nil, fmt.Errorf("minimising sighting: %w", err)
		}
		if m.Drops("observer") {
			sg.Observer, sg.ObserverName = "", ""
		}
		if u := m.TimeUnit; u > 0 {
			sg.FirstSeen, sg.LastSeen = floorTime(sg.FirstSeen, u), floorTime(sg.LastSeen, u)
		}
		return sg.Encode(), nil
	}
	return payload, nil
}

// floorTime rounds t down to a multiple of u since the Unix epoch, as
// dataset times are; the zero time stays zero.
func floorTime(t time.Time, u time.Duration) time.Time {
	if t.IsZero() {
		return t
	}
	ns, un := t.UnixNano(), int64(u)
	r := ns % un
	if r < 0 {
		r += un
	}
	return time.Unix(0, ns-r).UTC()
}
