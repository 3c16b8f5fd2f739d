package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// errNoPassphrase is returned when no passphrase source is available.
var errNoPassphrase = errors.New("no passphrase given: use --passphrase-file, set FLOWFED_PASSPHRASE, or run in a terminal")

// passphrasePrompter asks for a secret on a terminal without echoing it.
type passphrasePrompter interface {
	prompt(label string) ([]byte, error)
}

// terminalPrompter prompts on /dev/tty so that a passphrase can be typed even when
// stdout is redirected.
type terminalPrompter struct{}

func newTerminalPrompter() passphrasePrompter {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return terminalPrompter{}
}

func (terminalPrompter) prompt(label string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening terminal: %w", err)
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if st, err := term.GetState(fd); err == nil {
		defer exitOnInterrupt(func() { _ = term.Restore(fd, st); fmt.Fprintln(tty) })()
	}
	fmt.Fprint(tty, label)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(tty)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("no passphrase entered")
	}
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	return p, nil
}

// exitOnInterrupt makes Ctrl-C end the process while a question waits for an
// answer (main otherwise turns SIGINT into a cancelled context, which a blocking
// terminal read never sees). restore runs first, to give the terminal its echo
// back. The returned function ends the watch.
func exitOnInterrupt(restore func()) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			restore()
			os.Exit(130)
		case <-done:
		}
	}()
	return func() { signal.Stop(sig); close(done) }
}

// passphraseSource names where a passphrase comes from: a file flag, an environment
// variable, and a prompt label, tried in that order.
type passphraseSource struct {
	file   string
	envVar string
	label  string
	// confirm asks twice on a terminal, for passphrases being set; such new
	// passphrases must have at least minPassphraseLen bytes.
	confirm bool
	// allowEmpty accepts an empty answer at the prompt and returns nil for it.
	allowEmpty bool
}

// minPassphraseLen is the shortest new passphrase accepted. Argon2id slows down
// guessing, but a very short passphrase is found anyway.
const minPassphraseLen = 8

// read returns the passphrase from the first available source. A passphrase file
// holds the passphrase on its first line; the line ending is not part of it.
func (s passphraseSource) read(e *env) ([]byte, error) {
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase file: %w", err)
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return nil, fmt.Errorf("passphrase file %s: first line is empty", s.file)
		}
		return s.check(line, "the passphrase in "+s.file)
	}
	if v := e.getenv(s.envVar); v != "" {
		return s.check([]byte(v), "$"+s.envVar)
	}
	if e.tty == nil {
		return nil, errNoPassphrase
	}
	p, err := e.tty.prompt(s.label + ": ")
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		if s.allowEmpty {
			return nil, nil
		}
		return nil, errors.New("empty passphrase")
	}
	if _, err := s.check(p, "the passphrase"); err != nil {
		return nil, err
	}
	if s.confirm {
		again, err := e.tty.prompt("Repeat the " + strings.ToLower(s.label[:1]) + s.label[1:] + ": ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the passphrases do not match")
		}
	}
	return p, nil
}

// check enforces the minimum length of a passphrase being set.
func (s passphraseSource) check(p []byte, what string) ([]byte, error) {
	if s.confirm && len(p) < minPassphraseLen {
		return nil, fmt.Errorf("%s is too short: a new passphrase needs at least %d characters", what, minPassphraseLen)
	}
	return p, nil
}

// confirm asks a yes/no question on the terminal; without a terminal it refuses.
func confirm(e *env, question string) bool {
	if e.tty == nil {
		return false
	}
	defer exitOnInterrupt(func() { fmt.Fprintln(e.stderr) })()
	fmt.Fprint(e.stderr, question+" [y/N] ")
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	return line == "y\n" || line == "yes\n"
}
