package node

import (
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/pseudo"
	"github.com/flowfed/flowfed/share/usage"
)

// variants caches the dataset variants built for recipients: one per
// dataset, pseudonymization domain and minimisation.
type variants struct {
	mu   sync.Mutex
	byID map[string]*protocol.Envelope
}

// forget drops the cached versions of a dataset.
func (v *variants) forget(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.byID {
		if strings.HasPrefix(k, id+"\x00") {
			delete(v.byID, k)
		}
	}
}

// datasetVariant returns the envelope of dataset e as a recipient in domain,
// minimised by m, may receive it: the same artifact (publisher, sequence
// number, version), its records re-pseudonymized into the recipient's domain
// (so that recipients in different domains cannot link what they got) and
// minimised, re-signed with usage policy use. Variants are built once and
// stored like the datasets they derive from.
func (n *Node) datasetVariant(e *protocol.Envelope, domain string, m policy.Minimise, use usage.Policy) (*protocol.Envelope, error) {
	// The variant is signed for this envelope's sequence number and
	// version; a republished version gets its own.
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%s\x00%s\x00%s", e.ArtifactID, e.Seq, e.Version, domain, m, use)
	n.vars.mu.Lock()
	defer n.vars.mu.Unlock()
	if v, ok := n.vars.byID[key]; ok {
		return v, nil
	}
	base, err := dataset.DecodeManifest(e.Payload)
	if err != nil {
		return nil, err
	}
	// Aggregates grouped by neither host nor pair hold no address, and
	// their windows may already be as coarse as asked: they leave as they
	// are (under the recipient's usage policy).
	hasAddrs := base.Kind == dataset.KindFlows || slices.Contains(base.GroupBy, dataset.GroupHost) || slices.Contains(base.GroupBy, dataset.GroupPair)
	coarse := m.TimeUnit == 0 || !slices.Contains(base.GroupBy, dataset.GroupWindow) || time.Duration(base.Window) >= m.TimeUnit
	if !hasAddrs && coarse {
		v := *e
		if use.String() != e.Usage.String() {
			var err error
			if v, err = protocol.Seal(n.key, protocol.Envelope{Kind: e.Kind, ArtifactID: e.ArtifactID, Version: e.Version,
				Payload: e.Payload, Seq: e.Seq, Created: e.Created, Usage: use}); err != nil {
				return nil, err
			}
		}
		return &v, nil
	}
	if base.DP != nil {
		return nil, errors.New("a differentially private dataset is released once; one holding addresses or finer windows than asked is not re-released per recipient")
	}
	spec := dataset.Spec{
		Kind: base.Kind, GroupBy: base.GroupBy, Window: time.Duration(base.Window),
		From: base.Selection.From, To: base.Selection.To, Labels: base.Selection.Labels,
		K: base.K, Usage: base.Usage, Domain: domain, FlowSettings: base.FlowSettings,
	}
	if !m.IsNone() {
		spec.Minimised = m.String()
	}
	mode, err := pseudo.ParseMode(n.cfg.PseudoMode)
	if err != nil {
		return nil, err
	}
	mappers := map[string]flow.AddrMapper{}
	var (
		mapErr  error
		sources *pseudo.Tokenizer
	)
	transform := func(src string, r *flow.Record) (string, *flow.Record, bool) {
		mp, ok := mappers[r.KeyID]
		if !ok {
			var merr error
			if mp, merr = n.domainMapper(r.KeyID, domain, mode); merr != nil {
				mapErr = merr
				return "", nil, false
			}
			mappers[r.KeyID] = mp
		}
		// Capture names (file names can name hosts or people) leave as
		// tokens of the recipient's domain: one per capture, so models
		// still split by capture, but unreadable and unlinkable across
		// domains. The first record's key keys the whole dataset.
		if sources == nil {
			var terr error
			if sources, terr = n.sourceTokenizer(r.KeyID, domain); terr != nil {
				mapErr = terr
				return "", nil, false
			}
		}
		src = sources.Token(src)
		c := *r
		if c.Label.Evidence != nil {
			ev := *c.Label.Evidence
			c.Label.Evidence = &ev
		}
		c.Pseudonymize(prefixMapper{mp, m.PrefixV4, m.PrefixV6}, r.KeyID)
		if m.DropPorts {
			c.Key.SrcPort, c.Key.DstPort = 0, 0
		}
		if u := m.TimeUnit.Nanoseconds(); u > 0 {
			// The start is rounded down; the duration, like the packet
			// gaps of the sequence features, stays what it was: it is
			// a feature, and names no moment.
			d := c.End - c.Start
			c.Start -= c.Start % u
			c.End = c.Start + d
		}
		if m.Drops("history") {
			c.History = ""
		}
		if m.Drops("conn_state") {
			c.ConnState = ""
		}
		if m.Drops("source") {
			src = ""
		}
		return src, &c, true
	}
	built, err := buildFrom(n.st, spec, transform)
	if mapErr != nil {
		return nil, mapErr
	}
	if err != nil {
		return nil, err
	}
	if err := storeBuilt(n.st, built, e.ArtifactID); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, err
	}
	v, err := protocol.Seal(n.key, protocol.Envelope{
		Kind: e.Kind, ArtifactID: e.ArtifactID, Version: e.Version, Payload: built.Manifest.Encode(),
		Seq: e.Seq, Created: e.Created, Usage: use,
	})
	if err != nil {
		return nil, err
	}
	if n.vars.byID == nil {
		n.vars.byID = map[string]*protocol.Envelope{}
	}
	n.vars.byID[key] = &v
	return &v, nil
}

// domainMapper maps the node's own pseudonyms under epoch key keyID into
// domain: the pseudonym is pseudonymized again under the domain key derived
// from the epoch key, so the result is prefix-preserving, reversible only
// with the vault, and unlinkable to other domains.
func (n *Node) domainMapper(keyID, domain string, mode pseudo.Mode) (flow.AddrMapper, error) {
	key, err := n.domainKey(keyID, domain, string(mode), mode.KeySize())
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return pseudo.NewAddrMapper(mode, key, pseudo.WithPrefixCache(1024))
}

// sourceTokenizer returns the tokenizer of capture names for recipients in
// domain, keyed by epoch key keyID.
func (n *Node) sourceTokenizer(keyID, domain string) (*pseudo.Tokenizer, error) {
	key, err := n.domainKey(keyID, domain, "sources", 32)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return pseudo.NewTokenizer(key, "flowfed/dataset-sources/v1")
}

// domainKey derives the key for use of size bytes in domain from epoch key
// keyID; the caller clears it.
func (n *Node) domainKey(keyID, domain, use string, size int) ([]byte, error) {
	id, err := keyvault.ParseKeyID(keyID)
	if err != nil {
		return nil, err
	}
	ek, err := n.vault.Key(id)
	if err != nil {
		return nil, fmt.Errorf("epoch key %s: %w", keyID, err)
	}
	dk, err := ek.Domain(domain)
	if err != nil {
		return nil, err
	}
	return dk.PseudoKey(use, size), nil
}

// prefixMapper maps with m, then keeps only the leading bits of the result.
type prefixMapper struct {
	m      flow.AddrMapper
	v4, v6 int
}

func (p prefixMapper) Map(a netip.Addr) netip.Addr {
	b := p.m.Map(a)
	bits := p.v6
	if b.Is4() {
		bits = p.v4
	}
	if bits >= b.BitLen() {
		return b
	}
	pf, err := b.Prefix(bits)
	if err != nil {
		return b
	}
	return pf.Addr()
}

// buildFrom runs dataset.Build over the stored flows, each passed through
// transform (nil keeps them as stored).
func buildFrom(st *store.Store, spec dataset.Spec, transform func(string, *flow.Record) (string, *flow.Record, bool)) (*dataset.Built, error) {
	var iterErr error
	stop := errors.New("stop")
	rows := func(yield func(dataset.Row) bool) {
		err := st.ForEachFlowFrom(func(src string, r *flow.Record) error {
			if transform != nil {
				var ok bool
				if src, r, ok = transform(src, r); !ok {
					return stop
				}
			}
			if !yield(dataset.Row{Source: src, Flow: r}) {
				return stop
			}
			return nil
		})
		if err != nil && err != stop {
			iterErr = err
		}
	}
	if spec.FlowSettings == nil {
		spec.FlowSettings = flowSettings(st)
	}
	built, err := dataset.Build(spec, iter.Seq[dataset.Row](rows))
	if iterErr != nil {
		return nil, fmt.Errorf("reading stored flows: %w", iterErr)
	}
	return built, err
}

// storeBuilt stores a built dataset (a recipient's version of dataset base
// when base is set), charging the epsilon ledger when DP was
// applied, in one transaction.
func storeBuilt(st *store.Store, built *dataset.Built, base string) error {
	chunks := make([]store.Chunk, len(built.Chunks))
	for i, c := range built.Chunks {
		chunks[i] = store.Chunk{Hash: c.Hash, Data: c.Data}
	}
	var charge *store.Charge
	if c := built.Charge; c != nil {
		charge = &store.Charge{Family: c.Family, Period: c.Period, Epsilon: c.Epsilon, Budget: c.Budget, Check: dataset.CheckBudget}
	}
	m := built.Manifest
	return st.PutDataset(store.Dataset{ID: m.ID, Manifest: m.Encode(), Base: base}, chunks, charge)
}

// flowSettings names the flow-meter settings of the stored flows for a
// manifest: "flow-config <digest>" and the settings in their text form
// (timeouts and the rest), one entry per configuration in use.
func flowSettings(st *store.Store) map[string]string {
	ins, err := st.Ingests()
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, in := range ins {
		d := in.FlowConfigDigest
		if d == "" || out["flow-config "+d] != "" {
			continue
		}
		js, err := st.FlowConfig(d)
		if err != nil {
			continue
		}
		cfg, err := flow.ParseConfig([]byte(js))
		if err != nil {
			continue
		}
		text := cfg.String()
		if len(text) > 250 {
			text = text[:250]
		}
		out["flow-config "+d] = text
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
