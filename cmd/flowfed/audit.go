package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/policy"
)

const auditUsage = `
Usage:
  flowfed audit verify [--dir D]
  flowfed audit list [--dir D] [--kind K]
  flowfed audit artifacts [--dir D]
  flowfed audit who-received [--dir D] ARTIFACT

Every egress decision (artifact version, peer, rule, policy version), every
ingress accept or reject, publication, key operation, policy change, erasure and
retention run is appended to a hash-chained log in the store.

  verify        check the chain: any edited, removed or reordered entry is found
  list          print the entries (optionally of one kind: egress, ingress,
                publish, delivery, key, policy, erasure, retention)
  artifacts     the stored artifacts: ours and received, with their recipients
  who-received  the peers that acknowledged ARTIFACT with a signed receipt

Example:
  flowfed audit verify --dir ./node1 && flowfed audit who-received --dir ./node1 ds-4f2a...
`

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fl := newFlagSet(e, "audit", auditUsage)
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		return usagef("want verify, list, artifacts or who-received")
	}
	sub, args := args[0], args[1:]
	fl := newFlagSet(e, "audit "+sub, auditUsage)
	var df dataFlags
	df.register(fl, e)
	kind := fl.String("kind", "", "only entries of this `kind`")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	st, err := readState(ctx, df.dir)
	if err != nil {
		return err
	}
	switch sub {
	case "verify":
		if err := policy.VerifyChain(st.audit); err != nil {
			var ce *policy.ChainError
			if errors.As(err, &ce) {
				return fmt.Errorf("audit chain broken: %w", err)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "audit chain intact: %d entries", len(st.audit))
		if n := len(st.audit); n > 0 {
			fmt.Fprintf(e.stdout, ", last %d at %s, hash %x", st.audit[n-1].Seq, st.audit[n-1].Time.Format(time.RFC3339), st.audit[n-1].Hash[:8])
		}
		fmt.Fprintln(e.stdout)
		return nil
	case "list":
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tARTIFACT\tV\tPEER\tRULE\tDECISION\tREASON")
		for _, a := range st.audit {
			if *kind != "" && a.Kind != *kind {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", a.Seq, a.Time.Format(time.RFC3339), a.Kind, a.Artifact, a.Version, shortPeer(a.Peer), a.Rule, a.Decision, a.Reason)
		}
		return tw.Flush()
	case "artifacts":
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ARTIFACT\tKIND\tV\tSEQ\tPUBLISHER\tRETAIN UNTIL\tRECIPIENTS")
		for _, a := range st.arts {
			pub := "here"
			if !a.Local {
				pub = a.Publisher
			}
			until := "-"
			if !a.RetainUntil.IsZero() {
				until = a.RetainUntil.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d\n", a.ID, a.Kind, a.Version, a.Seq, pub, until, len(a.Recipients))
		}
		return tw.Flush()
	case "who-received":
		if fl.NArg() != 1 {
			return usagef("need one artifact ID")
		}
		for _, a := range st.arts {
			// An indicator's id names our artifact of it.
			if a.ID != fl.Arg(0) && !(a.Local && strings.HasPrefix(a.ID, fl.Arg(0)+"@")) {
				continue
			}
			if len(a.Recipients) == 0 {
				fmt.Fprintln(e.stdout, "no member has acknowledged it")
			}
			for _, d := range a.Recipients {
				org := "-"
				for _, m := range st.members {
					if peer.ID(m.ID).String() == d.Peer {
						org = m.Org
					}
				}
				fmt.Fprintf(e.stdout, "%s\t%s\tversion %d\t%s\n", d.Peer, org, d.Version, d.At.Format(time.RFC3339))
			}
			return nil
		}
		return fmt.Errorf("no artifact %s here ('flowfed audit artifacts' lists them)", fl.Arg(0))
	}
	return usagef("unknown subcommand %q", sub)
}

func shortPeer(s string) string {
	if len(s) > 16 {
		return "…" + s[len(s)-10:]
	}
	return s
}
