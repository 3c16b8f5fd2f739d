package node

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseConfigDefaultsAndErrors(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte("version: 1\norg: ORG-A\nsync_interval: 5s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Org != "ORG-A" || time.Duration(cfg.SyncInterval) != 5*time.Second || cfg.Federation != "flowfed" || cfg.Admin != "127.0.0.1:0" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if cfg, err := ParseConfig("empty.yaml", nil); err != nil || cfg.Version != 1 {
		t.Fatalf("empty file: %+v, %v", cfg, err)
	}
	for src, want := range map[string]string{
		"version: 1\nbogus: 1\n":                "field bogus not found",
		"version: 2\n":                          "version 2",
		"version: 1\nsync_interval: soon\n":     "not a duration",
		"version: 1\nquic: true\npsk_file: k\n": "private network runs over TCP only",
		"version: 1\nlog_level: loud\n":         "log_level",
	} {
		_, err := ParseConfig("c.yaml", []byte(src))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Org = "ORG-B"
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/4002"}
	if err := WriteConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Org != "ORG-B" || back.Listen[0] != cfg.Listen[0] || back.SyncInterval != cfg.SyncInterval {
		t.Fatalf("round trip: %+v", back)
	}
}
