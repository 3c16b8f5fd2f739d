package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/pseudo"
)

const ingestUsage = `
Usage: flowfed ingest [--dir D] [--mode M] [--flow-config F] FILE|DIR...

Reads pcap or pcapng captures, meters their bidirectional flows with protocol
labels and sequence features, pseudonymizes every address under the current
epoch key and stores the flows in the node's store (D/store.db) with that key's
ID. Raw addresses never reach the disk. A capture already ingested (the same
bytes, under any name) is skipped; an interrupted ingest is completed by running
the same command again. Damage in a capture is reported and does not stop it.
While the node runs, the ingest goes through it; else the command opens the
data directory itself. A directory stands for the captures in it and below it
(.pcap, .pcapng, .cap, .dmp, in name order).

Example:
  flowfed ingest --dir ./node1 monday.pcapng tuesday.pcap
  flowfed ingest --dir ./node1 /data/captures/
`

func runIngest(ctx context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "ingest", ingestUsage)
	var df dataFlags
	df.register(fl, e)
	modeName := fl.String("mode", string(pseudo.ModeCryptoPAn), "address pseudonymization `mode`: cryptopan, ipcrypt-pfx or ipcrypt-det")
	cfgFile := fl.String("flow-config", "", "flow-meter settings as a JSON `file` (default: the built-in settings)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return usagef("no capture files given")
	}
	files, err := captureFiles(fl.Args())
	if err != nil {
		return err
	}
	cfg, err := loadFlowConfig(*cfgFile)
	if err != nil {
		return err
	}
	mode, err := pseudo.ParseMode(*modeName)
	if err != nil || !mode.FormatPreserving() {
		return usagef("--mode: want cryptopan, ipcrypt-pfx or ipcrypt-det")
	}
	var results []node.IngestResult
	var keyID keyvault.KeyID
	if client, derr := node.Dial(df.dir); derr == nil {
		// The running node holds the store and the vault: it ingests, with
		// its configured mode and the default flow settings.
		if *cfgFile != "" || isFlagSet(fl, "mode") {
			return usagef("--mode and --flow-config apply when no node runs; the running node ingests with its config (pseudo_mode)")
		}
		abs := make([]string, len(files))
		for i, f := range files {
			abs[i], _ = filepath.Abs(f)
		}
		var resp node.IngestResponse
		resp, err = client.Ingest(ctx, abs)
		results = resp.Results
		keyID, _ = keyvault.ParseKeyID(resp.KeyID)
	} else {
		v, verr := openVault(e, &df)
		if verr != nil {
			return verr
		}
		var m pseudo.AddrMapper
		m, keyID, err = node.AddrMapper(v, mode, keyvault.KeyID{}, time.Now())
		var names func(string) string
		if err == nil {
			names, err = node.NameKeyer(v, keyID)
		}
		var shredded map[string]bool
		if err == nil {
			shredded, err = node.ShreddedKeys(v)
		}
		v.Close()
		if err != nil {
			return err
		}
		var st *store.Store
		if st, err = store.Open(filepath.Join(df.dir, "store.db"), store.Options{}); err != nil {
			return err
		}
		defer st.Close()
		opts := node.IngestOptions{Flow: cfg, Mapper: m, KeyID: keyID.String(), Mode: string(mode), Names: names, Shredded: shredded}
		opts.Progress = progressLine(e)
		results, err = node.Ingest(ctx, st, files, opts)
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%s: not ingested: %v\n", r.File, r.Err)
			continue
		}
		if r.Skipped && r.Erased {
			fmt.Fprintf(e.stdout, "%s: the epoch key of its flows was shredded (erased); a capture is ingested once, so erased data does not come back: skipped\n", r.File)
			continue
		}
		if r.Skipped {
			other := ""
			if r.OtherSettings {
				other = " under other flow settings, key or mode (a capture is ingested once)"
			}
			fmt.Fprintf(e.stdout, "%s: already ingested (%d flows)%s, skipped\n", r.File, r.Flows, other)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: %d packets, %d flows stored under %s\n", r.File, r.Packets, r.Flows, keyID)
		for _, d := range r.Damage {
			fmt.Fprintf(e.stdout, "%s: damage: %s x%d (first at byte %d)\n", r.File, d.Kind, d.Count, d.Offset)
		}
	}
	if err != nil && ctx.Err() != nil {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read as captures (listed above)", failed, len(results))
	}
	return nil
}

// loadFlowConfig reads flow-meter settings from a JSON file, or returns the
// defaults for an empty name.
func loadFlowConfig(name string) (flow.Config, error) {
	if name == "" {
		return flow.Config{}, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return flow.Config{}, fmt.Errorf("reading flow settings: %w", err)
	}
	cfg, err := flow.ParseConfig(b)
	if err != nil {
		return flow.Config{}, fmt.Errorf("flow settings %s: %w", name, err)
	}
	return cfg, nil
}

// addrMapper derives a format-preserving address mapper from the vault: for the
// epoch key id, or the current epoch's key when id is zero.
func addrMapper(e *env, df *dataFlags, id keyvault.KeyID, mode pseudo.Mode) (pseudo.AddrMapper, keyvault.KeyID, error) {
	key, keyID, err := pseudoKey(e, df, id, "", mode)
	if err != nil {
		return nil, keyvault.KeyID{}, err
	}
	defer clear(key)
	m, err := pseudo.NewAddrMapper(mode, key, pseudo.WithPrefixCache(4096))
	if err != nil {
		return nil, keyvault.KeyID{}, err
	}
	return m, keyID, nil
}

// progressLine returns a progress reporter that redraws one line on stderr, or nil
// when stderr is not a terminal.
func progressLine(e *env) func(name string, done, total int64) {
	if !e.stderrTTY {
		return nil
	}
	return func(name string, done, total int64) {
		fmt.Fprintf(e.stderr, "\r%s: %3.0f%% of %d MB", filepath.Base(name), 100*float64(done)/float64(max(total, 1)), total>>20)
		if done >= total {
			fmt.Fprint(e.stderr, "\r\033[K")
		}
	}
}

// captureFiles expands the directories among args into the capture files
// in and below them, in name order; files are taken as they are.
func captureFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil || !fi.IsDir() {
			out = append(out, a) // a missing file is reported per file
			continue
		}
		n := len(out)
		err = filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".pcap", ".pcapng", ".cap", ".dmp":
				if d.Type().IsRegular() {
					out = append(out, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading directory %s: %w", a, err)
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s holds no captures (.pcap, .pcapng, .cap, .dmp)", a)
		}
	}
	return out, nil
}
