package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/model"
)

const modelUsage = `
Usage:
  flowfed model train [--dir D] --dataset ID [--dataset ID]... [--arch mlp|logreg] [--epochs N]
                      [--seed S] [--test-fraction 0.3] [--out model.bin]
  flowfed model eval  [--dir D] --model model.bin --dataset ID [--dataset ID]...

Trains a baseline protocol classifier on the packet sequences of flows datasets
(built here or received from members), so the value of shared data is visible.
Only flows labeled from their payload are used. train splits the flows by the
capture they came from, never by flow, so that no capture is in both the training
and the test set, and reports accuracy and macro-F1 per class beside a
majority-class baseline. eval scores a saved model on datasets, and warns when
some of their captures were used to train it (such scores overstate the model).

Example:
  flowfed model train --dir ./node1 --dataset ds-4f2a... --dataset ds-9c01... --out proto.model
  flowfed model eval --dir ./node2 --model proto.model --dataset ds-77aa...
`

func runModel(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fl := newFlagSet(e, "model", modelUsage)
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		return usagef("want train or eval")
	}
	sub, args := args[0], args[1:]
	fl := newFlagSet(e, "model "+sub, modelUsage)
	var df dataFlags
	df.register(fl, e)
	var ids listFlag
	fl.Var(&ids, "dataset", "dataset `ID` (repeatable)")
	switch sub {
	case "train":
		cfg := model.DefaultConfig()
		arch := fl.String("arch", cfg.Arch, "`architecture`: mlp or logreg")
		epochs := fl.Int("epochs", cfg.Epochs, "training `epochs`")
		seed := fl.Uint64("seed", 1, "random `seed` (same seed, same model)")
		testFrac := fl.Float64("test-fraction", 0.3, "`fraction` of captures held out for the test")
		out := fl.String("out", "", "save the model to `file`")
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		if len(ids) == 0 {
			return usagef("need at least one --dataset")
		}
		if *testFrac <= 0 || *testFrac >= 1 {
			return usagef("--test-fraction must be between 0 and 1")
		}
		cfg.Arch, cfg.Epochs, cfg.Seed = *arch, *epochs, *seed
		ex, err := examplesOf(ctx, e, df.dir, ids)
		if err != nil {
			return err
		}
		train, test := model.SplitByGroup(ex, *testFrac, *seed)
		if len(test) == 0 || len(train) == 0 {
			return fmt.Errorf("the %d flows come from too few captures to hold some out for the test; add datasets built from more captures", len(ex))
		}
		start := time.Now()
		m, err := model.Train(cfg, train)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "trained %s on %d flows (%d held out) in %.1f s\n", cfg.Arch, len(train), len(test), time.Since(start).Seconds())
		rep := model.Evaluate(m, test)
		if err := rep.WriteText(e.stdout); err != nil {
			return err
		}
		base := model.MajorityBaseline(train, test)
		fmt.Fprintf(e.stdout, "majority-class baseline macro-F1 %.3f\n", base.MacroF1)
		if *out != "" {
			if _, err := writeFileVia(*out, func(f *os.File) error { return m.Save(f) }); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "model saved to %s\n", *out)
		}
		return nil
	case "eval":
		path := fl.String("model", "", "saved model `file`")
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		if *path == "" || len(ids) == 0 {
			return usagef("need --model and at least one --dataset")
		}
		f, err := os.Open(*path)
		if err != nil {
			return err
		}
		m, err := model.Load(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("model %s: %w", *path, err)
		}
		ex, err := examplesOf(ctx, e, df.dir, ids)
		if err != nil {
			return err
		}
		if seen, total := m.SeenGroups(ex); seen > 0 {
			fmt.Fprintf(e.stdout, "warning: %d of the %d captures evaluated on were used to train this model: the scores overstate it\n", seen, total)
		}
		return model.Evaluate(m, ex).WriteText(e.stdout)
	}
	return usagef("unknown subcommand %q: want train or eval", sub)
}

// examplesOf reads the payload-labeled flows of flows datasets as examples,
// grouped by the capture each came from (qualified by the dataset, since two
// organisations may name captures alike).
func examplesOf(ctx context.Context, e *env, dir string, ids []string) ([]model.Example, error) {
	var ex []model.Example
	skipped := 0
	for _, id := range ids {
		m, content, err := loadDataset(ctx, dir, id, true)
		if err != nil {
			return nil, err
		}
		if m.Kind != dataset.KindFlows {
			return nil, fmt.Errorf("dataset %s holds %s; the model works on a flows dataset (datasets build --kind flows)", id, m.Kind)
		}
		for r, err := range dataset.Records(m, content) {
			if err != nil {
				return nil, fmt.Errorf("dataset %s: %w", id, err)
			}
			if r.LabelSource != "payload" || r.Label == "Unknown" {
				skipped++
				continue
			}
			ex = append(ex, model.Example{Group: id + "/" + r.Source, X: r.X, Mask: r.Mask, Label: r.Label})
		}
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("no payload-labeled flows in the datasets (%d flows labeled by port only or not at all)", skipped)
	}
	if skipped > 0 {
		fmt.Fprintf(e.stdout, "%d payload-labeled flows used; %d labeled by port only or not at all left out\n", len(ex), skipped)
	}
	return ex, nil
}
