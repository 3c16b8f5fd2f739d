package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowfed/flowfed/internal/fsutil"
	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/usage"
)

const datasetsUsage = `
Usage:
  flowfed datasets build [--dir D] [--kind flows|aggregates] [--group-by host,protocol,pair,window]
                         [--window 1h] [--from T] [--to T] [--labels DNS,TLS] [--k 10]
                         [--dp laplace|gaussian --epsilon E [--delta D] [--budget B]]
                         [--tlp AMBER] [--purpose research] [--retention-days 180] [--reshare none] [--publish]
  flowfed datasets list [--dir D]
  flowfed datasets publish [--dir D] ID
  flowfed datasets show [--dir D] ID
  flowfed datasets export [--dir D] ID --format csv|jsonl|npz OUT

Builds labeled, pseudonymized datasets from the stored flows for members to train
on. flows: one record per flow (128-step packet sequence tensor and mask, flow
statistics, protocol label and its evidence class, pseudonymized endpoints with
their key ID). aggregates: per group, counts per direction, distinct counterparts,
label distribution, duration statistics.

Nothing is released unless it passes the privacy gates: every group (or, for
flows, every label's record set) must cover at least k distinct source hosts,
with complementary suppression; --dp adds differential-privacy noise to aggregate
counts and charges the epsilon ledger of the dataset family and month, refusing
the release once the budget is spent. The dataset's id is the hash of its
manifest, which lists its content-addressed chunks (at most 1 MiB each).

T is a date (2026-01-05) or an RFC 3339 time. --publish also publishes the dataset
to the members (the node must be running).

Example:
  flowfed datasets build --dir ./node1 --kind aggregates --group-by protocol --k 5
  flowfed datasets export --dir ./node1 ds-4f2a... --format npz train.npz
`

func runDatasets(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fl := newFlagSet(e, "datasets", datasetsUsage)
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		return usagef("want build, list, show, export or publish")
	}
	sub, args := args[0], args[1:]
	fl := newFlagSet(e, "datasets "+sub, datasetsUsage)
	var df dataFlags
	df.register(fl, e)
	switch sub {
	case "build":
		return datasetsBuild(ctx, e, fl, &df, args)
	case "list":
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		infos, err := listDatasets(ctx, df.dir)
		if err != nil {
			return err
		}
		if len(infos) == 0 {
			fmt.Fprintln(e.stdout, "no datasets: build one with 'flowfed datasets build'")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tRECORDS\tK\tSUPPRESSED\tDP\tTLP\tFROM\tDOMAIN\tCHUNKS\tLABELS")
		for _, d := range infos {
			m := d.Manifest
			from := "here"
			switch {
			case d.Publisher != "":
				from = orDash(d.PublisherOrg, d.Publisher)
			case d.Base != "":
				from = "here, version of " + d.Base[:min(len(d.Base), 15)] + "…"
			}
			domain := m.Domain
			if domain == "" {
				domain = "own"
				if d.Publisher != "" {
					domain = "publisher's"
				}
			}
			dp := "-"
			if m.DP != nil {
				dp = fmt.Sprintf("%s ε=%g", m.DP.Mechanism, m.DP.Epsilon)
			}
			var labels []string
			for _, l := range m.Labels {
				labels = append(labels, fmt.Sprintf("%s:%d", l.Label, l.Count))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", m.ID, m.Kind, m.Records, m.K, m.Suppressed, dp, m.Usage.TLP, from, domain, d.ChunksHave, len(m.Chunks), strings.Join(labels, " "))
		}
		return tw.Flush()
	case "publish":
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		if fl.NArg() != 1 {
			return usagef("need one dataset ID")
		}
		client, err := node.Dial(df.dir)
		if errors.Is(err, node.ErrNotRunning) {
			return errors.New("publishing goes through the running node: start it with 'flowfed run --dir " + df.dir + "'")
		}
		if err != nil {
			return err
		}
		if err := client.Publish(ctx, fl.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "published %s; members receive it as the sharing policy allows ('flowfed policy preview --peer P' shows what one gets)\n", fl.Arg(0))
		return nil
	case "show":
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		if fl.NArg() != 1 {
			return usagef("need one dataset ID")
		}
		m, _, err := loadDataset(ctx, df.dir, fl.Arg(0), false)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(m, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return nil
	case "export":
		format := fl.String("format", "", "output `format`: csv, jsonl or npz (default: from OUT's extension)")
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		if fl.NArg() != 2 {
			return usagef("need a dataset ID and an output file ('-' for standard output)")
		}
		out := fl.Arg(1)
		if *format == "" {
			switch ext := strings.TrimPrefix(filepath.Ext(out), "."); ext {
			case "csv", "jsonl", "npz":
				*format = ext
			default:
				return usagef("give --format csv, jsonl or npz (OUT %q has no known extension)", out)
			}
		}
		switch *format {
		case "csv", "jsonl", "npz":
		default:
			return usagef("--format %q: want csv, jsonl or npz", *format)
		}
		m, content, err := loadDataset(ctx, df.dir, fl.Arg(0), true)
		if err != nil {
			return err
		}
		if out == "-" {
			return dataset.Export(e.stdout, m, content, *format)
		}
		n, err := writeFileVia(out, func(f *os.File) error { return dataset.Export(f, m, content, *format) })
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s: %d records, %d bytes (%s)\n", out, m.Records, n, *format)
		return nil
	}
	return usagef("unknown subcommand %q: want build, list, show, export or publish", sub)
}

func datasetsBuild(ctx context.Context, e *env, fl *flag.FlagSet, df *dataFlags, args []string) error {
	kind := fl.String("kind", "flows", "dataset `kind`: flows or aggregates")
	groupBy := fl.String("group-by", "", "aggregates: comma-separated `keys` among host, protocol, pair, window")
	window := fl.String("window", "1h", "width of the window `buckets`")
	from := fl.String("from", "", "only flows starting at or after `T`")
	to := fl.String("to", "", "only flows starting before `T`")
	labels := fl.String("labels", "", "only these comma-separated protocol `labels`")
	k := fl.Int("k", dataset.DefaultK, "k-threshold: distinct source `hosts` per released group")
	dpMech := fl.String("dp", "", "differential privacy `mechanism` for aggregate counts: laplace or gaussian")
	eps := fl.Float64("epsilon", 0, "DP `epsilon` of this release")
	delta := fl.Float64("delta", 0, "DP `delta` (gaussian)")
	budget := fl.Float64("budget", 0, "total `epsilon` per family and month (default 1)")
	maxContrib := fl.Int("max-contrib", 0, "DP: flows counted per source `host` (default 8)")
	tlp := fl.String("tlp", "AMBER", "TLP `label` of the dataset: CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	purpose := fl.String("purpose", "research", "comma-separated `purposes` recipients may use it for")
	retention := fl.Int("retention-days", usage.DefaultRetentionDays, "`days` recipients may keep it")
	reshare := fl.String("reshare", "none", "how far recipients may pass it on: none, group or community")
	publish := fl.Bool("publish", false, "publish it to the members (node must be running)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		return usagef("build takes no arguments")
	}
	if *k < 1 {
		return usagef("--k must be at least 1")
	}
	if *dpMech == "" && (*eps != 0 || *delta != 0 || *budget != 0 || *maxContrib != 0) {
		return usagef("--epsilon, --delta, --budget and --max-contrib need --dp laplace or --dp gaussian")
	}
	req := node.DatasetRequest{Kind: *kind, Window: *window, K: *k, Publish: *publish}
	if *groupBy != "" {
		req.GroupBy = strings.Split(*groupBy, ",")
	}
	if *labels != "" {
		req.Labels = strings.Split(*labels, ",")
	}
	var err error
	if req.From, err = parseTime(*from); err != nil {
		return usagef("--from: %v", err)
	}
	if req.To, err = parseTime(*to); err != nil {
		return usagef("--to: %v", err)
	}
	if *dpMech != "" {
		if *eps <= 0 {
			return usagef("--dp needs --epsilon > 0")
		}
		req.DP = &dataset.DP{Mechanism: *dpMech, Epsilon: *eps, Delta: *delta, Budget: *budget, MaxContrib: *maxContrib}
	}
	t, err := usage.ParseTLP(*tlp)
	if err != nil {
		return usagef("--tlp %q: not a TLP label; use CLEAR, GREEN, AMBER, AMBER+STRICT or RED", *tlp)
	}
	rs, err := usage.ParseReshare(*reshare)
	if err != nil {
		return usagef("--reshare: %v", err)
	}
	req.Usage = usage.Policy{TLP: t, Purposes: strings.Split(*purpose, ","), RetentionDays: *retention, Reshare: rs}
	var m dataset.Manifest
	client, err := node.Dial(df.dir)
	switch {
	case err == nil:
		m, err = client.BuildDataset(ctx, req)
	case errors.Is(err, node.ErrNotRunning):
		if *publish {
			return errors.New("--publish needs the running node: start it with 'flowfed run', or build now and run 'flowfed datasets publish' later")
		}
		spec, serr := req.Spec()
		if serr != nil {
			return usagef("%v", serr)
		}
		err = withStore(df.dir, func(st *store.Store) error {
			m, err = node.BuildDataset(st, spec)
			return err
		})
	}
	if errors.Is(err, store.ErrExists) {
		fmt.Fprintf(e.stdout, "nothing new: the same flows and parameters were built before (%v)\n", err)
		return nil
	}
	if err != nil {
		return explainRelease(err)
	}
	cells := "label classes"
	if m.Kind == dataset.KindAggregates {
		cells = "cells (group and label)"
	}
	fmt.Fprintf(e.stdout, "dataset %s: %s, %d records, k=%d (%d %s below k suppressed), %d chunks, %s\n", m.ID, m.Kind, m.Records, m.K, m.Suppressed, cells, len(m.Chunks), m.Usage)
	if m.DP != nil {
		fmt.Fprintf(e.stdout, "differential privacy: %s ε=%g charged to %s %s (budget %g)\n", m.DP.Mechanism, m.DP.Epsilon, m.DP.Family, m.DP.Period, m.DP.Budget)
	}
	if *publish {
		fmt.Fprintln(e.stdout, "published; members receive it as the sharing policy allows ('flowfed policy preview --peer P' shows what one gets)")
	}
	return nil
}

// explainRelease prefixes a refused release with why nothing was written.
func explainRelease(err error) error {
	for _, s := range []error{dataset.ErrEmpty, dataset.ErrBelowK, dataset.ErrBudgetExhausted} {
		if errors.Is(err, s) {
			return msgErr{"nothing released, nothing written: " + strings.TrimSuffix(err.Error(), ": nothing released"), err}
		}
	}
	return err
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2026-01-05) nor an RFC 3339 time", s)
}

func listDatasets(ctx context.Context, dir string) ([]node.DatasetInfo, error) {
	client, err := node.Dial(dir)
	if err == nil {
		return client.Datasets(ctx)
	}
	if !errors.Is(err, node.ErrNotRunning) {
		return nil, err
	}
	var out []node.DatasetInfo
	err = withStore(dir, func(st *store.Store) error {
		out, err = node.Datasets(st)
		return err
	})
	return out, err
}

// loadDataset reads a dataset's manifest (and content when withContent) from
// the running node or the data directory.
func loadDataset(ctx context.Context, dir, id string, withContent bool) (dataset.Manifest, []byte, error) {
	client, err := node.Dial(dir)
	if err == nil {
		return client.Dataset(ctx, id, withContent)
	}
	if !errors.Is(err, node.ErrNotRunning) {
		return dataset.Manifest{}, nil, err
	}
	var m dataset.Manifest
	var content []byte
	err = withStore(dir, func(st *store.Store) error {
		if withContent {
			m, content, err = node.LoadDataset(st, id)
			return err
		}
		d, err := st.Dataset(id)
		if err != nil {
			return err
		}
		m, err = dataset.DecodeManifest(d.Manifest)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return m, nil, fmt.Errorf("no dataset %s here: 'flowfed datasets list' shows the ids", id)
	}
	return m, content, err
}

// writeFileVia writes a file through a temporary name in its directory and
// renames it into place once write succeeded; it returns the size written.
func writeFileVia(path string, write func(*os.File) error) (int64, error) {
	return fsutil.WriteFile(path, 0o644, write)
}

// msgErr is err with another message; errors.Is still finds err.
type msgErr struct {
	msg string
	err error
}

func (e msgErr) Error() string { return e.msg }
func (e msgErr) Unwrap() error { return e.err }
