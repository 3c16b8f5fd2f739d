package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/pcap"
	"github.com/flowfed/flowfed/share/pseudo"
)

const pcapUsage = `
Usage: flowfed pcap SUBCOMMAND [flags] [arguments]

Rewrites packet captures (pcap, pcapng) for sharing: every address pseudonymized
under the node's epoch key, checksums kept consistent, payload cut, no metadata of
the input kept. The owner of the key can restore the addresses.

Subcommands:
  anonymize IN OUT     write OUT, a copy of IN fit for sharing
  deanonymize IN OUT   restore the addresses of a capture made by anonymize
  inspect IN           summarise a capture: packets, interfaces, time span,
                       addresses, damage

Examples:
  flowfed pcap anonymize --dir ./node1 trace.pcapng shared.pcapng
  flowfed pcap deanonymize --dir ./node1 shared.pcapng restored.pcapng
  flowfed pcap inspect trace.pcap
`

// runPcap dispatches to the pcap subcommands. Captures are untrusted input: the
// library is fuzzed not to panic on them, and should it ever, the user gets an
// error naming the input instead of a stack trace.
func runPcap(ctx context.Context, e *env, args []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error while processing %v (please report it with the capture): %v", args, r)
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(e.stderr, pcapUsage[1:])
		return usagef("missing subcommand")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, pcapUsage[1:])
		return nil
	case "anonymize":
		err = pcapAnonymize(ctx, e, rest)
	case "deanonymize":
		err = pcapDeanonymize(ctx, e, rest)
	case "inspect":
		err = pcapInspect(ctx, e, rest)
	default:
		return usagef("unknown subcommand %q (anonymize, deanonymize, inspect)", sub)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%s: %w", sub, err)
	}
	return err
}

const pcapAnonymizeUsage = `
Usage: flowfed pcap anonymize [flags] IN OUT

Writes OUT, a copy of the capture IN in which every address is pseudonymized with
the node's epoch key (IPv4 and IPv6 in every header, tunnels and ICMP quotes
included, ARP, neighbor discovery, DHCP, DNS answers and reverse names, MAC
addresses), checksums are updated, the payload is cut as --payload says and TCP
timestamps are zeroed. Nothing of IN's metadata (comments, interface names,
name resolution, ...) is copied. OUT is written to a temporary file and renamed
when complete; a pcapng OUT records the mode and key ID in its section comment,
a classic pcap OUT in the sidecar file OUT.json, for deanonymize.

Damaged input is rewritten as far as it is readable; each kind of damage is
reported on stderr with its count. With --strict any damage fails the command
(exit status 1) and no OUT is left.

Payload modes: cut (headers, and DNS/DHCP messages rewritten), keep (transport
payload as is, except DNS/DHCP rewritten and what carries addresses that are not),
drop (headers only).

Example:
  flowfed pcap anonymize --dir ./node1 --time-shift -72h trace.pcapng shared.pcapng
`

// pcapAnonymize checks every flag before it unlocks the vault, so that a typo costs
// no passphrase prompt, then derives the address and MAC keys of the epoch key and
// runs share/pcap. The summary goes to stdout, damage to stderr.
func pcapAnonymize(ctx context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "pcap anonymize", pcapAnonymizeUsage)
	var df dataFlags
	df.register(fl, e)
	payload := fl.String("payload", "cut", "what to keep after the transport headers: cut, keep or drop")
	modeName := fl.String("mode", string(pseudo.ModeCryptoPAn), "address pseudonymization `mode`: cryptopan or ipcrypt-pfx")
	epoch := fl.String("epoch", "", "epoch key `ID` (default: the key of the current epoch)")
	keepOUI := fl.Bool("keep-oui", false, "keep the vendor part (first 3 octets) of MAC addresses")
	keepTCP := fl.Bool("keep-tcp-options", false, "keep TCP timestamp values (zeroed by default)")
	passList := fl.String("passthrough", "unspecified,broadcast,loopback,multicast",
		"addresses kept as they are: class names, prefixes, mac-zero, mac-broadcast, mac-multicast, or none")
	shift := fl.Duration("time-shift", 0, "add `duration` to every timestamp (such as -72h)")
	round := fl.Duration("time-round", 0, "round every timestamp down to a multiple of `duration` (such as 1s)")
	format := fl.String("format", "", "output container: pcap or pcapng (default: as IN)")
	strict := fl.Bool("strict", false, "fail on any damage of IN, leaving no OUT")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	in, out, err := twoPaths(fl)
	if err != nil {
		return err
	}
	opts := pcap.Options{KeepOUI: *keepOUI, KeepTCPOptions: *keepTCP, TimeShift: *shift, TimeRound: *round, Version: version()}
	if opts.Payload, err = pcap.ParsePayloadMode(*payload); err != nil {
		return usagef("--payload: %v", err)
	}
	if opts.Mode, err = pseudo.ParseMode(*modeName); err != nil {
		return usagef("--mode: %v", err)
	}
	if !opts.Mode.PrefixPreserving() {
		return usagef("--mode: %s does not keep the address family; use cryptopan or ipcrypt-pfx", opts.Mode)
	}
	pass, err := pcap.ParsePassthrough(*passList)
	if err != nil {
		return usagef("--passthrough: %v", err)
	}
	opts.Passthrough = &pass
	if *round < 0 {
		return usagef("--time-round: %v is negative", *round)
	}
	if opts.Format, err = parseFormat(*format); err != nil {
		return err
	}
	var epochID keyvault.KeyID
	if *epoch != "" {
		if epochID, err = keyvault.ParseKeyID(*epoch); err != nil {
			return usagef("--epoch: %v", err)
		}
	}
	keyID, err := pcapKeys(e, &df, epochID, opts.Mode, func(addr, mac []byte) { opts.AddrKey, opts.MACKey = addr, mac })
	if err != nil {
		return err
	}
	defer clear(opts.AddrKey)
	defer clear(opts.MACKey)
	opts.KeyID = keyID.String()
	prog := newProgress(e, in)
	opts.Progress = prog.report
	st, err := pcap.AnonymizeFile(ctx, in, out, opts)
	prog.finish()
	if err != nil {
		return err
	}
	damaged := printDamage(e.stderr, st.Damage, st.Headers)
	if *strict && damaged {
		// A failing command leaves nothing behind, as a failed rewrite does.
		os.Remove(out)
		if st.Output == capture.FormatPcap {
			os.Remove(out + pcap.SidecarSuffix)
		}
		return fmt.Errorf("%s is damaged (listed above) and --strict is set: no output written", in)
	}
	w := e.stdout
	fmt.Fprintf(w, "wrote %s: %s, %d of %d packets, key %s (%s), payload %s\n",
		out, st.Output, st.PacketsOut, st.PacketsIn, keyID, opts.Mode, opts.Payload)
	if st.Output == capture.FormatPcap {
		fmt.Fprintf(w, "anonymization record: %s\n", out+pcap.SidecarSuffix)
	}
	fmt.Fprintf(w, "addresses: %d rewritten, %d passed through, %d cleared; checksums updated: %d; TCP timestamps zeroed: %d\n",
		st.AddrsRewritten, st.AddrsPassedThrough, st.AddrsCleared, st.ChecksumsUpdated, st.TCPTimestampsZeroed)
	fmt.Fprintf(w, "DNS messages: %d rewritten, %d cut (not parsable safely); DHCP messages: %d rewritten, %d cut\n",
		st.DNSRewritten, st.DNSDropped, st.DHCPRewritten, st.DHCPDropped)
	printDrops(w, st.Dropped)
	return nil
}

const pcapDeanonymizeUsage = `
Usage: flowfed pcap deanonymize [flags] IN OUT

Restores the original addresses of a capture written by 'flowfed pcap anonymize'
with this node's vault. The mode and key ID come from IN's section comment
(pcapng) or its sidecar file IN.json (classic pcap). What anonymize removed (cut
payload, zeroed TCP timestamps, shifted times) does not come back.

Example:
  flowfed pcap deanonymize --dir ./node1 shared.pcapng restored.pcapng
`

// pcapDeanonymize reads the anonymization record of IN first: it names the key to
// take from the vault and the mode and pass-through list to invert.
func pcapDeanonymize(ctx context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "pcap deanonymize", pcapDeanonymizeUsage)
	var df dataFlags
	df.register(fl, e)
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	in, out, err := twoPaths(fl)
	if err != nil {
		return err
	}
	md, err := pcap.ReadMetadata(in)
	if err != nil {
		return err
	}
	id, err := keyvault.ParseKeyID(md.KeyID)
	if err != nil {
		return fmt.Errorf("the anonymization record of %s names key %q: %w", in, md.KeyID, err)
	}
	opts := pcap.RestoreOptions{Meta: md}
	if _, err := pcapKeys(e, &df, id, md.Mode, func(addr, mac []byte) { opts.AddrKey, opts.MACKey = addr, mac }); err != nil {
		return err
	}
	defer clear(opts.AddrKey)
	defer clear(opts.MACKey)
	prog := newProgress(e, in)
	opts.Progress = prog.report
	st, err := pcap.DeanonymizeFile(ctx, in, out, opts)
	prog.finish()
	if err != nil {
		return err
	}
	printDamage(e.stderr, st.Damage, pcap.HeaderStops{})
	fmt.Fprintf(e.stdout, "wrote %s: %s, %d packets, %d addresses restored with key %s (%s)\n",
		out, st.Output, st.PacketsOut, st.AddrsRewritten, md.KeyID, md.Mode)
	return nil
}

const pcapInspectUsage = `
Usage: flowfed pcap inspect [--strict] IN

Summarises a capture: container, packets, interfaces with their link types (and
whether anonymize can decode them), time span, distinct IPv4, IPv6 and MAC
addresses, how far headers decoded, damage, and the anonymization record if the
capture was made by 'flowfed pcap anonymize'. With --strict any damage fails the
command (exit status 1).

Example:
  flowfed pcap inspect trace.pcapng
`

// pcapInspect needs no vault: it reads the capture and prints what it finds,
// including the anonymization record of a pcapng comment or a sidecar file.
func pcapInspect(ctx context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "pcap inspect", pcapInspectUsage)
	strict := fl.Bool("strict", false, "fail on any damage")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return usagef("want one capture file, got %d arguments", fl.NArg())
	}
	in := fl.Arg(0)
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := pcap.Inspect(ctx, f)
	if err != nil {
		return err
	}
	if s.Meta == nil {
		if md, err := pcap.ReadMetadata(in); err == nil {
			s.Meta = &md
		}
	}
	w := e.stdout
	fmt.Fprintf(w, "file:       %s (%s)\n", in, s.Format)
	fmt.Fprintf(w, "packets:    %d (%d bytes captured)\n", s.Packets, s.Bytes)
	if s.HasTime {
		first, last := time.Unix(0, s.First).UTC(), time.Unix(0, s.Last).UTC()
		fmt.Fprintf(w, "time span:  %s to %s (%s)\n", first.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano), last.Sub(first))
	}
	more := ""
	if s.AddrsCapped {
		more = " (at least)"
	}
	fmt.Fprintf(w, "addresses:  %d IPv4, %d IPv6, %d MAC distinct%s\n", s.IPv4, s.IPv6, s.MAC, more)
	h := s.Headers
	fmt.Fprintf(w, "headers:    %d complete, %d truncated, %d malformed, %d unsupported protocol, %d too deep\n",
		h.Complete, h.Truncated, h.Malformed, h.Unsupported, h.TooDeep)
	if s.Meta != nil {
		fmt.Fprintf(w, "anonymized: mode %s, key %s, payload %s, flowfed %s\n", s.Meta.Mode, s.Meta.KeyID, s.Meta.Payload, s.Meta.Flowfed)
	}
	fmt.Fprintln(w, "interfaces:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tLINK TYPE\tTIME UNIT\tPACKETS\tDECODED")
	for i, ifc := range s.Interfaces {
		dec := "yes"
		if !ifc.Decoded {
			dec = "no: anonymize drops its packets"
			if ifc.Packets == 0 {
				dec = "-"
			}
		}
		fmt.Fprintf(tw, "  %d\t%s (%d)\t%s\t%d\t%s\n", i, ifc.LinkType, uint32(ifc.LinkType), ifc.Resolution, ifc.Packets, dec)
	}
	tw.Flush()
	if printDamage(w, s.Damage, s.Headers) && *strict {
		return fmt.Errorf("%s is damaged (listed above) and --strict is set", in)
	}
	return nil
}

// twoPaths returns the IN and OUT arguments.
func twoPaths(fl *flag.FlagSet) (string, string, error) {
	if fl.NArg() != 2 {
		return "", "", usagef("want IN and OUT, got %d arguments", fl.NArg())
	}
	return fl.Arg(0), fl.Arg(1), nil
}

// parseFormat parses --format; the empty string keeps the input's container.
func parseFormat(s string) (capture.Format, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "pcap":
		return capture.FormatPcap, nil
	case "pcapng":
		return capture.FormatPcapng, nil
	}
	return 0, usagef("--format: %q is neither pcap nor pcapng", s)
}

// pcapKeys unlocks the vault and hands the address and MAC key material of the
// chosen epoch key (the current one when id is zero) to use, returning the key ID.
func pcapKeys(e *env, df *dataFlags, id keyvault.KeyID, mode pseudo.Mode, use func(addr, mac []byte)) (keyvault.KeyID, error) {
	v, err := openVault(e, df)
	if err != nil {
		return keyvault.KeyID{}, err
	}
	defer v.Close()
	var ek keyvault.EpochKey
	if id.IsZero() {
		ek, err = v.EpochFor(time.Now())
	} else {
		ek, err = v.Key(id)
	}
	if err != nil {
		return keyvault.KeyID{}, err
	}
	// Each algorithm gets its own key material, derived under its own name.
	use(ek.PseudoKey(string(mode), mode.KeySize()), ek.PseudoKey("mac", 32))
	return ek.ID(), nil
}

// printDamage prints one line per kind of damage and reports whether there was any.
func printDamage(w io.Writer, dmg []capture.Damage, h pcap.HeaderStops) bool {
	for _, d := range dmg {
		fmt.Fprintf(w, "damage: %s: %d (first at byte offset %#x)\n", d.Kind, d.Count, d.Offset)
	}
	if h.Truncated > 0 {
		fmt.Fprintf(w, "damage: truncated-header: %d packets end inside a header; cut after the last complete one\n", h.Truncated)
	}
	if h.Malformed > 0 {
		fmt.Fprintf(w, "damage: malformed-header: %d packets hold a header that contradicts its container; cut before it\n", h.Malformed)
	}
	return len(dmg) > 0 || h.Truncated > 0 || h.Malformed > 0
}

// printDrops prints one line per interface and reason for which packets were
// dropped.
func printDrops(w io.Writer, drops []pcap.Drop) {
	for _, d := range drops {
		fmt.Fprintf(w, "dropped: %d packets of interface %d (%s, %d): %s\n", d.Count, d.Interface, d.LinkType, uint32(d.LinkType), d.Reason)
	}
}

// progress prints how far a rewrite has come on stderr, when stderr is a terminal
// and the input is large enough for it to matter.
type progress struct {
	w    io.Writer
	size int64
	last time.Time
	on   bool
}

// progressMin is the input size from which progress is shown.
const progressMin = 64 << 20

// newProgress returns a progress printer for the input at path; it stays silent
// unless stderr is a terminal (so scripts and logs never see it) and the input is
// large.
func newProgress(e *env, path string) *progress {
	p := &progress{w: e.stderr}
	f, ok := e.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() >= progressMin {
		p.size, p.on = fi.Size(), true
	}
	return p
}

// report prints the packets read and the share of the input consumed, at most
// five times a second, over the same line.
func (p *progress) report(r pcap.Progress) {
	if !p.on || r.Done || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%d packets, %d%% ", r.Packets, 100*r.Bytes/p.size)
}

// finish clears the progress line.
func (p *progress) finish() {
	if p.on && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
