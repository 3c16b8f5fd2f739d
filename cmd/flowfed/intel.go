package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/share/pseudo"
	"github.com/flowfed/flowfed/share/usage"
)

const intelUsage = `
Usage:
  flowfed intel add    [--dir D] TYPE VALUE [--tlp T] [--purpose P] [--reshare R] [--confidence N] [--label L]... [--valid-until T] [--publish]
  flowfed intel import [--dir D] FILE|FEED-DIR [--tlp T] [--purpose P] [--reshare R] [--publish]
  flowfed intel export [--dir D] --format stix|misp|misp-feed|json [--own] OUT
  flowfed intel list   [--dir D]
  flowfed intel show   [--dir D] INDICATOR-OR-SIGHTING-ID...
  flowfed intel revoke [--dir D] ID... [--reason TEXT] [--publish]
  flowfed intel publish [--dir D] [ID...]
  flowfed intel match  [--dir D] [--reveal] [--publish [--tlp L]]

Threat indicators and sightings, in and out of STIX 2.1 and MISP without loss.
TYPE is ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, sha512, ja3, ja4,
filename, regkey.
Values are canonicalised and get deterministic ids, so the same indicator from
two sources is linked, not duplicated, and every source is kept. Only the
originator changes an indicator; revoke writes a signed tombstone version.
import reads a STIX bundle, a MISP event or a MISP feed directory; objects it
cannot read are listed with their id and the rest is imported in one
transaction. Unknown or unclear TLP is treated as RED.

match screens the stored flows against the indicators in pseudonym space: the
indicators are pseudonymized under the flows' epoch keys, so no flow is
re-identified; domain names match DNS queries, TLS/QUIC SNI and HTTP Hosts. Each
match becomes a sighting; --reveal resolves the pseudonyms to the local hosts
(needs the vault: its passphrase, or the running node; recorded in the audit
chain). A match names our host in the flow: the endpoint that talked to an
indicator's address, or the client that looked up or contacted its name.
Hashes, URLs and fingerprints are not screened (flows do not show them); match
says how many were skipped.

publish and --publish send to the members through the running node: publish
sends our indicators (those named, or all) and our sightings of them, under
--tlp and --purpose for the sightings; match --publish sends the sightings the
match made.

Example:
  flowfed intel import --dir ./node1 bundle.json
  flowfed intel add --dir ./node1 domain c2.example.net --tlp AMBER --label c2
  flowfed intel match --dir ./node1 --reveal
  flowfed intel export --dir ./node1 --format misp-feed ./feed
`

func runIntel(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fl := newFlagSet(e, "intel", intelUsage)
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		return usagef("want add, import, export, list, show, revoke, publish or match")
	}
	sub, args := args[0], args[1:]
	fl := newFlagSet(e, "intel "+sub, intelUsage)
	var df dataFlags
	df.register(fl, e)
	tlpDefault, tlpHelp := "AMBER", "TLP `label`: CLEAR, GREEN, AMBER, AMBER+STRICT, RED"
	if sub == "import" {
		// The source's markings stand (unmarked objects are RED); --tlp
		// only narrows them.
		tlpDefault, tlpHelp = "", "narrow the source's TLP markings to at least `label` (unmarked objects are RED)"
	}
	tlp := fl.String("tlp", tlpDefault, tlpHelp)
	purpose := fl.String("purpose", "detection,research", "comma-separated `purposes`")
	reshare := fl.String("reshare", "", "how far recipients may pass it on, `scope`: none, group or community (add: default none; import: narrows what the source allows)")
	confidence := fl.Int("confidence", 0, "confidence 0-100 (default 50)")
	var labels listFlag
	fl.Var(&labels, "label", "a `label` (repeatable)")
	validUntil := fl.String("valid-until", "", "end of validity `T` (date or RFC 3339)")
	format := fl.String("format", "", "export `format`: stix, misp, misp-feed or json")
	own := fl.Bool("own", false, "export only our own indicators")
	reason := fl.String("reason", "", "why (revoke)")
	reveal := fl.Bool("reveal", false, "resolve matching pseudonyms to local hosts")
	onlyFlags(fl, e, intelUsage, map[string][]string{
		"add":     {"tlp", "purpose", "reshare", "confidence", "label", "valid-until", "publish"},
		"import":  {"tlp", "purpose", "reshare", "publish"},
		"export":  {"format", "own"},
		"revoke":  {"reason", "publish"},
		"publish": {"tlp", "purpose"},
		"match":   {"reveal", "publish", "tlp", "purpose"},
	}[sub]...)
	publish := fl.Bool("publish", false, "also publish to the members (node must run)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	var t usage.TLP
	var err error
	if *tlp != "" {
		if t, err = usage.ParseTLP(*tlp); err != nil {
			return usagef("--tlp %q: not a TLP label; use CLEAR, GREEN, AMBER, AMBER+STRICT or RED", *tlp)
		}
	}
	req := node.IntelRequest{Op: sub, Usage: usage.Policy{TLP: t, Purposes: strings.Split(*purpose, ",")}, Publish: *publish, Reason: *reason, Reveal: *reveal, OwnOnly: *own}
	if *reshare != "" {
		if req.Usage.Reshare, err = usage.ParseReshare(*reshare); err != nil {
			return usagef("--reshare: %v", err)
		}
	}
	switch sub {
	case "add":
		if fl.NArg() != 2 {
			return usagef("need TYPE and VALUE")
		}
		req.Type, req.Value, req.Confidence, req.Labels = fl.Arg(0), fl.Arg(1), *confidence, labels
		if req.ValidUntil, err = parseTime(*validUntil); err != nil {
			return usagef("--valid-until: %v", err)
		}
	case "import":
		if fl.NArg() != 1 {
			return usagef("need one file or feed directory")
		}
		req.Path, _ = filepath.Abs(fl.Arg(0))
		if !isFlagSet(fl, "tlp") {
			req.Usage.TLP = 0 // the source's TLP (unknown: RED)
		}
	case "export":
		if fl.NArg() != 1 {
			return usagef("need one output file (a directory for misp-feed)")
		}
		switch *format {
		case "stix", "misp", "misp-feed", "json":
		default:
			return usagef("--format: want stix, misp, misp-feed or json")
		}
		req.Format = *format
		req.Path, _ = filepath.Abs(fl.Arg(0))
	case "revoke":
		if fl.NArg() == 0 {
			return usagef("need at least one indicator ID")
		}
		req.IDs = fl.Args()
	case "publish":
		req.IDs = fl.Args()
	case "show":
		if fl.NArg() == 0 {
			return usagef("need at least one indicator or sighting ID")
		}
		req.IDs = fl.Args()
	case "list", "match":
	default:
		return usagef("unknown subcommand %q", sub)
	}
	resp, err := runIntelReq(ctx, e, &df, req)
	if err != nil {
		return err
	}
	return printIntel(e, sub, req, resp)
}

func isFlagSet(fl *flag.FlagSet, name string) bool {
	set := false
	fl.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// runIntelReq runs req on the running node, else on the data directory.
func runIntelReq(ctx context.Context, e *env, df *dataFlags, req node.IntelRequest) (node.IntelResponse, error) {
	client, err := node.Dial(df.dir)
	if err == nil {
		return client.Intel(ctx, req)
	}
	if !errors.Is(err, node.ErrNotRunning) {
		return node.IntelResponse{}, err
	}
	if req.Op == "publish" || req.Publish {
		return node.IntelResponse{}, node.ErrNeedsNode
	}
	cfg, err := node.LoadConfig(df.dir)
	if err != nil {
		return node.IntelResponse{}, err
	}
	mode, err := pseudo.ParseMode(cfg.PseudoMode)
	if err != nil {
		return node.IntelResponse{}, err
	}
	org := cfg.Org
	if org == "" {
		org = "local"
	}
	var resp node.IntelResponse
	err = withStore(df.dir, func(st *store.Store) error {
		var v *keyvault.Vault
		if req.Op == "match" {
			if v, err = openVault(e, df); err != nil {
				return err
			}
			defer v.Close()
		}
		resp, err = node.RunIntel(ctx, st, v, mode, org, time.Now(), req, nil)
		return err
	})
	return resp, err
}

func printIntel(e *env, sub string, req node.IntelRequest, resp node.IntelResponse) error {
	switch sub {
	case "add":
		fmt.Fprintf(e.stdout, "added %s %s %s (%s)\n", resp.Added.ID, resp.Added.Type, resp.Added.Value, resp.Added.Policy)
	case "import":
		s := resp.Summary
		fmt.Fprintf(e.stdout, "imported %d new indicators, %d updated, %d linked to existing ones, %d unchanged; %d sightings\n", s.Indicators, s.Updated, s.Linked, s.Unchanged, s.Sightings)
		if s.Events+s.Identities+s.SharingGroups > 0 {
			fmt.Fprintf(e.stdout, "kept with them: %d MISP events, %d organisations, %d sharing groups\n", s.Events, s.Identities, s.SharingGroups)
		}
		if s.Indicators+s.Updated+s.Linked+s.Unchanged+s.Sightings+len(resp.Problems) == 0 {
			fmt.Fprintf(e.stdout, "%s holds no indicators or sightings flowfed models (attributes such as links and comments are kept with their event)\n", filepath.Base(req.Path))
		}
		for _, n := range s.Narrowed {
			fmt.Fprintf(e.stdout, "stricter: %s (a linked source is marked so, and its content travels with the indicator)\n", n)
		}
		for _, p := range resp.Problems {
			fmt.Fprintf(e.stdout, "not imported: %s\n", p)
		}
		const show = 20
		for i, k := range s.Kept {
			if i == show {
				fmt.Fprintf(e.stdout, "kept as received: %d more objects flowfed does not model\n", len(s.Kept)-show)
				break
			}
			fmt.Fprintf(e.stdout, "kept as received, not modelled (exports give it back): %s\n", k)
		}
	case "export":
		fmt.Fprintf(e.stdout, "wrote %s (%s)\n", req.Path, req.Format)
	case "list":
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTYPE\tVALUE\tTLP\tCONF\tSCORE\tORIGIN\tFROM\tSTATE")
		now := time.Now()
		for _, x := range resp.Indicators {
			in := x.Indicator
			state := "live"
			switch {
			case in.Revoked:
				state = "revoked"
			case !in.Live(now):
				state = "expired"
			}
			from := "here"
			if x.Publisher != "" {
				from = orDash(x.PublisherOrg, shortPeer(x.Publisher))
			}
			if x.Via != "" {
				from += " via " + orDash(x.ViaOrg, shortPeer(x.Via))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.0f\t%s\t%s\t%s\n", in.ID, in.Type, in.Value, in.Policy.TLP, in.Confidence, in.Score(now), orDash(in.OriginName, in.Origin), from, state)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d indicators, %d sightings\n", len(resp.Indicators), len(resp.Sightings))
	case "show":
		for _, x := range resp.Indicators {
			from := "here"
			if x.Publisher != "" {
				from = withOrg(x.Publisher, x.PublisherOrg)
			}
			if x.Via != "" {
				from += ", forwarded by " + withOrg(x.Via, x.ViaOrg)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, x.Indicator.Encode(), "", "  "); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "# %s (from %s, score %.0f now)\n%s\n", x.Key, from, x.Indicator.Score(time.Now()), pretty.Bytes())
		}
		for _, sg := range resp.Sightings {
			fmt.Fprintf(e.stdout, "sighting %s: %d times, %s to %s, by %s\n", sg.ID, sg.Count, sg.FirstSeen.Format(time.RFC3339), sg.LastSeen.Format(time.RFC3339), orDash(sg.ObserverName, sg.Observer, "anonymous"))
		}
	case "revoke":
		fmt.Fprintf(e.stdout, "revoked %d indicators\n", len(req.IDs))
	case "match":
		if len(resp.Unscreened) > 0 {
			types := slices.Sorted(maps.Keys(resp.Unscreened))
			parts := make([]string, len(types))
			for i, t := range types {
				parts[i] = fmt.Sprintf("%d %s", resp.Unscreened[t], t)
			}
			fmt.Fprintf(e.stdout, "not screened (stored flows do not show these types): %s\n", strings.Join(parts, ", "))
		}
		if len(resp.Matches) == 0 {
			fmt.Fprintln(e.stdout, "no stored flow matches a live indicator")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		hdr := "INDICATOR\tVALUE\tPSEUDONYM\tFLOWS\tFIRST\tLAST"
		if req.Reveal {
			hdr += "\tLOCAL HOST"
		}
		fmt.Fprintln(tw, hdr)
		for _, m := range resp.Matches {
			line := fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%s", m.Indicator, m.Value, m.Pseudonym, m.Flows, m.First.Format(time.RFC3339), m.Last.Format(time.RFC3339))
			if req.Reveal {
				line += "\t" + m.Host.String()
			}
			fmt.Fprintln(tw, line)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		inds := map[string]bool{}
		for _, m := range resp.Matches {
			inds[m.Indicator] = true
		}
		fmt.Fprintf(e.stdout, "%d matching endpoints of %d indicators; one sighting per indicator recorded\n", len(resp.Matches), len(inds))
	}
	switch {
	case resp.Published > 0 && req.Op == "revoke":
		fmt.Fprintln(e.stdout, "revocation published: it reaches every member that received the indicator, whatever the policy says now")
	case resp.Published > 0 && resp.Added != nil && resp.Added.Policy.TLP == usage.Red:
		fmt.Fprintln(e.stdout, "TLP:RED: recorded in the node's log, but sent to no member (RED never leaves automatically)")
	case resp.Published > 0:
		fmt.Fprintf(e.stdout, "published %d indicators and %d sightings; members receive what the sharing policy allows (TLP:RED never leaves)\n",
			resp.Published-resp.PublishedSightings, resp.PublishedSightings)
	case req.Op == "publish":
		fmt.Fprintln(e.stdout, "nothing new to publish: the members were offered the newest version of whatever was published before")
	}
	if resp.LeftOut > 0 {
		fmt.Fprintf(e.stdout, "left out %d indicators that are no longer live (revoked, expired or decayed) and were never published\n", resp.LeftOut)
	}
	return nil
}

func orDash(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return "-"
}

// withOrg names a peer with its organisation when it is known.
func withOrg(id, org string) string {
	if org == "" {
		return id
	}
	return org + " (" + id + ")"
}
