package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/usage"
)

// ErrNothingToRelease is wrapped when a build or publication releases nothing.
var ErrNothingToRelease = errors.New("nothing released")

// BuildDataset builds a dataset from the stored flows under spec's privacy
// gates and stores it (manifest, chunks, and the epsilon charge in one
// transaction). Nothing is stored when a gate refuses the release.
func (n *Node) BuildDataset(spec dataset.Spec) (dataset.Manifest, error) {
	return BuildDataset(n.st, spec)
}

// BuildDataset is Node.BuildDataset on a store opened without a running node.
func BuildDataset(st *store.Store, spec dataset.Spec) (dataset.Manifest, error) {
	built, err := buildFrom(st, spec, nil)
	if err != nil {
		return dataset.Manifest{}, err
	}
	if err := storeBuilt(st, built, ""); err != nil {
		return dataset.Manifest{}, err
	}
	return built.Manifest, nil
}

// Datasets lists the stored datasets (built here or received).
func Datasets(st *store.Store) ([]DatasetInfo, error) {
	ds, err := st.Datasets()
	if err != nil {
		return nil, err
	}
	orgs := memberOrgs(st)
	out := make([]DatasetInfo, 0, len(ds))
	for _, d := range ds {
		m, err := dataset.DecodeManifest(d.Manifest)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.ID, err)
		}
		info := DatasetInfo{Manifest: m, Created: d.Created, Base: d.Base}
		if d.Publisher != "" {
			info.Publisher = peer.ID(d.Publisher).String()
			info.PublisherOrg = orgs[info.Publisher]
		}
		for _, c := range m.Chunks {
			if ok, _ := st.HasChunk(c.Hash); ok {
				info.ChunksHave++
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// DatasetInfo is a stored dataset and how much of it is here.
type DatasetInfo struct {
	Manifest  dataset.Manifest
	Created   time.Time
	Publisher string // peer ID of the publisher; empty when built here
	// PublisherOrg is the publisher's organisation as listed here.
	PublisherOrg string `json:",omitempty"`
	Base         string // for a recipient's version of ours: the dataset it derives from
	ChunksHave   int
}

// Complete reports whether every chunk is stored.
func (d DatasetInfo) Complete() bool { return d.ChunksHave == len(d.Manifest.Chunks) }

// LoadDataset returns a stored dataset's manifest and assembled content,
// verified chunk by chunk.
func LoadDataset(st *store.Store, id string) (dataset.Manifest, []byte, error) {
	d, err := st.Dataset(id)
	if err != nil {
		return dataset.Manifest{}, nil, err
	}
	m, err := dataset.DecodeManifest(d.Manifest)
	if err != nil {
		return dataset.Manifest{}, nil, fmt.Errorf("dataset %s: %w", id, err)
	}
	content, err := dataset.Assemble(m, st.Chunk)
	if err != nil {
		return dataset.Manifest{}, nil, fmt.Errorf("dataset %s: %w", id, err)
	}
	return m, content, nil
}

// publish seals an artifact of ours under the next sequence number, stores it
// and notifies the members.
func (n *Node) publish(ctx context.Context, kind, id string, version uint64, payload []byte, use usage.Policy) (store.Artifact, error) {
	a, err := n.publishQuiet(kind, id, version, payload, use)
	if err != nil {
		return a, err
	}
	n.NotifyAll(ctx)
	return a, nil
}

// publishQuiet is publish without telling the members.
func (n *Node) publishQuiet(kind, id string, version uint64, payload []byte, use usage.Policy) (store.Artifact, error) {
	created := n.now().UTC()
	use = use.Seal(created)
	useJSON, _ := json.Marshal(use)
	a, err := n.st.PublishLocal(store.Artifact{
		Publisher: string(n.id), Kind: kind, ID: id, Version: version, RetainUntil: use.RetainUntil, Usage: string(useJSON),
	}, func(seq uint64) ([]byte, error) {
		e, err := protocol.Seal(n.key, protocol.Envelope{
			Kind: kind, ArtifactID: id, Version: version, Payload: payload, Seq: seq, Created: created, Usage: use,
		})
		if err != nil {
			return nil, err
		}
		return protocol.MarshalEnvelope(e)
	})
	if err != nil {
		return store.Artifact{}, err
	}
	if err := n.audit(auditRecord{Kind: "publish", Artifact: id, Version: version, Reason: kind + " " + use.String()}); err != nil {
		return a, err
	}
	return a, nil
}

// PublishDataset publishes a stored dataset built here: its manifest travels
// as the artifact, its chunks are fetched by the recipients.
func (n *Node) PublishDataset(ctx context.Context, id string) (store.Artifact, error) {
	d, err := n.st.Dataset(id)
	if err != nil {
		return store.Artifact{}, err
	}
	if d.Publisher != "" {
		return store.Artifact{}, fmt.Errorf("dataset %s was received from a peer; only its originator publishes it", id)
	}
	m, err := dataset.DecodeManifest(d.Manifest)
	if err != nil {
		return store.Artifact{}, err
	}
	if old, err := n.st.Artifact(id); err == nil {
		return old, nil // published before: nothing new to announce
	}
	return n.publish(ctx, KindDataset, id, 1, d.Manifest, m.Usage)
}

// IndicatorArtifact is the artifact (and store) id of an indicator as one
// publisher holds it: the indicator's deterministic id, "@", the publisher's
// peer ID. Two members may publish the same indicator; each keeps its own
// version, linked by the common indicator id.
func IndicatorArtifact(indicatorID string, publisher peer.ID) string {
	return indicatorID + "@" + publisher.String()
}

// PublishIndicators stores indicators of ours (under their id) and publishes them (one
// artifact each; a changed indicator is published as a new version that
// replaces the previous one at every recipient). Unchanged ones are skipped.
func (n *Node) PublishIndicators(ctx context.Context, inds []intel.Indicator) (int, error) {
	count := 0
	for _, ind := range inds {
		ok, err := n.publishVersion(ctx, KindIndicator, IndicatorArtifact(ind.ID, n.id), ind.Encode(), ind.Policy, func(payload []byte) error {
			return n.st.PutIndicators(map[string][]byte{ind.ID: payload})
		})
		if err != nil {
			return count, err
		}
		if ok {
			count++
		}
	}
	return count, nil
}

// SightingArtifact is the artifact id of a sighting as one publisher holds
// it: the sighting's stable id, "@", the publisher's peer ID.
func SightingArtifact(sightingID string, publisher peer.ID) string {
	return sightingID + "@" + publisher.String()
}

// PublishSightings publishes sightings of ours under usage policy use (one
// artifact each; a sighting whose count or times changed is published as a
// new version). Unchanged ones are skipped.
func (n *Node) PublishSightings(ctx context.Context, sights []intel.Sighting, use usage.Policy) (int, error) {
	count := 0
	for _, sg := range sights {
		ok, err := n.publishVersion(ctx, KindSighting, SightingArtifact(sg.ID, n.id), sg.Encode(), use, nil)
		if err != nil {
			return count, err
		}
		if ok {
			count++
		}
	}
	return count, nil
}

// publishVersion publishes payload as the next version of our artifact aid,
// after keep (when set) stored it; it reports false and does nothing when
// the newest version holds the same payload.
func (n *Node) publishVersion(ctx context.Context, kind, aid string, payload []byte, use usage.Policy, keep func([]byte) error) (bool, error) {
	version := uint64(1)
	if old, err := n.st.Artifact(aid); err == nil {
		prev, err := protocol.UnmarshalEnvelope(old.Envelope)
		if err == nil && bytes.Equal(prev.Payload, payload) {
			return false, nil
		}
		version = old.Version + 1
	}
	if keep != nil {
		if err := keep(payload); err != nil {
			return false, err
		}
	}
	_, err := n.publish(ctx, kind, aid, version, payload, use)
	return err == nil, err
}

// Revoke publishes a signed tombstone for an artifact of ours and deletes it
// here; recipients delete their copies and refuse it afterwards.
func (n *Node) Revoke(ctx context.Context, id, reason string) error {
	a, err := n.st.Artifact(id)
	if err != nil {
		return err
	}
	if !a.Local {
		return fmt.Errorf("artifact %s was published by %s; only its originator can revoke it", id, peer.ID(a.Publisher))
	}
	ta, err := n.publishTombstone(ctx, id, reason)
	if err != nil {
		return err
	}
	return n.removeArtifact(id, ta.Envelope)
}

// publishTombstone publishes our signed notice that artifact id is ended.
// Its id names the artifact, the reason and us, so that notices of
// different members about one artifact never collide.
func (n *Node) publishTombstone(ctx context.Context, id, reason string) (store.Artifact, error) {
	payload, _ := json.Marshal(tombstone{Artifact: id, Reason: reason})
	h := sha256.New()
	h.Write([]byte(n.id))
	h.Write(payload)
	tid := "tomb-" + hex.EncodeToString(h.Sum(nil)[:8])
	return n.publish(ctx, KindTombstone, tid, 1, payload, usage.Policy{TLP: usage.Green, Reshare: usage.ReshareCommunity})
}

// payloadOf decodes an envelope's payload into what the store keeps of it,
// so that nothing is written for a payload that does not decode.
func (n *Node) payloadOf(e protocol.Envelope) (store.Payload, *dataset.Manifest, error) {
	switch e.Kind {
	case KindDataset:
		m, err := dataset.DecodeManifest(e.Payload)
		if err != nil {
			return store.Payload{}, nil, fmt.Errorf("%w: dataset manifest: %v", protocol.ErrMalformed, err)
		}
		// The manifest's id names this recipient's version of the dataset
		// (its domain and minimisation); the artifact id names the dataset.
		return store.Payload{Dataset: &store.Dataset{ID: m.ID, Manifest: e.Payload, Publisher: string(e.Publisher)}}, &m, nil
	case KindIndicator:
		ind, err := intel.DecodeIndicator(e.Payload)
		if err != nil {
			return store.Payload{}, nil, fmt.Errorf("%w: indicator: %v", protocol.ErrMalformed, err)
		}
		if aid := IndicatorArtifact(ind.ID, e.Publisher); aid != e.ArtifactID {
			return store.Payload{}, nil, fmt.Errorf("%w: indicator %s announced as %s", protocol.ErrMalformed, aid, e.ArtifactID)
		}
		return store.Payload{Indicators: map[string][]byte{e.ArtifactID: e.Payload}}, nil, nil
	case KindSighting:
		sg, err := intel.DecodeSighting(e.Payload)
		if err != nil {
			return store.Payload{}, nil, fmt.Errorf("%w: sighting: %v", protocol.ErrMalformed, err)
		}
		if aid := SightingArtifact(sg.ID, e.Publisher); aid != e.ArtifactID {
			return store.Payload{}, nil, fmt.Errorf("%w: sighting %s announced as %s", protocol.ErrMalformed, aid, e.ArtifactID)
		}
		return store.Payload{Sightings: map[string][]byte{e.ArtifactID: e.Payload}}, nil, nil
	}
	return store.Payload{}, nil, fmt.Errorf("%w: unknown artifact kind %q", protocol.ErrMalformed, e.Kind)
}

// removeArtifact deletes an artifact and what it stored (dataset and chunks,
// indicator), and marks it erased so that it is refused if it comes again.
func (n *Node) removeArtifact(id string, notice []byte) error {
	a, err := n.st.Artifact(id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil {
		switch a.Kind {
		case KindDataset:
			err = n.deleteDatasetAndVersions(datasetIDOf(a))
		case KindIndicator:
			err = n.st.DeleteIntel(id)
			if own, ok := strings.CutSuffix(id, "@"+n.id.String()); ok && errors.Is(err, store.ErrNotFound) {
				err = n.st.DeleteIntel(own)
			}
		case KindSighting:
			// A received sighting is stored under its artifact id; ours
			// under its own id.
			err = n.st.DeleteSighting(id)
			if own, ok := strings.CutSuffix(id, "@"+n.id.String()); ok && err == nil {
				err = n.st.DeleteSighting(own)
			}
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if _, err := n.st.DeleteArtifact(id, notice); err != nil {
		return err
	}
	// What we no longer hold we no longer forward.
	_, err = n.st.DeleteArtifact(protocol.ForwardID(id), nil)
	return err
}

// deleteDatasetAndVersions deletes a dataset and the versions built from it
// for recipients.
func (n *Node) deleteDatasetAndVersions(id string) error {
	ds, err := n.st.Datasets()
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Base == id {
			if err := n.st.DeleteDataset(d.ID, chunkHashes); err != nil {
				return err
			}
		}
	}
	n.vars.forget(id)
	return n.st.DeleteDataset(id, chunkHashes)
}

// datasetIDOf is the id of the dataset version a dataset artifact carries.
func datasetIDOf(a store.Artifact) string {
	if e, err := protocol.UnmarshalEnvelope(a.Envelope); err == nil {
		if m, err := dataset.DecodeManifest(e.Payload); err == nil {
			return m.ID
		}
	}
	return a.ID
}

func chunkHashes(manifest []byte) ([]string, error) {
	m, err := dataset.DecodeManifest(manifest)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(m.Chunks))
	for i, c := range m.Chunks {
		out[i] = c.Hash
	}
	return out, nil
}

// fetchJob is a received dataset whose chunks are to be fetched.
type fetchJob struct {
	publisher peer.ID // the member to fetch from
	artifact  string  // the dataset's artifact ID
	manifest  dataset.Manifest
}

func (n *Node) queueFetch(j fetchJob) {
	select {
	case n.fetches <- j:
	default:
		n.log.Warn("fetch queue full; the dataset's chunks are fetched at the next sync", "dataset", j.manifest.ID)
	}
}

func (n *Node) fetchWorker(ctx context.Context) {
	serve(ctx, n.closed, n.fetches, func(j fetchJob) {
		if err := n.fetchDataset(ctx, j); err != nil && ctx.Err() == nil {
			n.log.Warn("fetching dataset", "dataset", j.manifest.ID, "err", err)
		}
	})
}

// fetchDataset fetches the chunks of a received dataset that are not stored
// yet, each verified against its hash.
func (n *Node) fetchDataset(ctx context.Context, j fetchJob) error {
	for _, c := range j.manifest.Chunks {
		if ok, _ := n.st.HasChunk(c.Hash); ok {
			continue
		}
		var buf bytes.Buffer
		if _, err := n.svc.Fetch(ctx, j.publisher, c.Hash, &buf, 0); err != nil {
			return fmt.Errorf("chunk %s: %w", c.Hash, err)
		}
		if err := n.st.PutChunk(store.Chunk{Hash: c.Hash, Data: buf.Bytes()}); err != nil {
			return err
		}
		n.stats.chunkBytes.Add(uint64(buf.Len()))
	}
	n.log.Info("dataset complete", "dataset", j.manifest.ID, "records", j.manifest.Records, "from", j.publisher.String())
	// A complete dataset may go on (resharing).
	a, err := n.st.Artifact(j.artifact)
	if err != nil {
		return nil // erased meanwhile
	}
	return n.ensureForward(a)
}

// resumeFetches queues the received datasets that still miss chunks.
func (n *Node) resumeFetches() {
	infos, err := Datasets(n.st)
	if err != nil {
		n.log.Warn("listing datasets", "err", err)
		return
	}
	// The chunks come from the member the manifest came from.
	from := map[string]store.Artifact{}
	err = n.st.Artifacts(func(a store.Artifact) error {
		if a.Kind == KindDataset && !a.Local && a.From != "" {
			if e, err := protocol.UnmarshalEnvelope(a.Envelope); err == nil {
				if m, err := dataset.DecodeManifest(e.Payload); err == nil {
					from[m.ID] = a
				}
			}
		}
		return nil
	})
	if err != nil {
		n.log.Warn("listing artifacts", "err", err)
	}
	for _, d := range infos {
		if d.Publisher != "" && !d.Complete() {
			a, ok := from[d.Manifest.ID]
			if !ok {
				continue // its artifact is gone: nothing to complete
			}
			n.queueFetch(fetchJob{publisher: peer.ID(a.From), artifact: a.ID, manifest: d.Manifest})
		}
	}
}

// memberOrgs maps the members' peer IDs (text form) to their
// organisations as listed here; empty if the list cannot be read.
func memberOrgs(st *store.Store) map[string]string {
	orgs := map[string]string{}
	if members, err := st.Peers(); err == nil {
		for _, m := range members {
			orgs[peer.ID(m.ID).String()] = m.Org
		}
	}
	return orgs
}
