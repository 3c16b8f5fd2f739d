package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/pseudo"
	"github.com/flowfed/flowfed/share/usage"
)

// IntelRequest is one 'flowfed intel' operation, run by the node when it is
// running and by the CLI on the data directory otherwise.
type IntelRequest struct {
	Op string `json:"op"` // add, import, export, list, show, revoke, match, publish

	// add
	Type, Value string   `json:",omitempty"`
	Confidence  int      `json:",omitempty"`
	Labels      []string `json:",omitempty"`
	ValidUntil  time.Time
	Usage       usage.Policy
	// import and export
	Path    string `json:",omitempty"` // file or feed directory
	Format  string `json:",omitempty"` // export: stix, misp, misp-feed, json
	OwnOnly bool   `json:",omitempty"`
	// revoke, publish
	IDs    []string `json:",omitempty"`
	Reason string   `json:",omitempty"`
	// match
	Reveal bool `json:",omitempty"`
	// Publish also publishes what add, import or revoke stored.
	Publish bool `json:",omitempty"`
}

// IntelResponse is what an intel operation returns.
type IntelResponse struct {
	Summary    *IntelSummary    `json:",omitempty"`
	Indicators []IntelEntry     `json:",omitempty"`
	Sightings  []intel.Sighting `json:",omitempty"`
	Matches    []Match          `json:",omitempty"`
	// Unscreened counts the live indicators per type that stored flows
	// cannot show (hashes, URLs, fingerprints), so match skipped them.
	Unscreened map[string]int `json:",omitempty"`
	Published  int            `json:",omitempty"`
	// PublishedSightings counts the sightings among Published.
	PublishedSightings int      `json:",omitempty"`
	Problems           []string `json:",omitempty"`
	// LeftOut counts the indicators publish left out: never published
	// and no longer live (revoked, expired or decayed).
	LeftOut int              `json:",omitempty"`
	Added   *intel.Indicator `json:",omitempty"`
}

// ErrNeedsNode is returned for operations that only a running node can do.
var ErrNeedsNode = errors.New("this needs the running node: start it with 'flowfed run'")

// RunIntel runs an intel operation on a store (and vault, for match). org
// names this organisation; publish, when non-nil, publishes indicators.
func RunIntel(ctx context.Context, st *store.Store, v *keyvault.Vault, mode pseudo.Mode, org string, now time.Time, req IntelRequest,
	pub IntelPublisher) (IntelResponse, error) {
	var resp IntelResponse
	var toPublish []intel.Indicator
	switch req.Op {
	case "add":
		ind, err := NewIndicator(req.Type, req.Value, org, now)
		if err != nil {
			return resp, err
		}
		if req.Confidence > 0 {
			ind.Confidence = req.Confidence
		}
		ind.Labels = req.Labels
		ind.ValidUntil = req.ValidUntil
		ind.Policy = req.Usage.Normalize()
		if err := ind.Validate(); err != nil {
			return resp, err
		}
		stored, err := AddIndicator(st, ind)
		if err != nil {
			return resp, err
		}
		resp.Added = &stored
		toPublish = append(toPublish, stored)
	case "import":
		sum, err := ImportIntel(st, req.Path, req.Usage, org)
		if err != nil {
			return resp, err
		}
		resp.Summary = &sum
		for _, p := range sum.Problems {
			resp.Problems = append(resp.Problems, p.Error())
		}
	case "export":
		own := ""
		if req.OwnOnly {
			own = org
		}
		if req.Format == "misp-feed" {
			return resp, ExportIntel(st, req.Format, nil, req.Path, own, now)
		}
		var buf bytes.Buffer
		if err := ExportIntel(st, req.Format, &buf, "", own, now); err != nil {
			return resp, err
		}
		return resp, writeFileAtomic(req.Path, buf.Bytes(), 0o644)
	case "list":
		var err error
		if resp.Indicators, err = Indicators(st); err != nil {
			return resp, err
		}
		resp.Sightings, err = Sightings(st)
		return resp, err
	case "show":
		// IDs name indicators (by id or store key) or sightings; a
		// sighting shows with its indicator.
		sights, err := Sightings(st)
		if err != nil {
			return resp, err
		}
		want := map[string]bool{}
		for _, id := range req.IDs {
			want[id] = true
		}
		for _, sg := range sights {
			if want[sg.ID] {
				want[sg.IndicatorID] = true
			}
		}
		all, err := Indicators(st)
		if err != nil {
			return resp, err
		}
		shown := map[string]bool{}
		for _, e := range all {
			if want[e.Key] || want[e.Indicator.ID] {
				resp.Indicators = append(resp.Indicators, e)
				shown[e.Indicator.ID] = true
			}
		}
		if len(resp.Indicators) == 0 {
			return resp, fmt.Errorf("indicator or sighting %s: %w ('flowfed intel list' lists them)", strings.Join(req.IDs, ", "), store.ErrNotFound)
		}
		for _, sg := range sights {
			if shown[sg.IndicatorID] {
				resp.Sightings = append(resp.Sightings, sg)
			}
		}
	case "revoke":
		for _, id := range req.IDs {
			ind, err := RevokeIndicator(st, id, req.Reason, now)
			if err != nil {
				return resp, err
			}
			toPublish = append(toPublish, ind)
		}
	case "match":
		if v == nil {
			return resp, ErrNeedsNode
		}
		var err error
		if resp.Matches, resp.Unscreened, err = matchIntel(st, v, mode, org, req.Reveal, now); err != nil {
			return resp, err
		}
		if !req.Publish {
			return resp, nil
		}
		matched := map[string]bool{}
		for _, m := range resp.Matches {
			matched[m.Indicator] = true
		}
		return resp, publishOwnSightings(ctx, st, org, pub, req.Usage, func(sg intel.Sighting) bool { return matched[sg.IndicatorID] }, &resp)
	case "publish":
		inds, err := Indicators(st)
		if err != nil {
			return resp, err
		}
		want := map[string]bool{}
		for _, id := range req.IDs {
			want[id] = true
		}
		// Publishing all leaves out what is no longer live and was never
		// published: members have no use for it. What was published goes
		// again when it changed (a revocation, a new valid_until).
		published := map[string]bool{}
		if err := st.Artifacts(func(a store.Artifact) error {
			if a.Local && a.Kind == KindIndicator {
				base, _, _ := strings.Cut(a.ID, "@")
				published[base] = true
			}
			return nil
		}); err != nil {
			return resp, err
		}
		for _, e := range inds {
			if e.Publisher != "" || len(want) > 0 && !want[e.Key] {
				continue
			}
			if len(want) == 0 && !e.Indicator.Live(now) && !published[e.Indicator.ID] {
				resp.LeftOut++
				continue
			}
			toPublish = append(toPublish, e.Indicator)
		}
		if pub == nil {
			return resp, ErrNeedsNode
		}
		// Our sightings of the indicators named (all without names) go too.
		err = publishOwnSightings(ctx, st, org, pub, req.Usage, func(sg intel.Sighting) bool {
			return len(want) == 0 || want[sg.IndicatorID] || want[sg.ID]
		}, &resp)
		if err != nil {
			return resp, err
		}
		req.Publish = true
	default:
		return resp, fmt.Errorf("unknown intel operation %q", req.Op)
	}
	if req.Publish && len(toPublish) > 0 {
		if pub == nil {
			return resp, ErrNeedsNode
		}
		n, err := pub.PublishIndicators(ctx, toPublish)
		resp.Published += n
		return resp, err
	}
	return resp, nil
}

// IntelPublisher publishes indicators and sightings: the running node.
type IntelPublisher interface {
	PublishIndicators(ctx context.Context, inds []intel.Indicator) (int, error)
	PublishSightings(ctx context.Context, sights []intel.Sighting, use usage.Policy) (int, error)
}

// publishOwnSightings publishes the sightings this node made (observer org)
// that keep selects, under usage policy use.
func publishOwnSightings(ctx context.Context, st *store.Store, org string, pub IntelPublisher, use usage.Policy, keep func(intel.Sighting) bool, resp *IntelResponse) error {
	if pub == nil {
		return ErrNeedsNode
	}
	var own []intel.Sighting
	err := st.ForEachSighting(func(key string, v []byte) error {
		if strings.Contains(key, "@") {
			return nil // received from a member
		}
		sg, err := intel.DecodeSighting(v)
		if err != nil {
			return fmt.Errorf("stored sighting %s: %w", key, err)
		}
		if sg.Observer == org && keep(sg) {
			own = append(own, sg)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n, err := pub.PublishSightings(ctx, own, use)
	resp.Published += n
	resp.PublishedSightings += n
	return err
}

func (n *Node) apiIntel(w http.ResponseWriter, r *http.Request) {
	var req IntelRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	mode, err := pseudo.ParseMode(n.cfg.PseudoMode)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err)
		return
	}
	resp, err := RunIntel(r.Context(), n.st, n.vault, mode, n.cfg.Org, n.now(), req, n)
	if err != nil {
		code := http.StatusUnprocessableEntity
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = http.StatusNotFound
		}
		writeErr(w, code, err)
		return
	}
	writeJSON(w, resp)
}

// Intel runs an intel operation on the running node.
func (c *Client) Intel(ctx context.Context, req IntelRequest) (IntelResponse, error) {
	var resp IntelResponse
	return resp, c.do(ctx, "POST", "/v1/intel", req, &resp)
}
