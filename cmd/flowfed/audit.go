package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
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
                publish, delivery, key, policy, erasure, retention, reveal)
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
		kinds := []string{policy.AuditEgress, policy.AuditIngress, "publish", "delivery", policy.AuditKey, policy.AuditPolicy,
			policy.AuditErasure, policy.AuditRetention, "reveal"}
		if *kind != "" && !slices.Contains(kinds, *kind) {
			return usagef("--kind %q: want one of %s", *kind, strings.Join(kinds, ", "))
		}
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
			if a.Kind == node.KindForward {
				// Our envelope forwarding another member's artifact.
				if env, err := protocol.UnmarshalEnvelope(a.Envelope); err == nil {
					if in, err := protocol.OpenForward(&env); err == nil {
						pub = "here, forwarding " + in.Publisher.String() + "'s"
					}
				}
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
		id := fl.Arg(0)
		org := func(p string) string {
			for _, m := range st.members {
				if peer.ID(m.ID).String() == p {
					return m.Org
				}
			}
			return "-"
		}
		found := st.find(id)
		for _, a := range found {
			if len(found) > 1 || !a.Local {
				from := "published here"
				if !a.Local {
					from = "published by " + a.Publisher + ", received from " + a.From
				}
				fmt.Fprintf(e.stdout, "%s (%s):\n", a.ID, from)
			}
			fwd := st.forwardedTo(a.ID)
			if len(a.Recipients)+len(fwd) == 0 {
				fmt.Fprintln(e.stdout, "no member has acknowledged it")
			}
			for _, d := range a.Recipients {
				fmt.Fprintf(e.stdout, "%s\t%s\tversion %d\t%s\n", d.Peer, org(d.Peer), d.Version, d.At.Format(time.RFC3339))
			}
			for _, d := range fwd {
				fmt.Fprintf(e.stdout, "%s\t%s\tversion %d\t%s\tforwarded by this node\n", d.Peer, org(d.Peer), d.Version, d.At.Format(time.RFC3339))
			}
		}
		if len(found) > 0 {
			return nil
		}
		// Erased or expired: the audit chain still names who got it.
		var got []string
		seen := map[string]bool{}
		for _, a := range st.audit {
			_, aid, _ := strings.Cut(a.Artifact, "/")
			if a.Kind == policy.AuditEgress && a.Decision == policy.DecisionAllow && !seen[a.Peer] &&
				(aid == id || strings.HasPrefix(aid, id+"@")) {
				seen[a.Peer] = true
				got = append(got, a.Peer)
			}
		}
		if len(got) == 0 {
			return fmt.Errorf("no artifact %s here, and the audit chain records no sending of it ('flowfed audit artifacts' lists what is stored)", id)
		}
		fmt.Fprintf(e.stdout, "%s is no longer stored here (erased or expired; 'flowfed erase status' shows who acknowledged the erasure); the audit chain records sending it to:\n", id)
		for _, p := range got {
			fmt.Fprintf(e.stdout, "%s\t%s\n", p, org(p))
		}
		return nil
	}
	return usagef("unknown subcommand %q", sub)
}

func shortPeer(s string) string {
	if len(s) > 16 {
		return "…" + s[len(s)-10:]
	}
	return s
}
