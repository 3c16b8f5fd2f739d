package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// C19 (shared/cases/C19-scenario.json): elsewhere a sender closed its stream
// right after writing and the receiver got a truncated artifact, and
// resource-manager refusals surfaced as bare resets that lost data.
const (
	c19Size   = 4194307
	c19SHA256 = "895f5c8bffde3e96961ff7f1ba6f5fe37eb2efb049cbf5f86a4305c0a1689c3d"
	c19Copies = 64
)

// c19Artifact generates the artifact bytes: i % 251.
func c19Artifact() []byte {
	b := make([]byte, c19Size)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// c19Scenario cross-checks the constants against the case file when present.
func c19Scenario(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "cases", "C19-scenario.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("%s absent; using the scenario as described", path)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Artifact struct {
			Size   int    `json:"size_bytes"`
			SHA256 string `json:"sha256"`
		} `json:"artifact"`
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if sc.Artifact.Size != c19Size || sc.Artifact.SHA256 != c19SHA256 {
		t.Fatalf("%s names %d bytes with sha256 %s, the test uses %d and %s", path, sc.Artifact.Size, sc.Artifact.SHA256, c19Size, c19SHA256)
	}
}

func TestC19ConcurrentFetchUnderStreamLimits(t *testing.T) {
	c19Scenario(t)
	art := c19Artifact()
	if sum := sha256.Sum256(art); hex.EncodeToString(sum[:]) != c19SHA256 {
		t.Fatalf("generated artifact has sha256 %x, want %s", sum, c19SHA256)
	}
	perPeer8 := &rcmgr.PartialLimitConfig{PeerDefault: rcmgr.ResourceLimits{
		Streams: 8, StreamsInbound: 8, StreamsOutbound: 8,
	}}
	for _, transport := range []string{"tcp", "quic"} {
		for _, lim := range []struct {
			name   string
			limits *rcmgr.PartialLimitConfig
		}{{"default-limits", nil}, {"peer-streams-8", perPeer8}} {
			t.Run(transport+"/"+lim.name, func(t *testing.T) {
				c19Run(t, art, transport == "quic", lim.limits)
			})
		}
	}
}

func c19Run(t *testing.T, art []byte, useQUIC bool, limits *rcmgr.PartialLimitConfig) {
	ms := newMembership()
	orgA := newNode(t, ms, nodeOpts{quic: useQUIC, limits: limits, cfg: Config{Org: "ORG-A"}})
	orgB := newNode(t, ms, nodeOpts{quic: useQUIC, limits: limits, cfg: Config{Org: "ORG-B"}})
	addrs := orgA.h.Addrs()
	if useQUIC {
		addrs = quicOnly(orgA.h.Addrs())
		if len(addrs) == 0 {
			t.Fatal("ORG-A has no QUIC address")
		}
	}
	if err := orgB.h.Connect(ctxT(t), peer.AddrInfo{ID: orgA.id, Addrs: addrs}); err != nil {
		t.Fatal(err)
	}
	if _, err := orgB.svc.Hello(ctxT(t), orgA.id); err != nil {
		t.Fatal(err)
	}

	// ORG-A publishes 64 dataset artifacts whose manifests name the chunk.
	orgA.b.chunks[c19SHA256] = art
	for i := range c19Copies {
		manifest := fmt.Sprintf(`{"chunks":["%s"],"size":%d}`, c19SHA256, c19Size)
		orgA.publish(t, KindDataset, fmt.Sprintf("c19-%02d", i), 1, []byte(manifest), usage.Amber)
	}
	ps, err := orgB.svc.Pull(ctxT(t), orgA.id)
	if err != nil || ps.Accepted != c19Copies {
		t.Fatalf("Pull = %+v, %v; want %d accepted", ps, err, c19Copies)
	}

	// With a stream limit, hold the first transfers inside the publisher
	// until a refusal has certainly happened (or 8 are in flight, which
	// forces one), so that the retry path is exercised every run.
	if limits != nil {
		var inFlight atomic.Int32
		release := make(chan struct{})
		var once sync.Once
		orgA.b.chunkHook = func() {
			if inFlight.Add(1) >= 8 {
				once.Do(func() { close(release) })
			}
			for {
				select {
				case <-release:
					return
				case <-time.After(5 * time.Millisecond):
					if orgB.svc.Stats().Retries > 0 {
						once.Do(func() { close(release) })
					}
				}
			}
		}
	}

	var wg sync.WaitGroup
	bufs := make([]bytes.Buffer, c19Copies)
	errs := make([]error, c19Copies)
	ns := make([]int64, c19Copies)
	for i := range c19Copies {
		bufs[i].Grow(c19Size)
		wg.Go(func() {
			ns[i], errs[i] = orgB.svc.Fetch(ctxT(t), orgA.id, c19SHA256, &bufs[i], 0)
		})
	}
	wg.Wait()
	for i := range c19Copies {
		sum := sha256.Sum256(bufs[i].Bytes())
		if errs[i] != nil || ns[i] != c19Size || hex.EncodeToString(sum[:]) != c19SHA256 {
			t.Errorf("fetch %d: %d bytes, sha256 %x, %v", i, ns[i], sum, errs[i])
		}
	}

	// ORG-A holds exactly one verified receipt per artifact envelope and one
	// per chunk transfer, all signed by ORG-B.
	perArtifact := map[string]int{}
	nonces := map[[16]byte]bool{}
	chunkReceipts := 0
	for _, d := range orgA.b.deliveryList() {
		if err := d.r.Verify(); err != nil || d.r.Peer != orgB.id || d.peer != orgB.id {
			t.Errorf("receipt %+v does not verify as ORG-B's: %v", d.r, err)
		}
		if nonces[d.r.Nonce] {
			t.Errorf("receipt nonce %x recorded twice", d.r.Nonce)
		}
		nonces[d.r.Nonce] = true
		if d.r.Chunk != "" {
			chunkReceipts++
			if d.r.Chunk != c19SHA256 || hex.EncodeToString(d.r.Digest[:]) != c19SHA256 || d.r.Upto != c19Size {
				t.Errorf("chunk receipt %+v names the wrong content", d.r)
			}
			continue
		}
		for _, e := range d.envs {
			perArtifact[e.ArtifactID]++
		}
	}
	if chunkReceipts != c19Copies {
		t.Errorf("%d chunk receipts, want %d", chunkReceipts, c19Copies)
	}
	for i := range c19Copies {
		if id := fmt.Sprintf("c19-%02d", i); perArtifact[id] != 1 {
			t.Errorf("artifact %s delivered %d times, want once", id, perArtifact[id])
		}
	}
	sa, sb := orgA.svc.Stats(), orgB.svc.Stats()
	if sa.ChunksSent != c19Copies || sb.ChunksReceived != c19Copies {
		t.Errorf("chunks sent %d, received %d; want %d", sa.ChunksSent, sb.ChunksReceived, c19Copies)
	}
	if limits != nil && sb.Retries == 0 {
		t.Error("no stream was refused and retried under a limit of 8 streams per peer")
	}
	t.Logf("retries %d, bytes out %d MiB", sb.Retries, sa.BytesOut>>20)
}
