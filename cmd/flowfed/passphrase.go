package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"

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
	fmt.Fprint(tty, label)
	p, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	return p, nil
}

// passphraseSource names where a passphrase comes from: a file flag, an environment
// variable, and a prompt label, tried in that order.
type passphraseSource struct {
	file   string
	envVar string
	label  string
	// confirm asks twice on a terminal, for passphrases being set.
	confirm bool
}

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
		return line, nil
	}
	if v := e.getenv(s.envVar); v != "" {
		return []byte(v), nil
	}
	if e.tty == nil {
		return nil, errNoPassphrase
	}
	p, err := e.tty.prompt(s.label + ": ")
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if s.confirm {
		again, err := e.tty.prompt("Repeat " + s.label + ": ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the passphrases do not match")
		}
	}
	return p, nil
}

// confirm asks a yes/no question on the terminal; without a terminal it refuses.
func confirm(e *env, question string) bool {
	if e.tty == nil {
		return false
	}
	fmt.Fprint(e.stderr, question+" [y/N] ")
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	return line == "y\n" || line == "yes\n"
}
