package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowfed/flowfed/internal/fsutil"
)

// ConfigVersion is the version of the config file format this flowfed reads.
const ConfigVersion = 1

// ConfigFile is the config file's name in the data directory.
const ConfigFile = "config.yaml"

// Config is a node's settings: one YAML file in the data directory. Unknown
// keys are rejected; every field has a documented default (DefaultConfig), and
// command-line flags override it.
type Config struct {
	// Version is the format version (1).
	Version int `yaml:"version"`
	// Org names this member's organisation, shown to peers in the handshake.
	Org string `yaml:"org"`
	// Federation names the federation; peers of another federation are refused.
	Federation string `yaml:"federation"`
	// Listen are the libp2p listen addresses (default /ip4/127.0.0.1/tcp/0).
	Listen []string `yaml:"listen"`
	// QUIC adds a QUIC listener beside TCP (not with a pre-shared key).
	QUIC bool `yaml:"quic"`
	// PSKFile names a file holding the federation's pre-shared key (64 hex
	// digits); with it the node runs a private network, over TCP only.
	PSKFile string `yaml:"psk_file"`
	// Admin is the admin API's listen address; it must be on loopback
	// (default 127.0.0.1:0, an ephemeral port written to admin.addr).
	Admin string `yaml:"admin"`
	// Pseudonymization algorithm for ingested addresses: cryptopan (default)
	// or another prefix-preserving mode of flowfed pseudo.
	PseudoMode string `yaml:"pseudo_mode"`
	// SyncInterval is the period of the anti-entropy pull from every peer
	// (default 30s), so that nothing is lost when a notify is missed.
	SyncInterval Duration `yaml:"sync_interval"`
	// RetentionInterval is the period of the retention reaper (default 1h).
	RetentionInterval Duration `yaml:"retention_interval"`
	// KeyRetention is how long an epoch key is kept after its epoch ended;
	// the reaper then crypto-shreds it, so its pseudonyms can no longer be
	// reversed by anyone (0, the default: keep until shredded by hand).
	KeyRetention Duration `yaml:"key_retention"`
	// StreamTimeout bounds every protocol stream (default 30s).
	StreamTimeout Duration `yaml:"stream_timeout"`
	// PolicyFile names the sharing policy (YAML, see `flowfed policy check`);
	// without one, members receive TLP:CLEAR, GREEN and AMBER artifacts.
	PolicyFile string `yaml:"policy_file"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `yaml:"log_level"`
}

// Duration is a time.Duration written as "30s" in the config file.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 30s or 5m)", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// DefaultConfig returns the defaults of every setting.
func DefaultConfig() Config {
	return Config{
		Version:           ConfigVersion,
		Org:               "",
		Federation:        "flowfed",
		Listen:            []string{"/ip4/127.0.0.1/tcp/0"},
		Admin:             "127.0.0.1:0",
		PseudoMode:        "cryptopan",
		SyncInterval:      Duration(30 * time.Second),
		RetentionInterval: Duration(time.Hour),
		StreamTimeout:     Duration(30 * time.Second),
		LogLevel:          "info",
	}
}

// ErrConfig is wrapped by every config error.
var ErrConfig = errors.New("invalid config")

// ParseConfig reads a config file's bytes over the defaults.
func ParseConfig(name string, b []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// Validate checks the settings.
func (c Config) Validate() error {
	if c.Version != ConfigVersion {
		return fmt.Errorf("%w: version %d (this flowfed reads version %d)", ErrConfig, c.Version, ConfigVersion)
	}
	if c.Federation == "" {
		return fmt.Errorf("%w: federation must be set", ErrConfig)
	}
	if len(c.Listen) == 0 {
		return fmt.Errorf("%w: listen needs at least one address", ErrConfig)
	}
	if c.QUIC && c.PSKFile != "" {
		return fmt.Errorf("%w: quic cannot be used with psk_file (a private network runs over TCP only)", ErrConfig)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%w: log_level %q (want debug, info, warn or error)", ErrConfig, c.LogLevel)
	}
	if c.SyncInterval <= 0 || c.RetentionInterval <= 0 || c.StreamTimeout <= 0 {
		return fmt.Errorf("%w: sync_interval, retention_interval and stream_timeout must be positive", ErrConfig)
	}
	return nil
}

// LoadConfig reads dir/config.yaml; a missing file gives the defaults.
func LoadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultConfig(), nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	return ParseConfig(path, b)
}

// WriteConfig writes cfg to dir/config.yaml through a temporary file.
func WriteConfig(dir string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	hdr := []byte("# flowfed node settings; see `flowfed run --help` for every key and its default.\n")
	return writeFileAtomic(filepath.Join(dir, ConfigFile), append(hdr, b...), 0o600)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	_, err := fsutil.WriteFile(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	return err
}
