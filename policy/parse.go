package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowfed/flowfed/share/usage"
)

// MaxFileSize is the largest policy file Parse and Load read (1 MiB).
const MaxFileSize = 1 << 20

// FormatVersion is the policy file version this package reads.
const FormatVersion = 1

// Limits of values in a policy file.
const (
	maxNameLen     = 64      // rule, group, domain, purpose names
	maxPeerIDLen   = 128     // peer IDs
	maxTextLen     = 256     // orgs, descriptions, contact
	maxKMin        = 1 << 20 // k_min
	maxRetention   = 3650    // days
	minTimeUnit    = time.Second
	maxTimeUnit    = 366 * 24 * time.Hour
	day            = 24 * time.Hour
	peerDomainPfx  = "peer:"
	builtinRulePfx = "builtin:"
)

// Load reads and compiles the policy file at path. Errors name path:line:col.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", path, err)
	}
	return Parse(path, src)
}

// Parse compiles a policy file. name is used in positions ("name:line:col")
// and in [Decision.Pos]. The error is a *ParseError or an [ErrorList] of
// them, each wrapping [ErrInvalid], or wraps [ErrTooLarge].
func Parse(name string, src []byte) (p *Policy, err error) {
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("parsing policy %s: %w (%d bytes, limit %d)", name, ErrTooLarge, len(src), MaxFileSize)
	}
	// The YAML parser is third-party code fed untrusted bytes; a panic in
	// it must not take down the node.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &ParseError{File: name, Line: 1, Col: 1, Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	w := &walker{file: name}
	root := w.document(src)
	if root == nil {
		return nil, w.err()
	}
	// Cross-references are checked even when some values were bad, so
	// that one run reports every problem; entries without a usable name
	// are left out of the checks.
	p = compile(w, w.readFile(root), src)
	if e := w.err(); e != nil {
		return nil, e
	}
	return p, nil
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses src into the root mapping node, reporting syntax errors
// and extra documents.
func (w *walker) document(src []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			w.failAt(1, 1, "empty policy file (want a mapping with version: %d)", FormatVersion)
		} else {
			w.syntax(src, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		w.failAt(extra.Line, extra.Column, "more than one YAML document (a policy file holds one)")
		return nil
	case !errors.Is(err, io.EOF):
		w.syntax(src, err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		w.failAt(1, 1, "empty policy file (want a mapping with version: %d)", FormatVersion)
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		w.fail(root, "a policy file must be a mapping, not %s", describe(root))
		return nil
	}
	return root
}

// parserProblems are the messages of the YAML parser (as opposed to its
// scanner). The parser reports their line counted from 0 and leaves it out
// on the first line; scanner errors count from 1.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

var yamlAnchorRe = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// syntax turns a YAML syntax error into a positioned problem. The parser
// reports only a line (for an unclosed collection, the line where it
// starts); the column is that of the line's first non-blank character.
func (w *walker) syntax(src []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, col := 0, 0
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if slices.Contains(parserProblems, msg) {
		line++
	}
	if m := yamlAnchorRe.FindStringSubmatch(err.Error()); m != nil {
		// An alias before its anchor: point at the alias.
		if i := bytes.Index(src, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(src[:i], []byte("\n"))
			col = i - bytes.LastIndexByte(src[:i], '\n')
		}
	}
	line = max(line, 1)
	if col == 0 {
		col = firstColumn(src, line)
	}
	w.failAt(line, col, "YAML syntax: %s", msg)
}

// firstColumn returns the column of the first non-blank character of line
// (1 when the line is blank or absent).
func firstColumn(src []byte, line int) int {
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return 1
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	for i, c := range src {
		if c != ' ' && c != '\t' && c != '\r' {
			return i + 1
		}
	}
	return 1
}

// The spec types hold a file as read, with nodes for positions, before the
// cross-references are checked and the rules compiled.
type (
	fileSpec struct {
		self   selfSpec
		groups []groupSpec
		peers  []peerSpec
		rules  []ruleSpec
	}
	selfSpec struct {
		id, org, contact string
		idNode           *yaml.Node
	}
	groupSpec struct {
		node        *yaml.Node
		name        item
		domain      string
		description string
	}
	peerSpec struct {
		node     *yaml.Node
		id       item
		org      string
		groups   []item
		purposes []string
		domain   string
	}
	selectorSpec struct {
		node                *yaml.Node
		all                 bool
		peers, orgs, groups []item
	}
	ruleSpec struct {
		node          *yaml.Node
		dir           Direction
		name          item
		description   string
		forbid        bool
		effectSet     bool
		sel           selectorSpec
		kinds         uint32
		kindNames     []string
		source        source
		tlp           usage.TLP
		tlpNode       *yaml.Node
		pap           usage.PAP
		purposes      []string
		bases         []string
		kmin          int
		retention     int
		reshare       usage.Reshare
		domain        string
		min           *Minimise
		permitOnly    []*yaml.Node // keys that only permit rules may have
		permitOnlyKey []string
	}
)

// source restricts a rule to local or received artifacts (egress) or to
// artifacts sent by their originator or forwarded (ingress).
type source uint8

const (
	sourceAny source = iota
	sourceLocal
	sourceReceived
	sourceDirect
	sourceForwarded
)

var sourceNames = [...]string{"any", "local", "received", "direct", "forwarded"}

func (s source) String() string { return sourceNames[s] }

// readFile reads the top-level mapping.
func (w *walker) readFile(root *yaml.Node) *fileSpec {
	spec := &fileSpec{}
	// The version decides how everything else is read, so it is checked
	// first and alone.
	var version *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "version" {
			version = root.Content[i+1]
		}
	}
	if version == nil {
		w.fail(root, "missing required key \"version\" (this flowfed reads version %d)", FormatVersion)
		return spec
	}
	if v, ok := w.scalar(version, "version"); ok && (v != strconv.Itoa(FormatVersion) || version.ShortTag() != "!!int") {
		w.fail(version, "unsupported policy version %q (this flowfed reads version %d)", clip(v), FormatVersion)
	}
	if len(w.errs) > 0 {
		return spec
	}
	w.mapping(root, "policy", []field{
		{key: "version", required: true, set: func(_, _ *yaml.Node) {}},
		{key: "self", set: func(_, v *yaml.Node) { spec.self = w.readSelf(v) }},
		{key: "groups", set: func(_, v *yaml.Node) {
			for _, g := range w.sequence(v, "groups") {
				spec.groups = append(spec.groups, w.readGroup(g))
			}
		}},
		{key: "peers", set: func(_, v *yaml.Node) {
			for _, p := range w.sequence(v, "peers") {
				spec.peers = append(spec.peers, w.readPeer(p))
			}
		}},
		{key: "egress", set: func(_, v *yaml.Node) {
			for _, r := range w.sequence(v, "egress") {
				spec.rules = append(spec.rules, w.readRule(r, Egress))
			}
		}},
		{key: "ingress", set: func(_, v *yaml.Node) {
			for _, r := range w.sequence(v, "ingress") {
				spec.rules = append(spec.rules, w.readRule(r, Ingress))
			}
		}},
	})
	return spec
}

func (w *walker) readSelf(n *yaml.Node) selfSpec {
	var s selfSpec
	w.mapping(n, "self", []field{
		{key: "id", set: func(_, v *yaml.Node) {
			s.id, s.idNode = w.peerID(v, "self.id"), v
		}},
		{key: "org", set: func(_, v *yaml.Node) { s.org = w.text(v, "self.org") }},
		{key: "contact", set: func(_, v *yaml.Node) { s.contact = w.text(v, "self.contact") }},
	})
	return s
}

func (w *walker) readGroup(n *yaml.Node) groupSpec {
	g := groupSpec{node: n}
	w.mapping(n, "group", []field{
		{key: "name", required: true, set: func(_, v *yaml.Node) {
			g.name = item{w.name(v, "group name"), v}
		}},
		{key: "domain", set: func(_, v *yaml.Node) { g.domain = w.domain(v, "group domain") }},
		{key: "description", set: func(_, v *yaml.Node) { g.description = w.text(v, "group description") }},
	})
	return g
}

func (w *walker) readPeer(n *yaml.Node) peerSpec {
	p := peerSpec{node: n}
	w.mapping(n, "peer", []field{
		{key: "id", required: true, set: func(_, v *yaml.Node) { p.id = item{w.peerID(v, "peer id"), v} }},
		{key: "org", required: true, set: func(_, v *yaml.Node) { p.org = w.text(v, "peer org") }},
		{key: "groups", set: func(_, v *yaml.Node) {
			for _, it := range w.list(v, "peer groups") {
				if w.checkName(it, "group name") {
					p.groups = append(p.groups, it)
				}
			}
		}},
		{key: "purposes", set: func(_, v *yaml.Node) { p.purposes = w.purposes(v, "peer purposes") }},
		{key: "domain", set: func(_, v *yaml.Node) { p.domain = w.domain(v, "peer domain") }},
	})
	return p
}

// readRule reads one egress or ingress rule.
func (w *walker) readRule(n *yaml.Node, dir Direction) ruleSpec {
	r := ruleSpec{node: n, dir: dir}
	what := dir.String() + " rule"
	recipient, otherRecipient := "to", "from"
	srcLocal, srcRemote := sourceLocal, sourceReceived
	if dir == Ingress {
		recipient, otherRecipient = "from", "to"
		srcLocal, srcRemote = sourceDirect, sourceForwarded
	}
	permitOnly := func(k *yaml.Node) {
		r.permitOnly = append(r.permitOnly, k)
		r.permitOnlyKey = append(r.permitOnlyKey, k.Value)
	}
	fields := []field{
		{key: "name", required: true, set: func(_, v *yaml.Node) {
			r.name = item{w.name(v, what+" name"), v}
		}},
		{key: "description", set: func(_, v *yaml.Node) { r.description = w.text(v, what+" description") }},
		{key: "effect", required: true, set: func(_, v *yaml.Node) {
			s, ok := w.scalar(v, what+" effect")
			switch {
			case !ok:
			case s == "permit":
				r.effectSet = true
			case s == "forbid":
				r.effectSet, r.forbid = true, true
			default:
				w.fail(v, "%s effect must be permit or forbid, not %q", what, clip(s))
			}
		}},
		{key: recipient, required: true, set: func(_, v *yaml.Node) { r.sel = w.selector(v, what+" "+recipient) }},
		{key: otherRecipient, set: func(k, _ *yaml.Node) {
			w.fail(k, "%s: key %q belongs to %s rules; %s rules use %q", what, otherRecipient, otherDir(dir), dir, recipient)
		}},
		{key: "kinds", required: true, set: func(_, v *yaml.Node) {
			items := w.list(v, what+" kinds")
			for _, it := range items {
				if it.s == "*" {
					r.kinds = allKinds
					r.kindNames = append(r.kindNames, "*")
					continue
				}
				i := kindIndex(strings.ToLower(it.s))
				if i < 0 {
					w.fail(it.n, "%s: unknown kind %q (known: %s, or * for all)", what, clip(it.s), strings.Join(kinds[:], ", "))
					continue
				}
				r.kinds |= 1 << i
				r.kindNames = append(r.kindNames, kinds[i])
			}
			if len(items) == 0 {
				w.fail(v, "%s: kinds must name at least one kind (or * for all)", what)
			}
			r.kindNames = compactSorted(r.kindNames)
		}},
		{key: "source", set: func(_, v *yaml.Node) {
			s, ok := w.scalar(v, what+" source")
			switch {
			case !ok:
			case s == "any":
			case s == srcLocal.String():
				r.source = srcLocal
			case s == srcRemote.String():
				r.source = srcRemote
			default:
				w.fail(v, "%s source must be %s, %s or any, not %q", what, srcLocal, srcRemote, clip(s))
			}
		}},
		{key: "tlp", set: func(_, v *yaml.Node) {
			if s, ok := w.scalar(v, what+" tlp"); ok {
				t, err := usage.ParseTLP(s)
				if err != nil {
					w.fail(v, "%s tlp: unknown label %q (want CLEAR, GREEN, AMBER, AMBER+STRICT or RED)", what, clip(s))
				}
				r.tlp, r.tlpNode = t, v
			}
		}},
		{key: "pap", set: func(_, v *yaml.Node) {
			if s, ok := w.scalar(v, what+" pap"); ok {
				pp, err := usage.ParsePAP(s)
				if err != nil {
					w.fail(v, "%s pap: unknown label %q (want CLEAR, GREEN, AMBER or RED)", what, clip(s))
				}
				r.pap = pp
			}
		}},
		{key: "purposes", set: func(_, v *yaml.Node) {
			r.purposes = w.purposes(v, what+" purposes")
			if r.purposes == nil {
				r.purposes = []string{}
			}
			if len(r.purposes) == 0 {
				w.fail(v, "%s purposes must name at least one purpose (leave the key out for any)", what)
			}
		}},
		{key: "legal_basis", set: func(_, v *yaml.Node) {
			items := w.list(v, what+" legal_basis")
			for _, it := range items {
				b := strings.ToLower(strings.TrimSpace(it.s))
				if !slices.Contains(legalBases[:], b) {
					w.fail(it.n, "%s: unknown legal basis %q (known: %s)", what, clip(it.s), strings.Join(legalBases[:], ", "))
					continue
				}
				r.bases = append(r.bases, b)
			}
			r.bases = compactSorted(r.bases)
			if len(items) == 0 {
				w.fail(v, "%s legal_basis must name at least one basis (leave the key out for any)", what)
			}
		}},
		{key: "k_min", set: func(_, v *yaml.Node) {
			r.kmin, _ = w.integer(v, what+" k_min", 1, maxKMin)
		}},
		{key: "retention", set: func(k, v *yaml.Node) {
			permitOnly(k)
			r.retention = w.retention(v, what+" retention")
		}},
		{key: "reshare", set: func(k, v *yaml.Node) {
			permitOnly(k)
			if s, ok := w.scalar(v, what+" reshare"); ok {
				rs, err := usage.ParseReshare(s)
				if err != nil {
					w.fail(v, "%s reshare must be none, group or community, not %q", what, clip(s))
				}
				r.reshare = rs
			}
		}},
		{key: "minimise", set: func(k, v *yaml.Node) {
			if dir == Ingress {
				// The originator's signature covers the payload, and a node
				// keeps what it accepts as signed.
				w.fail(k, "%s: minimise applies to egress rules only: an accepted artifact is kept as its originator signed it (refuse what is too detailed with a forbid rule, or ask the sender to minimise)", what)
				return
			}
			permitOnly(k)
			m := w.minimise(v, what+" minimise")
			r.min = &m
		}},
	}
	if dir == Egress {
		fields = append(fields, field{key: "domain", set: func(k, v *yaml.Node) {
			permitOnly(k)
			r.domain = w.domain(v, what+" domain")
		}})
	}
	w.mapping(n, what, fields)
	if r.forbid {
		for i, k := range r.permitOnly {
			w.fail(k, "%s %q: %s applies only to permit rules", what, r.name.s, r.permitOnlyKey[i])
		}
	} else if r.effectSet && dir == Egress && r.tlp == 0 {
		w.fail(n, "%s %q: a permit rule must set tlp, the highest TLP it releases", what, r.name.s)
	}
	return r
}

func otherDir(d Direction) Direction { return 1 - d }

// selector reads the recipients (egress "to") or senders (ingress "from") of
// a rule: "all", or a mapping of peers, orgs, groups and all.
func (w *walker) selector(n *yaml.Node, what string) selectorSpec {
	s := selectorSpec{node: n}
	before := w.count()
	if n.Kind == yaml.ScalarNode {
		if v, ok := w.scalar(n, what); ok {
			if v != "all" {
				w.fail(n, "%s must be all or a mapping of peers, orgs and groups, not %q", what, clip(v))
			}
			s.all = true
		}
		return s
	}
	w.mapping(n, what, []field{
		{key: "all", set: func(_, v *yaml.Node) { s.all, _ = w.boolean(v, what+".all") }},
		{key: "peers", set: func(_, v *yaml.Node) {
			for _, it := range w.list(v, what+".peers") {
				if w.checkPeerID(it, what+".peers") {
					s.peers = append(s.peers, it)
				}
			}
		}},
		{key: "orgs", set: func(_, v *yaml.Node) {
			for _, it := range w.list(v, what+".orgs") {
				if isText(it.s, maxTextLen) {
					s.orgs = append(s.orgs, it)
				} else {
					w.fail(it.n, "%s.orgs: %q is not an organisation name", what, clip(it.s))
				}
			}
		}},
		{key: "groups", set: func(_, v *yaml.Node) {
			for _, it := range w.list(v, what+".groups") {
				if w.checkName(it, what+".groups") {
					s.groups = append(s.groups, it)
				}
			}
		}},
	})
	if n.Kind == yaml.MappingNode && !s.all && len(s.peers)+len(s.orgs)+len(s.groups) == 0 && w.count() == before {
		w.fail(n, "%s names no one (use all: true, peers, orgs or groups)", what)
	}
	return s
}

// minimise reads the minimisation of a permit rule.
func (w *walker) minimise(n *yaml.Node, what string) Minimise {
	m := NoMinimise()
	w.mapping(n, what, []field{
		{key: "drop_ports", set: func(_, v *yaml.Node) { m.DropPorts, _ = w.boolean(v, what+".drop_ports") }},
		{key: "time_unit", set: func(_, v *yaml.Node) {
			s, ok := w.scalar(v, what+".time_unit")
			if !ok {
				return
			}
			d, err := parseDuration(s)
			switch {
			case err != nil:
				w.fail(v, "%s.time_unit: %v", what, err)
			case d < minTimeUnit || d > maxTimeUnit || d%time.Second != 0:
				w.fail(v, "%s.time_unit must be whole seconds between 1s and 366d, not %q", what, clip(s))
			default:
				m.TimeUnit = d
			}
		}},
		{key: "prefix_v4", set: func(_, v *yaml.Node) {
			if x, ok := w.integer(v, what+".prefix_v4", 0, 32); ok {
				m.PrefixV4 = x
			}
		}},
		{key: "prefix_v6", set: func(_, v *yaml.Node) {
			if x, ok := w.integer(v, what+".prefix_v6", 0, 128); ok {
				m.PrefixV6 = x
			}
		}},
		{key: "drop_fields", set: func(_, v *yaml.Node) {
			for _, it := range w.list(v, what+".drop_fields") {
				if !w.checkName(it, what+".drop_fields") {
					continue
				}
				f := strings.ToLower(it.s)
				if !droppable(f) {
					w.fail(it.n, "%s.drop_fields: unknown field %q (datasets: %s; indicators: %s; sightings: %s)", what, clip(it.s),
						strings.Join(DroppableFields[KindDataset], ", "), strings.Join(DroppableFields[KindIndicator], ", "),
						strings.Join(DroppableFields[KindSighting], ", "))
					continue
				}
				m.DropFields = append(m.DropFields, f)
			}
			m.DropFields = compactSorted(m.DropFields)
		}},
	})
	return m
}

// retention reads a maximum retention: "90d", "12w" or hours that make
// whole days ("2160h"), returned in days.
func (w *walker) retention(n *yaml.Node, what string) int {
	s, ok := w.scalar(n, what)
	if !ok {
		return 0
	}
	if n.ShortTag() == "!!int" {
		w.fail(n, "%s needs a unit: write %sd for days", what, clip(s))
		return 0
	}
	d, err := parseDuration(s)
	switch {
	case err != nil:
		w.fail(n, "%s: %q is not a retention: write whole days or weeks, e.g. 30d, 26w (a year is 365d)", what, clip(s))
		return 0
	case d%day != 0 || d < day || d > maxRetention*day:
		w.fail(n, "%s must be whole days between 1d and %dd, not %q", what, maxRetention, clip(s))
		return 0
	}
	return int(d / day)
}

// parseDuration reads a Go duration or a whole number of days ("30d") or
// weeks ("2w").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) > 1 && (s[len(s)-1] == 'd' || s[len(s)-1] == 'w') {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("%q is not a duration (want e.g. 1h, 30d, 2w)", clip(s))
		}
		if s[len(s)-1] == 'w' {
			n *= 7
		}
		return time.Duration(n) * day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 1h, 30d, 2w)", clip(s))
	}
	return d, nil
}

// name reads a rule or group name.
func (w *walker) name(n *yaml.Node, what string) string {
	s, ok := w.scalar(n, what)
	if ok && !isToken(s, maxNameLen) {
		w.fail(n, "%s %q: use 1 to %d letters, digits, '.', '_' or '-'", what, clip(s), maxNameLen)
		return ""
	}
	return s
}

func (w *walker) checkName(it item, what string) bool {
	if !isToken(it.s, maxNameLen) {
		w.fail(it.n, "%s: %q is not a name (1 to %d letters, digits, '.', '_' or '-')", what, clip(it.s), maxNameLen)
		return false
	}
	return true
}

func (w *walker) peerID(n *yaml.Node, what string) string {
	s, ok := w.scalar(n, what)
	if ok && !w.checkPeerID(item{s, n}, what) {
		return ""
	}
	return s
}

func (w *walker) checkPeerID(it item, what string) bool {
	if !isToken(it.s, maxPeerIDLen) {
		w.fail(it.n, "%s: %q is not a peer ID", what, clip(it.s))
		return false
	}
	return true
}

// domain reads a pseudonymization domain name; names are lower case so that
// "CERT-EU" and "cert-eu" are one domain.
func (w *walker) domain(n *yaml.Node, what string) string {
	s, ok := w.scalar(n, what)
	if !ok {
		return ""
	}
	if !isToken(s, maxNameLen) {
		w.fail(n, "%s %q: use 1 to %d letters, digits, '.', '_' or '-'", what, clip(s), maxNameLen)
		return ""
	}
	return strings.ToLower(s)
}

func (w *walker) text(n *yaml.Node, what string) string {
	s, ok := w.scalar(n, what)
	if ok && !isText(s, maxTextLen) {
		w.fail(n, "%s: %q must be 1 to %d printable characters", what, clip(s), maxTextLen)
		return ""
	}
	return strings.TrimSpace(s)
}

// purposes reads a list of purposes in canonical form (lower case, sorted, unique).
func (w *walker) purposes(n *yaml.Node, what string) []string {
	var out []string
	for _, it := range w.list(n, what) {
		s := strings.ToLower(strings.TrimSpace(it.s))
		if !isToken(s, maxNameLen) {
			w.fail(it.n, "%s: %q is not a purpose name (1 to %d letters, digits, '.', '_' or '-')", what, clip(it.s), maxNameLen)
			continue
		}
		out = append(out, s)
	}
	return compactSorted(out)
}

func compactSorted(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// versionOf is the content hash naming a policy source.
func versionOf(src []byte) string {
	h := sha256.Sum256(src)
	return "pol-" + hex.EncodeToString(h[:12])
}
