package policy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxErrors bounds the problems collected from one file.
const maxErrors = 50

// walker reads a yaml.Node tree and collects problems with their positions.
type walker struct {
	file string
	errs ErrorList
	more int // problems beyond maxErrors
}

// failAt records a problem at a line and column.
func (w *walker) failAt(line, col int, format string, args ...any) {
	if len(w.errs) >= maxErrors {
		w.more++
		return
	}
	line, col = max(line, 1), max(col, 1)
	// One problem, one line: values quoted in a message stay on it.
	msg := strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(fmt.Sprintf(format, args...))
	w.errs = append(w.errs, &ParseError{File: w.file, Line: line, Col: col, Msg: msg})
}

// count returns the number of problems found so far.
func (w *walker) count() int { return len(w.errs) + w.more }

// fail records a problem at node n.
func (w *walker) fail(n *yaml.Node, format string, args ...any) {
	w.failAt(n.Line, n.Column, format, args...)
}

// err returns the collected problems as an error, or nil.
func (w *walker) err() error {
	switch {
	case len(w.errs) == 0:
		return nil
	case len(w.errs) == 1:
		return w.errs[0]
	}
	if w.more > 0 {
		last := w.errs[len(w.errs)-1]
		w.errs = append(w.errs, &ParseError{File: w.file, Line: last.Line, Col: last.Col, Msg: fmt.Sprintf("%d more problems not shown", w.more)})
		w.more = 0
	}
	return w.errs
}

// usable rejects aliases, which the format does not use: they would let one
// node stand for many and hide where a value came from.
func (w *walker) usable(n *yaml.Node, what string) bool {
	if n.Kind == yaml.AliasNode {
		w.fail(n, "%s: YAML aliases are not supported", what)
		return false
	}
	return true
}

// field is one key of a mapping with the handler for its value.
type field struct {
	key      string
	required bool
	set      func(k, v *yaml.Node)
}

// mapping walks a mapping node, rejecting duplicate and unknown keys and
// reporting missing required ones at the mapping's position.
func (w *walker) mapping(n *yaml.Node, what string, fields []field) {
	if !w.usable(n, what) {
		return
	}
	if n.Kind != yaml.MappingNode {
		w.fail(n, "%s must be a mapping, not %s", what, describe(n))
		return
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			w.fail(k, "%s: keys must be plain strings", what)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			w.fail(k, "%s: key %q repeated (first at line %d)", what, k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		var f *field
		for j := range fields {
			if fields[j].key == k.Value {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			w.fail(k, "%s: unknown key %q (known: %s)", what, k.Value, knownKeys(fields))
			continue
		}
		if !w.usable(v, what+"."+k.Value) {
			continue
		}
		f.set(k, v)
	}
	for _, f := range fields {
		if f.required && seen[f.key] == nil {
			w.fail(n, "%s: missing required key %q", what, f.key)
		}
	}
}

func knownKeys(fields []field) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

// describe names the kind of a node for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.ShortTag(), "!!"), clip(n.Value))
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// scalar returns the text of a scalar node. Any resolved tag is accepted
// (an org named 1234 is the string "1234"); null and explicit custom tags are
// not.
func (w *walker) scalar(n *yaml.Node, what string) (string, bool) {
	if !w.usable(n, what) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		w.fail(n, "%s must be a single value, not %s", what, describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool":
	case "!!null":
		w.fail(n, "%s must not be empty", what)
		return "", false
	default:
		w.fail(n, "%s: tag %q is not supported", what, clip(n.Tag))
		return "", false
	}
	return n.Value, true
}

// item is one element of a list with its node, for positions in later checks.
type item struct {
	s string
	n *yaml.Node
}

// list reads a list of scalars. A single scalar is read as a list of one and
// an empty value as an empty list.
func (w *walker) list(n *yaml.Node, what string) []item {
	if !w.usable(n, what) {
		return nil
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return nil
	case n.Kind == yaml.ScalarNode:
		if s, ok := w.scalar(n, what); ok {
			return []item{{s, n}}
		}
		return nil
	case n.Kind != yaml.SequenceNode:
		w.fail(n, "%s must be a list, not %s", what, describe(n))
		return nil
	}
	out := make([]item, 0, len(n.Content))
	for _, c := range n.Content {
		if s, ok := w.scalar(c, what+" item"); ok {
			out = append(out, item{s, c})
		}
	}
	return out
}

// sequence returns the elements of a list node; an empty value is an empty list.
func (w *walker) sequence(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		w.fail(n, "%s must be a list, not %s", what, describe(n))
		return nil
	}
	return n.Content
}

// integer reads a decimal integer in [lo, hi].
func (w *walker) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	s, ok := w.scalar(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || n.ShortTag() != "!!int" {
		w.fail(n, "%s must be a whole number, not %q", what, clip(s))
		return 0, false
	}
	if v < lo || v > hi {
		w.fail(n, "%s must be between %d and %d, not %d", what, lo, hi, v)
		return 0, false
	}
	return v, true
}

// boolean reads true or false.
func (w *walker) boolean(n *yaml.Node, what string) (bool, bool) {
	s, ok := w.scalar(n, what)
	if !ok {
		return false, false
	}
	switch {
	case n.ShortTag() == "!!bool" && strings.EqualFold(s, "true"):
		return true, true
	case n.ShortTag() == "!!bool" && strings.EqualFold(s, "false"):
		return false, true
	}
	w.fail(n, "%s must be true or false, not %q", what, clip(s))
	return false, false
}

// isToken reports whether s is a name: 1 to max characters of ASCII letters,
// digits, '.', '_' and '-', starting with a letter or digit.
func isToken(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// isText reports whether s is printable text of at most maxLen bytes.
func isText(s string, maxLen int) bool {
	if strings.TrimSpace(s) == "" || len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}
