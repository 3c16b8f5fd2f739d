package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/usage"
)

// ErrNotRunning is returned by Dial when no node runs on the data directory.
var ErrNotRunning = errors.New("no node is running on this data directory")

// adminToken returns the data directory's admin token, creating it (32 random
// bytes, hex, mode 0600) when missing.
func adminToken(dir string) (string, error) {
	path := filepath.Join(dir, AdminTokenFile)
	b, err := os.ReadFile(path)
	if err == nil && len(bytes.TrimSpace(b)) >= 32 {
		return string(bytes.TrimSpace(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading admin token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

// startAdmin serves the admin API and /metrics on the configured loopback
// address and writes that address to admin.addr.
func (n *Node) startAdmin(ctx context.Context) (string, error) {
	host, _, err := net.SplitHostPort(n.cfg.Admin)
	if err != nil {
		return "", fmt.Errorf("%w: admin %q: %v", ErrConfig, n.cfg.Admin, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%w: admin address %q must be on loopback (127.0.0.1 or ::1)", ErrConfig, n.cfg.Admin)
	}
	tok, err := adminToken(n.dir)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", n.cfg.Admin)
	if err != nil {
		return "", fmt.Errorf("admin API: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister((*metricsCollector)(n))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/status", serveJSON(n.Status))
	mux.HandleFunc("GET /v1/peers", n.apiPeers)
	mux.HandleFunc("POST /v1/peers", n.apiAddPeer)
	mux.HandleFunc("DELETE /v1/peers/{id}", n.apiRemovePeer)
	mux.HandleFunc("GET /v1/datasets", serveJSON(func() ([]DatasetInfo, error) { return Datasets(n.st) }))
	mux.HandleFunc("POST /v1/datasets", n.apiBuildDataset)
	mux.HandleFunc("GET /v1/datasets/{id}", n.apiDataset)
	mux.HandleFunc("POST /v1/publish", n.apiPublish)
	mux.HandleFunc("POST /v1/sync", n.apiSync)
	mux.HandleFunc("POST /v1/erase", n.apiErase)
	mux.HandleFunc("GET /v1/erase", serveJSON(func() ([]ErasureStatus, error) { return EraseStatus(n.st) }))
	mux.HandleFunc("GET /v1/audit", serveJSON(func() ([]policy.AuditEntry, error) { return AuditLog(n.st) }))
	mux.HandleFunc("GET /v1/artifacts", serveJSON(func() ([]ArtifactInfo, error) { return Artifacts(n.st) }))
	mux.HandleFunc("POST /v1/policy", n.apiApplyPolicy)
	mux.HandleFunc("POST /v1/intel", n.apiIntel)
	mux.HandleFunc("POST /v1/ingest", n.apiIngest)
	srv := &http.Server{Handler: authorize(tok, mux), ReadHeaderTimeout: 10 * time.Second}
	addr := ln.Addr().String()
	if err := writeFileAtomic(filepath.Join(n.dir, AdminAddrFile), []byte(addr+"\n"), 0o600); err != nil {
		ln.Close()
		return "", err
	}
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("admin API stopped", "err", err)
		}
	}()
	go func() {
		defer n.wg.Done()
		select {
		case <-ctx.Done():
		case <-n.closed:
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return addr, nil
}

// authorize requires the bearer token on every request.
func authorize(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			http.Error(w, `{"error":"missing or wrong bearer token (see admin.token in the data directory)"}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveJSON answers a GET with what get returns.
func serveJSON[T any](get func() (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		v, err := get()
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, v)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Status is what the node reports about itself.
type Status struct {
	Peer      string       `json:"peer"`
	Org       string       `json:"org"`
	Addrs     []string     `json:"addrs"`
	Head      uint64       `json:"head"`
	Peers     []PeerStatus `json:"peers"`
	Datasets  int          `json:"datasets"`
	Artifacts int          `json:"artifacts"`
	Sent      uint64       `json:"sent"`
	Received  uint64       `json:"received"`
	Rejected  uint64       `json:"rejected"`
}

// PeerStatus is a member as the node sees it.
type PeerStatus struct {
	ID        string   `json:"id"`
	Org       string   `json:"org"`
	Groups    []string `json:"groups,omitempty"`
	Addrs     []string `json:"addrs,omitempty"`
	Connected bool     `json:"connected"`
	Cursor    uint64   `json:"cursor"`
	Head      uint64   `json:"head"`
}

// Status reports the node's state.
func (n *Node) Status() (Status, error) {
	s := Status{Peer: n.id.String(), Org: n.cfg.Org, Addrs: n.Addrs(),
		Sent: n.stats.sent.Load(), Received: n.stats.received.Load(), Rejected: n.stats.rejected.Load()}
	var err error
	if s.Head, err = n.st.OwnSeq(); err != nil {
		return s, err
	}
	s.Peers = n.peerStatus()
	ds, err := n.st.Datasets()
	if err != nil {
		return s, err
	}
	s.Datasets = len(ds)
	err = n.st.Artifacts(func(store.Artifact) error { s.Artifacts++; return nil })
	return s, err
}

func (n *Node) peerStatus() []PeerStatus {
	var out []PeerStatus
	for _, m := range n.Members() {
		id := peer.ID(m.ID)
		cur, _ := n.st.Cursor(m.ID)
		n.mu.RLock()
		head := n.heads[id]
		n.mu.RUnlock()
		out = append(out, PeerStatus{ID: id.String(), Org: m.Org, Groups: m.Groups, Addrs: m.Addrs,
			Connected: n.host.Network().Connectedness(id) == 1, Cursor: cur, Head: max(head, cur)})
	}
	return out
}

func (n *Node) apiPeers(w http.ResponseWriter, _ *http.Request) { writeJSON(w, n.peerStatus()) }

// PeerRequest adds a member through the admin API.
type PeerRequest struct {
	ID     string   `json:"id"`
	Org    string   `json:"org"`
	Groups []string `json:"groups,omitempty"`
	Addrs  []string `json:"addrs,omitempty"`
}

func (n *Node) apiAddPeer(w http.ResponseWriter, r *http.Request) {
	var req PeerRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	id, err := peer.Decode(req.ID)
	if err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("peer ID %q: %w", req.ID, err))
		return
	}
	if err := n.AddPeer(store.Peer{ID: string(id), Org: req.Org, Groups: req.Groups, Addrs: req.Addrs}); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	n.schedulePull(id)
	writeJSON(w, map[string]string{"added": id.String()})
}

func (n *Node) apiRemovePeer(w http.ResponseWriter, r *http.Request) {
	id, err := peer.Decode(r.PathValue("id"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if err := n.RemovePeer(id); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, store.ErrNotFound) {
			code = http.StatusNotFound
		}
		writeErr(w, code, err)
		return
	}
	writeJSON(w, map[string]string{"removed": id.String()})
}

// DatasetRequest asks for a dataset build through the admin API.
type DatasetRequest struct {
	Kind    string       `json:"kind"`
	GroupBy []string     `json:"group_by,omitempty"`
	Window  string       `json:"window,omitempty"`
	From    time.Time    `json:"from,omitzero"`
	To      time.Time    `json:"to,omitzero"`
	Labels  []string     `json:"labels,omitempty"`
	K       int          `json:"k,omitempty"`
	DP      *dataset.DP  `json:"dp,omitempty"`
	Usage   usage.Policy `json:"usage"`
	Publish bool         `json:"publish,omitempty"`
}

// Spec turns the request into a build spec.
func (r DatasetRequest) Spec() (dataset.Spec, error) {
	s := dataset.Spec{Kind: dataset.Kind(r.Kind), GroupBy: r.GroupBy, From: r.From, To: r.To, Labels: r.Labels, K: r.K, DP: r.DP, Usage: r.Usage}
	if r.Window != "" {
		d, err := time.ParseDuration(r.Window)
		if err != nil {
			return s, fmt.Errorf("window %q: %w", r.Window, err)
		}
		s.Window = d
	}
	return s, nil
}

func (n *Node) apiBuildDataset(w http.ResponseWriter, r *http.Request) {
	var req DatasetRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	spec, err := req.Spec()
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	m, err := n.BuildDataset(spec)
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	if req.Publish {
		if _, err := n.PublishDataset(r.Context(), m.ID); err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
	}
	writeJSON(w, m)
}

// PublishRequest publishes a stored dataset through the admin API.
type PublishRequest struct {
	Dataset string `json:"dataset"`
}

func (n *Node) apiPublish(w http.ResponseWriter, r *http.Request) {
	var req PublishRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	a, err := n.PublishDataset(r.Context(), req.Dataset)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, store.ErrNotFound) {
			code = http.StatusNotFound
		}
		writeErr(w, code, err)
		return
	}
	writeJSON(w, map[string]any{"artifact": a.ID, "seq": a.Seq})
}

func (n *Node) apiSync(w http.ResponseWriter, r *http.Request) {
	n.Sync(r.Context())
	writeJSON(w, map[string]string{"synced": "ok"})
}

// Client talks to a running node's admin API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Dial returns a client of the node running on dir, or ErrNotRunning.
func Dial(dir string) (*Client, error) {
	addr, err := os.ReadFile(filepath.Join(dir, AdminAddrFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotRunning
	}
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		return nil, fmt.Errorf("reading admin token: %w", err)
	}
	c := &Client{base: "http://" + strings.TrimSpace(string(addr)), token: strings.TrimSpace(string(tok)), http: &http.Client{Timeout: 10 * time.Minute}}
	var s Status
	if err := c.do(context.Background(), "GET", "/v1/status", nil, &s); err != nil {
		var ne net.Error
		if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
			return nil, ErrNotRunning // a stale admin.addr from a killed node
		}
		return nil, err
	}
	return c, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("node: %s", e.Error)
		}
		return fmt.Errorf("node: %s", resp.Status)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Status asks the node for its status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, "GET", "/v1/status", nil, &s)
}

// Peers lists the node's members.
func (c *Client) Peers(ctx context.Context) ([]PeerStatus, error) {
	var ps []PeerStatus
	return ps, c.do(ctx, "GET", "/v1/peers", nil, &ps)
}

// AddPeer lists a member.
func (c *Client) AddPeer(ctx context.Context, p PeerRequest) error {
	return c.do(ctx, "POST", "/v1/peers", p, nil)
}

// RemovePeer removes a member.
func (c *Client) RemovePeer(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/peers/"+id, nil, nil)
}

// Datasets lists the node's datasets.
func (c *Client) Datasets(ctx context.Context) ([]DatasetInfo, error) {
	var ds []DatasetInfo
	return ds, c.do(ctx, "GET", "/v1/datasets", nil, &ds)
}

// BuildDataset builds (and with req.Publish publishes) a dataset.
func (c *Client) BuildDataset(ctx context.Context, req DatasetRequest) (dataset.Manifest, error) {
	var m dataset.Manifest
	return m, c.do(ctx, "POST", "/v1/datasets", req, &m)
}

// Publish publishes a stored dataset.
func (c *Client) Publish(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/v1/publish", PublishRequest{Dataset: id}, nil)
}

// Sync asks the node to pull from every member now.
func (c *Client) Sync(ctx context.Context) error { return c.do(ctx, "POST", "/v1/sync", nil, nil) }

// Metrics fetches the Prometheus exposition text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// DatasetContent is a dataset as the admin API returns it.
type DatasetContent struct {
	Manifest []byte `json:"manifest"`
	Content  []byte `json:"content,omitempty"`
}

func (n *Node) apiDataset(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var out DatasetContent
	if r.URL.Query().Get("content") == "1" {
		m, content, err := LoadDataset(n.st, id)
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, store.ErrNotFound) {
				code = http.StatusNotFound
			}
			writeErr(w, code, err)
			return
		}
		out = DatasetContent{Manifest: m.Encode(), Content: content}
	} else {
		d, err := n.st.Dataset(id)
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, store.ErrNotFound) {
				code = http.StatusNotFound
			}
			writeErr(w, code, err)
			return
		}
		out.Manifest = d.Manifest
	}
	writeJSON(w, out)
}

// Dataset fetches a dataset's manifest, and its content when withContent.
func (c *Client) Dataset(ctx context.Context, id string, withContent bool) (dataset.Manifest, []byte, error) {
	q := ""
	if withContent {
		q = "?content=1"
	}
	var out DatasetContent
	if err := c.do(ctx, "GET", "/v1/datasets/"+id+q, nil, &out); err != nil {
		return dataset.Manifest{}, nil, err
	}
	m, err := dataset.DecodeManifest(out.Manifest)
	return m, out.Content, err
}

func (n *Node) apiErase(w http.ResponseWriter, r *http.Request) {
	var req EraseRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	res, err := n.Erase(r.Context(), req)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNothingToErase) {
			code = http.StatusNotFound
		}
		writeErr(w, code, err)
		return
	}
	writeJSON(w, res)
}

// ArtifactInfo is a stored artifact as the admin API lists it; peers are in
// their text form.
type ArtifactInfo struct {
	ID          string      `json:"id"`
	Kind        string      `json:"kind"`
	Version     uint64      `json:"version"`
	Seq         uint64      `json:"seq"`
	Publisher   string      `json:"publisher"`
	From        string      `json:"from,omitempty"`
	Local       bool        `json:"local"`
	RetainUntil time.Time   `json:"retain_until,omitzero"`
	Usage       string      `json:"usage"`
	Envelope    []byte      `json:"envelope"`
	Recipients  []Recipient `json:"recipients,omitempty"`
}

// Recipient is a peer that acknowledged an artifact with a signed receipt.
type Recipient struct {
	Peer    string    `json:"peer"`
	Version uint64    `json:"version"`
	At      time.Time `json:"at"`
}

// Artifacts lists the stored artifacts with their recipients.
func Artifacts(st *store.Store) ([]ArtifactInfo, error) {
	var out []ArtifactInfo
	err := st.Artifacts(func(a store.Artifact) error {
		ds, err := st.Recipients(a.ID)
		if err != nil {
			return err
		}
		ai := ArtifactInfo{ID: a.ID, Kind: a.Kind, Version: a.Version, Seq: a.Seq, Publisher: peer.ID(a.Publisher).String(),
			Local: a.Local, RetainUntil: a.RetainUntil, Usage: a.Usage, Envelope: a.Envelope}
		if a.From != "" {
			ai.From = peer.ID(a.From).String()
		}
		for _, d := range ds {
			ai.Recipients = append(ai.Recipients, Recipient{Peer: peer.ID(d.Peer).String(), Version: d.Version, At: d.At})
		}
		out = append(out, ai)
		return nil
	})
	return out, err
}

// Policy describes the artifact for a policy decision under pol (nil when
// none is in force); members give the organisation of its publisher. A
// received artifact is described with the usage policy kept for it and, for
// forwarding it, the groups in pol of the member it came from.
func (a ArtifactInfo) Policy(pol *policy.Policy, members []store.Peer) (policy.Artifact, error) {
	e, err := protocol.UnmarshalEnvelope(a.Envelope)
	if err != nil {
		return policy.Artifact{}, fmt.Errorf("artifact %s: %w", a.ID, err)
	}
	org := ""
	for _, m := range members {
		if peer.ID(m.ID).String() == a.Publisher {
			org = m.Org
		}
	}
	pa := envelopeArtifact(&e, a.Local, org)
	if a.Local {
		return pa, nil
	}
	if err := json.Unmarshal([]byte(a.Usage), &pa.Usage); err != nil {
		return policy.Artifact{}, fmt.Errorf("artifact %s: usage policy: %w", a.ID, err)
	}
	if pol != nil {
		if m, ok := pol.Peer(a.From); ok {
			pa.ReceivedVia = m.Groups
		}
	}
	return pa, nil
}

// Shareable lists what a node holding arts could send, described for policy
// decisions under pol: the artifacts it published and those it received
// (which go on only as their usage policy and the rules allow). Erasure
// notices are not among them: they go to whoever received the artifact they
// end, whatever the rules say. Forwarding envelopes are described by the
// received artifacts they carry.
func Shareable(arts []ArtifactInfo, pol *policy.Policy, members []store.Peer) []policy.Artifact {
	var out []policy.Artifact
	for _, a := range arts {
		if a.Kind == KindForward || a.Kind == KindTombstone {
			continue
		}
		if pa, err := a.Policy(pol, members); err == nil {
			out = append(out, pa)
		}
	}
	return out
}

// PolicyRequest applies a sharing policy through the admin API.
type PolicyRequest struct {
	Name   string `json:"name"`
	Source []byte `json:"source"`
}

func (n *Node) apiApplyPolicy(w http.ResponseWriter, r *http.Request) {
	var req PolicyRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	v, err := n.ApplyPolicy(req.Name, req.Source)
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, err)
		return
	}
	writeJSON(w, map[string]string{"version": v})
}

// Erase asks the node to erase.
func (c *Client) Erase(ctx context.Context, req EraseRequest) (EraseResult, error) {
	var res EraseResult
	return res, c.do(ctx, "POST", "/v1/erase", req, &res)
}

// EraseStatus lists the erasure notices and their acknowledgements.
func (c *Client) EraseStatus(ctx context.Context) ([]ErasureStatus, error) {
	var s []ErasureStatus
	return s, c.do(ctx, "GET", "/v1/erase", nil, &s)
}

// Audit reads the audit chain.
func (c *Client) Audit(ctx context.Context) ([]policy.AuditEntry, error) {
	var log []policy.AuditEntry
	return log, c.do(ctx, "GET", "/v1/audit", nil, &log)
}

// Artifacts lists the stored artifacts with their recipients.
func (c *Client) Artifacts(ctx context.Context) ([]ArtifactInfo, error) {
	var out []ArtifactInfo
	return out, c.do(ctx, "GET", "/v1/artifacts", nil, &out)
}

// ApplyPolicy puts a policy in force on the running node.
func (c *Client) ApplyPolicy(ctx context.Context, name string, src []byte) (string, error) {
	var out map[string]string
	err := c.do(ctx, "POST", "/v1/policy", PolicyRequest{Name: name, Source: src}, &out)
	return out["version"], err
}

// IngestRequest ingests captures (paths on the node's machine).
type IngestRequest struct {
	Files []string `json:"files"`
}

// IngestResponse reports an ingest through the admin API.
type IngestResponse struct {
	KeyID   string         `json:"key_id"`
	Results []IngestResult `json:"results"`
	// Errors holds, by index into Results, the error of a file that could
	// not be ingested (errors do not travel as JSON).
	Errors map[int]string `json:"errors,omitempty"`
}

func (n *Node) apiIngest(w http.ResponseWriter, r *http.Request) {
	var req IngestRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if len(req.Files) == 0 {
		writeErr(w, http.StatusBadRequest, errors.New("no capture files given"))
		return
	}
	res, keyID, err := n.ingest(r.Context(), req.Files)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err)
		return
	}
	resp := IngestResponse{KeyID: keyID, Results: res, Errors: map[int]string{}}
	for i, r := range res {
		if r.Err != nil {
			resp.Errors[i] = r.Err.Error()
		}
	}
	writeJSON(w, resp)
}

// Ingest asks the node to ingest captures.
func (c *Client) Ingest(ctx context.Context, files []string) (IngestResponse, error) {
	var resp IngestResponse
	err := c.do(ctx, "POST", "/v1/ingest", IngestRequest{Files: files}, &resp)
	for i, msg := range resp.Errors {
		if i >= 0 && i < len(resp.Results) {
			resp.Results[i].Err = errors.New(msg)
		}
	}
	return resp, err
}
