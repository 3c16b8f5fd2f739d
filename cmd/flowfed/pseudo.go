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

Reads IPv4/IPv6 addresses one per line (from the files, else stdin) and prints their
pseudonyms under the node's epoch key, one per line. Blank lines and lines starting
with # are skipped. An invalid line is reported on stderr with its line number, the
rest goes on, and the exit status is 1 at the end.

Modes: cryptopan (default; prefix-preserving), ipcrypt-pfx (prefix-preserving),
ipcrypt-det (deterministic, prefix not kept), ipcrypt-nd and ipcrypt-ndx
(non-deterministic: a fresh random tweak each time, printed as hex).

With --reverse it reads pseudonyms and prints the original addresses; that needs
the same epoch key (--epoch, as printed on stderr when they were made), mode and
domain. --domain pseudonymizes into a recipient domain (a peer or sharing group):
two domains cannot link each other's pseudonyms.

Examples:
  printf '192.0.2.1\n2001:db8::1\n' | flowfed pseudo --dir ./node1
  flowfed pseudo --dir ./node1 --reverse --epoch ek_3fz... pseudonyms.txt
`

func runPseudo(_ context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "pseudo", pseudoUsage)
	var df dataFlags
	df.register(fl, e)
	modeName := fl.String("mode", string(pseudo.ModeCryptoPAn), "pseudonymization `mode`: "+modeList())
	epoch := fl.String("epoch", "", "epoch key `ID` (default: the key of the current epoch)")
	domain := fl.String("domain", "", "recipient domain `name` (peer ID or group) to derive the key for")
	reverse := fl.Bool("reverse", false, "restore original addresses from pseudonyms")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	mode, err := pseudo.ParseMode(*modeName)
	if err != nil {
		return usagef("--mode: %v", err)
	}
	var epochID keyvault.KeyID
	if *epoch != "" {
		if epochID, err = keyvault.ParseKeyID(*epoch); err != nil {
			return usagef("--epoch: %v", err)
		}
	}
	key, keyID, err := pseudoKey(e, &df, epochID, *domain, mode)
	if err != nil {
		return err
	}
	tr, err := newAddrTransform(mode, key, *reverse)
	clear(key)
	if err != nil {
		return err
	}
	where := ""
	if *domain != "" {
		where = ", domain " + *domain
	}
	fmt.Fprintf(e.stderr, "# epoch key %s, mode %s%s\n", keyID, mode, where)

	inputs := fl.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	out := bufio.NewWriter(e.stdout)
	var bad, total int
	for _, name := range inputs {
		b, n, err := pseudoStream(e, out, name, tr)
		bad += b
		total += n
		if err != nil {
			out.Flush()
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d lines were invalid (listed above)", bad, total)
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
				return a.String(), nil
			}, nil
		}
		return func(s string) (string, error) {
			a, err := parse(s)
			if err != nil {
				return "", err
			}
			return m.Map(a).String(), nil
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

// pseudoStream transforms the lines of one input ("-" is stdin), reporting invalid
// lines on stderr. It returns the number of invalid and of non-blank lines.
func pseudoStream(e *env, out *bufio.Writer, name string, tr addrTransform) (bad, total int, err error) {
	var r io.Reader = e.stdin
	label := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return 0, 0, fmt.Errorf("opening input: %w", err)
		}
		defer f.Close()
		r, label = f, name
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		total++
		res, err := tr(line)
		if err != nil {
			bad++
			fmt.Fprintf(e.stderr, "%s:%d: %v\n", label, n, err)
			continue
		}
		out.WriteString(res)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return bad, total, fmt.Errorf("reading %s: a line is longer than 1 MiB", label)
		}
		return bad, total, fmt.Errorf("reading %s: %w", label, err)
	}
	return bad, total, nil
}
