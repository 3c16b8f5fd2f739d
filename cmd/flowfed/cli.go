package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/term"
)

// env is everything a command may touch outside its arguments, so that tests can run
// commands in-process with their own input, output and environment.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// stderrTTY is set when stderr is a terminal, for progress output.
	stderrTTY bool
	// tty, when non-nil, prompts on the controlling terminal without echo. It is nil
	// when stdin is not a terminal (scripts, tests), and commands then never prompt.
	tty passphrasePrompter
}

func newOSEnv() *env {
	return &env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		tty:    newTerminalPrompter(),

		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// command is one subcommand. run receives the arguments after the command name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists every subcommand; one file per command holds its run function.
func commands() []command {
	return []command{
		{"audit", "verify and read the hash-chained audit log; who received what", runAudit},
		{"datasets", "build, list, show and export labeled, privacy-gated datasets", runDatasets},
		{"erase", "erase artifacts, epochs or pseudonyms here and at every recipient", runErase},
		{"flows", "print the flows of captures (pseudonymized) without storing them", runFlows},
		{"ingest", "meter captures into pseudonymized flows in the node's store", runIngest},
		{"intel", "threat indicators and sightings: STIX/MISP in and out, match, publish", runIntel},
		{"init", "create a data directory, key vault and node identity", runInit},
		{"keys", "list, rotate, shred, back up, restore keys; change the passphrase", runKeys},
		{"pcap", "anonymize, restore or inspect packet captures for sharing", runPcap},
		{"model", "train and evaluate a baseline protocol classifier on datasets", runModel},
		{"peers", "list, add and remove the members of the federation", runPeers},
		{"policy", "check, explain, preview, diff and apply the sharing policy", runPolicy},
		{"pseudo", "pseudonymize (or restore) addresses read one per line", runPseudo},
		{"run", "run the node: libp2p host, protocols, admin API, metrics", runRun},
		{"synth", "write a synthetic sample capture (documentation addresses)", runSynth},
		{"testnet", "run a federation of organisations on this machine, end to end", runTestnet},
		{"version", "print the version", runVersion},
	}
}

const mainUsage = `flowfed runs a node of a federation that shares network security data:
it pseudonymizes local traffic under the member's own keys before anything is kept.

Usage:
  flowfed COMMAND [flags] [arguments]

Commands:
%s
Every command takes --help. Commands that use a node's data take --dir D
(default $FLOWFED_DIR, else ~/.flowfed) and read the vault passphrase from
--passphrase-file F, else $FLOWFED_PASSPHRASE, else a prompt on the terminal.

Example:
  flowfed init --dir ./node1
  echo 192.0.2.1 | flowfed pseudo --dir ./node1
`

func printMainUsage(w io.Writer) {
	var b strings.Builder
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

// errInterrupted is returned by a command stopped by Ctrl-C or SIGTERM; it exits
// with status 130.
var errInterrupted = errors.New("interrupted: run the same command again to complete the work")

// usageError marks an error in how a command was called; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run executes one invocation and returns the process exit status: 0 on success,
// 1 when the command failed, 2 when it was called wrongly.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printMainUsage(e.stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		printMainUsage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		}
		fmt.Fprintf(e.stderr, "flowfed %s: %v\n", name, err)
		if errors.Is(err, errInterrupted) {
			return 130
		}
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(e.stderr, "run 'flowfed %s --help' for usage\n", name)
			return 2
		}
		return 1
	}
	fmt.Fprintf(e.stderr, "flowfed: unknown command %q\n", name)
	printMainUsage(e.stderr)
	return 2
}

// newFlagSet returns a flag set that prints usage (with its example) to stdout on
// --help and reports parse errors as usage errors instead of exiting.
func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("flowfed "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprint(e.stdout, strings.TrimLeft(usage, "\n"))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			return // the command's flags come with its subcommands
		}
		fmt.Fprintln(e.stdout, "\nFlags:")
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args and turns every failure except --help into a usageError.
// Flags may come before or after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	// The flag package prints the usage on every parse error; print it only for
	// --help (to stdout), and a one-line error plus a hint otherwise.
	printUsage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = printUsage }()
	defer restricted.Delete(fs)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage()
				return err
			}
			return usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if v, ok := restricted.Load(fs); ok {
		allowed := v.(map[string]bool)
		var bad error
		fs.Visit(func(f *flag.Flag) {
			if !allowed[f.Name] && bad == nil {
				bad = usagef("--%s does not apply to %s", f.Name, strings.TrimPrefix(fs.Name(), "flowfed "))
			}
		})
		if bad != nil {
			return bad
		}
	}
	// Re-parse an empty list so fs.Args() reports the collected positionals.
	_ = fs.Parse(append([]string{"--"}, pos...))
	return nil
}

// dataFlags are the flags of every command that works on a node's data directory.
type dataFlags struct {
	dir            string
	passphraseFile string
}

func (d *dataFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&d.dir, "dir", defaultDir(e), "node data `directory` ($FLOWFED_DIR, else ~/.flowfed)")
	fs.StringVar(&d.passphraseFile, "passphrase-file", "", "read the vault passphrase from the first line of `file`")
}

func defaultDir(e *env) string {
	if d := e.getenv("FLOWFED_DIR"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".flowfed")
	}
	return ".flowfed"
}

// vaultPath is where the key vault lives inside a data directory.
func (d *dataFlags) vaultPath() string { return filepath.Join(d.dir, "vault.db") }

func runVersion(_ context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "version", `
Usage: flowfed version

Prints the version of this flowfed binary.

Example:
  flowfed version
`)
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "flowfed", version())
	return nil
}

// onlyFlags limits a flag set shared by several subcommands to the flags
// named (and the data flags): --help lists only them, and parseFlags
// refuses the others.
func onlyFlags(fs *flag.FlagSet, e *env, usage string, names ...string) {
	allowed := map[string]bool{"dir": true, "passphrase-file": true}
	for _, n := range names {
		allowed[n] = true
	}
	fs.Usage = func() {
		fmt.Fprint(e.stdout, strings.TrimLeft(usage, "\n"))
		shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
		fs.VisitAll(func(f *flag.Flag) {
			if allowed[f.Name] {
				shown.Var(f.Value, f.Name, f.Usage)
			}
		})
		fmt.Fprintln(e.stdout, "\nFlags:")
		shown.SetOutput(e.stdout)
		shown.PrintDefaults()
	}
	restricted.Store(fs, allowed)
}

// restricted holds the flags onlyFlags allows, per flag set
// (*flag.FlagSet → map[string]bool); parseFlags drops the entry.
var restricted sync.Map
