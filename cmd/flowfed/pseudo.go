package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/share/pseudo"
)

const pseudoUsage = `
Usage: flowfed pseudo [--dir D] [--mode M] [--epoch ID] [--domain NAME] [--reverse] [FILE...]

Reads IPv4/IPv6 addresses one per line (from the files, else stdin) and prints
their pseudonyms under the node's epoch key, one output line per input line.
The first output line is a header naming the key, mode and domain used, so that
--reverse can find them again (--no-header leaves it out). Blank lines stay blank
and other # lines are copied. An invalid line gives an empty output line and a
message on stderr with its line number; the rest goes on, and the exit status is
1 at the end.

Without --epoch the key of the current epoch is used; the vault creates it when
the epoch has none yet.

Modes: cryptopan (default; prefix-preserving), ipcrypt-pfx (prefix-preserving),
ipcrypt-det (deterministic, prefix not kept), ipcrypt-nd and ipcrypt-ndx
(non-deterministic: a fresh random tweak each time, printed as hex).

--reverse reads pseudonyms and prints the original addresses. It takes the key,
mode and domain from the header line; without a header they must be given with
--epoch, --mode and --domain. A pseudonym reversed under another key, mode or
domain gives a wrong address that looks right, which is why the header exists.
--domain pseudonymizes into a recipient domain (a peer or sharing group): two
domains cannot link each other's pseudonyms.

Examples:
  printf '192.0.2.1\n2001:db8::1\n' | flowfed pseudo --dir ./node1 > pseudonyms.txt
  flowfed pseudo --dir ./node1 --reverse pseudonyms.txt
`

// pseudoHeader starts the header line that names the key, mode and domain.
const pseudoHeader = "# flowfed-pseudo"

// pseudoParams are the key, mode and domain a list of pseudonyms was made under.
type pseudoParams struct {
	epoch  keyvault.KeyID
	mode   pseudo.Mode
	domain string
}

func (p pseudoParams) header() string {
	h := fmt.Sprintf("%s key=%s mode=%s", pseudoHeader, p.epoch, p.mode)
	if p.domain != "" {
		h += " domain=" + p.domain
	}
	return h
}

// parsePseudoHeader reads a header line written by header.
func parsePseudoHeader(line string) (pseudoParams, error) {
	var p pseudoParams
	for _, f := range strings.Fields(strings.TrimPrefix(line, pseudoHeader)) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return p, fmt.Errorf("header field %q is not key=value", f)
		}
		var err error
		switch k {
		case "key":
			p.epoch, err = keyvault.ParseKeyID(v)
		case "mode":
			p.mode, err = pseudo.ParseMode(v)
		case "domain":
			p.domain = v
		}
		if err != nil {
			return p, fmt.Errorf("header field %s: %w", k, err)
		}
	}
	if p.epoch.IsZero() || p.mode == "" {
		return p, errors.New("header names no key or no mode")
	}
	return p, nil
}

func runPseudo(_ context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "pseudo", pseudoUsage)
	var df dataFlags
	df.register(fl, e)
	modeName := fl.String("mode", "", "pseudonymization `mode`: "+modeList()+" (default cryptopan)")
	epoch := fl.String("epoch", "", "epoch key `ID` (default: the key of the current epoch)")
	domain := fl.String("domain", "", "recipient domain `name` (peer ID or group) to derive the key for")
	reverse := fl.Bool("reverse", false, "restore original addresses from pseudonyms")
	noHeader := fl.Bool("no-header", false, "do not print the header line naming key, mode and domain")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	var flags pseudoParams
	var err error
	if *modeName != "" {
		if flags.mode, err = pseudo.ParseMode(*modeName); err != nil {
			return usagef("--mode: %v", err)
		}
	}
	if *epoch != "" {
		if flags.epoch, err = keyvault.ParseKeyID(*epoch); err != nil {
			return usagef("--epoch: %v", err)
		}
	}
	flags.domain = *domain
	r := &pseudoRun{e: e, df: &df, reverse: *reverse, flags: flags}
	if !*reverse {
		if flags.mode == "" {
			r.flags.mode = pseudo.ModeCryptoPAn
		}
		if err := r.configure(r.flags); err != nil {
			return err
		}
	}
	inputs := fl.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	out := bufio.NewWriter(e.stdout)
	if !*reverse && !*noHeader {
		out.WriteString(r.params.header() + "\n")
	}
	for _, name := range inputs {
		if err := r.stream(out, name); err != nil {
			out.Flush()
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if r.bad > 0 {
		return fmt.Errorf("%d of %d lines were invalid (listed above)", r.bad, r.total)
	}
	return nil
}

// pseudoRun is one run of flowfed pseudo. In reverse mode the key is chosen by
// the first header line, or by the flags when the input has none.
type pseudoRun struct {
	e          *env
	df         *dataFlags
	reverse    bool
	flags      pseudoParams // as given on the command line
	params     pseudoParams // in use, once configured
	tr         addrTransform
	bad, total int
}

// configure unlocks the vault and builds the transform for p.
func (r *pseudoRun) configure(p pseudoParams) error {
	key, id, err := pseudoKey(r.e, r.df, p.epoch, p.domain, p.mode)
	if err != nil {
		return err
	}
	tr, err := newAddrTransform(p.mode, key, r.reverse)
	clear(key)
	if err != nil {
		return err
	}
	p.epoch = id
	r.params, r.tr = p, tr
	return nil
}

// fromHeader configures a reverse run from a header line, refusing flags that
// contradict it and a second header that differs from the first.
func (r *pseudoRun) fromHeader(line string) error {
	h, err := parsePseudoHeader(line)
	if err != nil {
		return err
	}
	f := r.flags
	switch {
	case !f.epoch.IsZero() && f.epoch != h.epoch:
		return fmt.Errorf("--epoch %s contradicts the header's key %s", f.epoch, h.epoch)
	case f.mode != "" && f.mode != h.mode:
		return fmt.Errorf("--mode %s contradicts the header's mode %s", f.mode, h.mode)
	case f.domain != "" && f.domain != h.domain:
		return fmt.Errorf("--domain %s contradicts the header's domain %q", f.domain, h.domain)
	}
	if r.tr != nil {
		if h != r.params {
			return fmt.Errorf("the header %q differs from the one before; reverse each list on its own", line)
		}
		return nil
	}
	return r.configure(h)
}

// fromFlags configures a reverse run whose input has no header.
func (r *pseudoRun) fromFlags() error {
	if r.flags.epoch.IsZero() {
		return errors.New("the input has no '" + pseudoHeader + "' header line: say which key made the pseudonyms with --epoch ID (and --mode and --domain as when they were made)")
	}
	p := r.flags
	if p.mode == "" {
		p.mode = pseudo.ModeCryptoPAn
	}
	return r.configure(p)
}

// stream transforms the lines of one input ("-" is stdin).
func (r *pseudoRun) stream(out *bufio.Writer, name string) error {
	var in io.Reader = r.e.stdin
	label := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("opening input: %w", err)
		}
		defer f.Close()
		in, label = f, name
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			out.WriteByte('\n')
			continue
		case strings.HasPrefix(line, pseudoHeader):
			if !r.reverse {
				return fmt.Errorf("%s:%d: this is a list of pseudonyms (it has a header): use --reverse", label, n)
			}
			if err := r.fromHeader(line); err != nil {
				return fmt.Errorf("%s:%d: %w", label, n, err)
			}
			continue
		case strings.HasPrefix(line, "#"):
			out.WriteString(line + "\n")
			continue
		}
		if r.tr == nil {
			if err := r.fromFlags(); err != nil {
				return err
			}
		}
		r.total++
		res, err := r.tr(line)
		if err != nil {
			r.bad++
			fmt.Fprintf(r.e.stderr, "%s:%d: %v\n", label, n, err)
			out.WriteByte('\n')
			continue
		}
		out.WriteString(res)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("reading %s: a line is longer than 1 MiB", label)
		}
		return fmt.Errorf("reading %s: %w", label, err)
	}
	return nil
}

func modeList() string {
	var s []string
	for _, m := range pseudo.Modes() {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}

// pseudoKey unlocks the vault and derives the key material for mode from the
// chosen epoch key, or from its recipient-domain key when domain is set.
func pseudoKey(e *env, df *dataFlags, id keyvault.KeyID, domain string, mode pseudo.Mode) ([]byte, keyvault.KeyID, error) {
	v, err := openVault(e, df)
	if err != nil {
		return nil, keyvault.KeyID{}, err
	}
	defer v.Close()
	var ek keyvault.EpochKey
	if id.IsZero() {
		ek, err = v.EpochFor(time.Now())
	} else {
		ek, err = v.Key(id)
	}
	if err != nil {
		return nil, keyvault.KeyID{}, err
	}
	if domain == "" {
		return ek.PseudoKey(string(mode), mode.KeySize()), ek.ID(), nil
	}
	dk, err := ek.Domain(domain)
	if err != nil {
		return nil, keyvault.KeyID{}, err
	}
	return dk.PseudoKey(string(mode), mode.KeySize()), ek.ID(), nil
}

// addrTransform turns one input line into one output line.
type addrTransform func(line string) (string, error)

func newAddrTransform(mode pseudo.Mode, key []byte, reverse bool) (addrTransform, error) {
	parse := func(s string) (netip.Addr, error) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("not an IP address: %q", s)
		}
		return a, nil
	}
	if mode.FormatPreserving() {
		m, err := pseudo.NewAddrMapper(mode, key)
		if err != nil {
			return nil, err
		}
		if reverse {
			return func(s string) (string, error) {
				p, err := parse(s)
				if err != nil {
					return "", err
				}
				a, err := m.Unmap(p)
				if err != nil {
					return "", err
				}
				return withZone(a, p.Zone()), nil
			}, nil
		}
		return func(s string) (string, error) {
			a, err := parse(s)
			if err != nil {
				return "", err
			}
			return withZone(m.Map(a), a.Zone()), nil
		}, nil
	}
	// The non-deterministic modes print tweak||ciphertext as hex.
	var enc func(netip.Addr) ([]byte, error)
	var dec func([]byte) (netip.Addr, error)
	switch mode {
	case pseudo.ModeND:
		c, err := pseudo.NewIPCryptND(key)
		if err != nil {
			return nil, err
		}
		enc = func(a netip.Addr) ([]byte, error) { o, err := c.EncryptRandom(a); return o[:], err }
		dec = c.Decrypt
	case pseudo.ModeNDX:
		c, err := pseudo.NewIPCryptNDX(key)
		if err != nil {
			return nil, err
		}
		enc = func(a netip.Addr) ([]byte, error) { o, err := c.EncryptRandom(a); return o[:], err }
		dec = c.Decrypt
	default:
		return nil, fmt.Errorf("mode %s is not supported here", mode)
	}
	if reverse {
		return func(s string) (string, error) {
			b, err := hex.DecodeString(s)
			if err != nil {
				return "", fmt.Errorf("not a hex %s pseudonym: %q", mode, s)
			}
			a, err := dec(b)
			if err != nil {
				return "", err
			}
			return a.String(), nil
		}, nil
	}
	return func(s string) (string, error) {
		a, err := parse(s)
		if err != nil {
			return "", err
		}
		b, err := enc(a)
		if err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	}, nil
}

// withZone prints a with an IPv6 zone (an interface name, local to the host that
// wrote it) carried over from the input.
func withZone(a netip.Addr, zone string) string {
	if zone != "" && a.Is6() {
		return a.WithZone(zone).String()
	}
	return a.String()
}
