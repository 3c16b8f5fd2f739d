package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/flowfed/flowfed/node"
)

const eraseUsage = `
Usage:
  flowfed erase [--dir D] --artifact ID | --epoch EPOCH-KEY-ID | --pseudonym ADDR [--reason TEXT]
  flowfed erase status [--dir D]

Erases data here and at every member that received it (GDPR Art. 17 and 19).
--artifact deletes one artifact; --epoch shreds an epoch key (its pseudonyms
become irreversible) and deletes the flows and datasets made under it;
--pseudonym deletes the flows of one pseudonymized address and the datasets that
hold it. For each of our artifacts touched, a signed erasure notice goes to every
member; recipients delete their copy, refuse it if it comes again, and
acknowledge with a signed receipt. A received artifact is deleted here and
refused from now on; if this node forwarded it, the members it went to are
asked to delete their copies too. An indicator or sighting may be named by its
own id. 'erase status' lists the notices sent, with the recipients
that have not acknowledged them yet.
Needs the running node (start it with 'flowfed run').

Example:
  flowfed erase --dir ./node1 --artifact ds-4f2a... --reason "data subject request 2026-117"
  flowfed erase status --dir ./node1
`

func runErase(ctx context.Context, e *env, args []string) error {
	sub := ""
	if len(args) > 0 && args[0] == "status" {
		sub, args = "status", args[1:]
	}
	fl := newFlagSet(e, "erase", eraseUsage)
	var df dataFlags
	df.register(fl, e)
	var req node.EraseRequest
	fl.StringVar(&req.Artifact, "artifact", "", "artifact `ID` to erase")
	fl.StringVar(&req.Epoch, "epoch", "", "epoch key `ID` to shred")
	fl.StringVar(&req.Pseudonym, "pseudonym", "", "pseudonymized `address` to erase")
	fl.StringVar(&req.Reason, "reason", "", "why (recorded in the audit chain and the notice)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	client, err := node.Dial(df.dir)
	if errors.Is(err, node.ErrNotRunning) {
		return errors.New("erasure notices go out through the running node: start it with 'flowfed run --dir " + df.dir + "' and try again")
	}
	if err != nil {
		return err
	}
	if sub == "status" {
		ss, err := client.EraseStatus(ctx)
		if err != nil {
			return err
		}
		if len(ss) == 0 {
			fmt.Fprintln(e.stdout, "no erasure notices sent")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ARTIFACT\tORIGINATOR\tSENT\tRECIPIENTS\tACKNOWLEDGED\tOUTSTANDING")
		for _, s := range ss {
			// A notice of another member's erasure, passed on to those
			// this node forwarded the artifact to, names its originator.
			origin := "this node"
			switch {
			case s.Originator != "":
				origin = s.Originator
			case s.Recall:
				origin = "this node (recall of what it forwarded)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", s.Artifact, origin, s.Sent.Format("2006-01-02 15:04"), len(s.Recipients), len(s.Acknowledged), strings.Join(s.Outstanding, " "))
		}
		return tw.Flush()
	}
	n := 0
	for _, s := range []string{req.Artifact, req.Epoch, req.Pseudonym} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return usagef("give exactly one of --artifact, --epoch, --pseudonym")
	}
	res, err := client.Erase(ctx, req)
	if err != nil {
		return err
	}
	if res.Shredded != "" {
		fmt.Fprintf(e.stdout, "epoch key %s shredded\n", res.Shredded)
	}
	if res.FlowsDeleted > 0 {
		fmt.Fprintf(e.stdout, "%d flows deleted\n", res.FlowsDeleted)
	}
	for _, id := range res.Revoked {
		fmt.Fprintf(e.stdout, "erased %s here; erasure notice sent to every member that received it\n", id)
	}
	for _, id := range res.Deleted {
		name := id
		if req.Artifact != "" && req.Artifact != id {
			name = req.Artifact + " (artifact " + id + ")"
		}
		fmt.Fprintf(e.stdout, "erased %s here (received; refused from now on)\n", name)
		if slices.Contains(res.Recalled, id) {
			fmt.Fprintf(e.stdout, "  this node had forwarded it: recall notice sent to the members it went to\n")
		}
	}
	return nil
}
