package flow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ConfigVersion is the version of the metering rules and of the encoded
// [Config]. It changes whenever a change to this package would make flows of
// the same capture differ (keying, initiator rule, expiry, features), so that
// members compare it along with the settings before merging data.
const ConfigVersion = 1

// MaxSeqLen bounds [Config.SeqLen].
const MaxSeqLen = 1024

// Defaults of the settings that a zero [Config] field stands for.
const (
	DefaultIdleTCP      = 5 * time.Minute
	DefaultIdleUDP      = time.Minute
	DefaultIdleICMP     = time.Minute
	DefaultIdleOther    = time.Minute
	DefaultActive       = 30 * time.Minute
	DefaultLinger       = 5 * time.Second
	DefaultMaxFlows     = 1 << 20
	DefaultFragTimeout  = 30 * time.Second
	DefaultMaxFrags     = 4096
	DefaultSeqLen       = 128
	DefaultLabelPackets = 10
)

// Config holds the settings of a flow [Table]. The zero value of every field
// stands for its default, so Config{} is the default configuration; a
// negative duration or count turns the feature off where its comment says
// so. [Config.Effective] returns the settings with the defaults filled in,
// which is what the encodings (String, MarshalJSON) show: a record of the
// settings used travels with every output, because flows metered under
// different settings must not be merged unnoticed.
type Config struct {
	// MergeVLANs leaves VLAN IDs out of the flow key, so that a flow seen
	// on several VLANs (or on a trunk and an access port) is one flow.
	// By default flows on different VLANs are kept apart: VLANs often
	// separate networks that reuse the same private addresses.
	MergeVLANs bool
	// MergeTunnels leaves the tunnel context (kind, ID and outer
	// addresses of the innermost tunnel) out of the flow key.
	MergeTunnels bool
	// InnerOnly accounts a tunnelled packet to its innermost flow only.
	// By default it is also accounted to the flow of each tunnel that
	// carries it (the outer UDP, GRE or IP-in-IP flow, marked by
	// Flow.Carries), as Zeek logs the outer connections of its tunnels.
	InnerOnly bool

	// IdleTCP, IdleUDP, IdleICMP and IdleOther end a flow of that protocol
	// after this long without a packet. Negative: never.
	IdleTCP, IdleUDP, IdleICMP, IdleOther time.Duration
	// Active ends a flow record this long after its first packet even
	// while packets keep coming; the flow continues in a new record
	// (Flow.Continued). Negative: never.
	Active time.Duration
	// Linger keeps a TCP flow this long after its last packet once it has
	// been closed (a FIN from each side, a RST, or a FIN answered by
	// nothing), so that the final ACKs and retransmitted FINs are counted
	// in it instead of starting a new flow. Negative: no linger.
	Linger time.Duration
	// MaxFlows bounds the flows held at once. When it is reached the
	// flow idle the longest is ended with reason [EndEvicted].
	MaxFlows int
	// FragTimeout is how long a fragmented IP datagram is remembered for
	// attributing its fragments to its flow. Negative: until MaxFrags
	// forces it out.
	FragTimeout time.Duration
	// MaxFrags bounds the fragmented datagrams remembered at once.
	MaxFrags int

	// SeqLen is the number of packets of each flow recorded in Flow.Seq,
	// at most MaxSeqLen. Negative: no sequence.
	SeqLen int
	// LabelPackets is the number of payload-bearing packets per direction
	// shown to the protocol labeler. Negative: no labels.
	LabelPackets int
}

// Effective returns c with every zero field replaced by its default and
// every negative one by -1 (off), the form used by the encodings.
func (c Config) Effective() Config {
	dur := func(d *time.Duration, def time.Duration) {
		switch {
		case *d == 0:
			*d = def
		case *d < 0:
			*d = -1
		}
	}
	num := func(n *int, def int) {
		switch {
		case *n == 0:
			*n = def
		case *n < 0:
			*n = -1
		}
	}
	dur(&c.IdleTCP, DefaultIdleTCP)
	dur(&c.IdleUDP, DefaultIdleUDP)
	dur(&c.IdleICMP, DefaultIdleICMP)
	dur(&c.IdleOther, DefaultIdleOther)
	dur(&c.Active, DefaultActive)
	dur(&c.Linger, DefaultLinger)
	dur(&c.FragTimeout, DefaultFragTimeout)
	num(&c.SeqLen, DefaultSeqLen)
	num(&c.LabelPackets, DefaultLabelPackets)
	if c.MaxFlows == 0 {
		c.MaxFlows = DefaultMaxFlows
	}
	if c.MaxFrags == 0 {
		c.MaxFrags = DefaultMaxFrags
	}
	return c
}

// Validate reports a setting that cannot be used, wrapping [ErrConfig].
func (c Config) Validate() error {
	switch {
	case c.MaxFlows < 0:
		return fmt.Errorf("%w: max_flows %d is negative", ErrConfig, c.MaxFlows)
	case c.MaxFrags < 0:
		return fmt.Errorf("%w: max_frags %d is negative", ErrConfig, c.MaxFrags)
	case c.SeqLen > MaxSeqLen:
		return fmt.Errorf("%w: seq_len %d is above %d", ErrConfig, c.SeqLen, MaxSeqLen)
	case c.LabelPackets > 255:
		return fmt.Errorf("%w: label_packets %d is above 255", ErrConfig, c.LabelPackets)
	}
	return nil
}

// configJSON is the encoded form of a Config. Its field order is the order
// of the encodings and must not change within a ConfigVersion.
type configJSON struct {
	Version      int    `json:"version"`
	MergeVLANs   bool   `json:"merge_vlans"`
	MergeTunnels bool   `json:"merge_tunnels"`
	InnerOnly    bool   `json:"inner_only"`
	IdleTCP      string `json:"idle_tcp"`
	IdleUDP      string `json:"idle_udp"`
	IdleICMP     string `json:"idle_icmp"`
	IdleOther    string `json:"idle_other"`
	Active       string `json:"active"`
	Linger       string `json:"linger"`
	MaxFlows     int    `json:"max_flows"`
	FragTimeout  string `json:"frag_timeout"`
	MaxFrags     int    `json:"max_frags"`
	SeqLen       int    `json:"seq_len"`
	LabelPackets int    `json:"label_packets"`
}

// fmtDur encodes a duration setting: "off" when disabled.
func fmtDur(d time.Duration) string {
	if d < 0 {
		return "off"
	}
	return d.String()
}

// parseDur decodes what fmtDur wrote; an empty string is the default.
func parseDur(name, s string) (time.Duration, error) {
	switch s {
	case "":
		return 0, nil
	case "off":
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: %s %q is not positive (use \"off\")", ErrConfig, name, s)
	}
	return d, nil
}

func (c Config) encoded() configJSON {
	e := c.Effective()
	return configJSON{
		Version:      ConfigVersion,
		MergeVLANs:   e.MergeVLANs,
		MergeTunnels: e.MergeTunnels,
		InnerOnly:    e.InnerOnly,
		IdleTCP:      fmtDur(e.IdleTCP),
		IdleUDP:      fmtDur(e.IdleUDP),
		IdleICMP:     fmtDur(e.IdleICMP),
		IdleOther:    fmtDur(e.IdleOther),
		Active:       fmtDur(e.Active),
		Linger:       fmtDur(e.Linger),
		MaxFlows:     e.MaxFlows,
		FragTimeout:  fmtDur(e.FragTimeout),
		MaxFrags:     e.MaxFrags,
		SeqLen:       e.SeqLen,
		LabelPackets: e.LabelPackets,
	}
}

// MarshalJSON encodes the effective settings as one JSON object with a fixed
// field order and a "version" field (ConfigVersion); durations are Go
// duration strings, "off" when disabled.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.encoded())
}

// UnmarshalJSON decodes what MarshalJSON wrote. Missing fields take their
// defaults; unknown fields and other versions are refused with [ErrConfig].
func (c *Config) UnmarshalJSON(data []byte) error {
	var e configJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if e.Version != 0 && e.Version != ConfigVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrConfig, e.Version, ConfigVersion)
	}
	var n Config
	n.MergeVLANs, n.MergeTunnels, n.InnerOnly = e.MergeVLANs, e.MergeTunnels, e.InnerOnly
	for _, f := range []struct {
		name string
		s    string
		d    *time.Duration
	}{
		{"idle_tcp", e.IdleTCP, &n.IdleTCP}, {"idle_udp", e.IdleUDP, &n.IdleUDP},
		{"idle_icmp", e.IdleICMP, &n.IdleICMP}, {"idle_other", e.IdleOther, &n.IdleOther},
		{"active", e.Active, &n.Active}, {"linger", e.Linger, &n.Linger},
		{"frag_timeout", e.FragTimeout, &n.FragTimeout},
	} {
		d, err := parseDur(f.name, f.s)
		if err != nil {
			return err
		}
		*f.d = d
	}
	n.MaxFlows, n.MaxFrags, n.SeqLen, n.LabelPackets = e.MaxFlows, e.MaxFrags, e.SeqLen, e.LabelPackets
	if err := n.Validate(); err != nil {
		return err
	}
	*c = n
	return nil
}

// ParseConfig decodes a configuration encoded by [Config.MarshalJSON].
func ParseConfig(data []byte) (Config, error) {
	var c Config
	err := c.UnmarshalJSON(data)
	return c, err
}

// String returns the effective settings on one line, in the field order of
// the JSON encoding: "flow/v1 merge_vlans=false ... label_packets=10".
func (c Config) String() string {
	e := c.encoded()
	var sb strings.Builder
	sb.WriteString("flow/v")
	sb.WriteString(strconv.Itoa(e.Version))
	kv := func(k, v string) {
		sb.WriteByte(' ')
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(v)
	}
	kv("merge_vlans", strconv.FormatBool(e.MergeVLANs))
	kv("merge_tunnels", strconv.FormatBool(e.MergeTunnels))
	kv("inner_only", strconv.FormatBool(e.InnerOnly))
	kv("idle_tcp", e.IdleTCP)
	kv("idle_udp", e.IdleUDP)
	kv("idle_icmp", e.IdleICMP)
	kv("idle_other", e.IdleOther)
	kv("active", e.Active)
	kv("linger", e.Linger)
	kv("max_flows", strconv.Itoa(e.MaxFlows))
	kv("frag_timeout", e.FragTimeout)
	kv("max_frags", strconv.Itoa(e.MaxFrags))
	kv("seq_len", strconv.Itoa(e.SeqLen))
	kv("label_packets", strconv.Itoa(e.LabelPackets))
	return sb.String()
}

// Digest returns 16 hex digits identifying the effective settings: the start
// of the SHA-256 of String. Two outputs with equal digests were metered alike.
func (c Config) Digest() string {
	sum := sha256.Sum256([]byte(c.String()))
	return hex.EncodeToString(sum[:8])
}
