package intel

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxPatternLen bounds the length of a pattern ParsePattern accepts, and
// maxPatternDepth the nesting of parentheses and brackets.
const (
	MaxPatternLen   = 1 << 20
	maxPatternDepth = 64
)

// Pattern is a parsed STIX 2.1 pattern (STIX 2.1 section 9). The whole
// grammar is parsed: observation expressions joined by AND, OR and
// FOLLOWEDBY with WITHIN, REPEATS and START/STOP qualifiers, comparison
// expressions joined by AND and OR, every comparison operator and literal
// kind. Only a part of it can be evaluated as indicators; see Observables.
type Pattern struct {
	root obsExpr
}

// Observable is one value a pattern tests for equality: its indicator type
// and the value exactly as the pattern's string literal holds it (not
// canonicalised).
type Observable struct {
	Type  Type
	Value string
}

// objectPath is the left side of a comparison: "file:hashes.'SHA-256'" is
// ObjectType "file" and Steps [{Name: "hashes"}, {Name: "SHA-256"}].
type objectPath struct {
	ObjectType string
	Steps      []pathStep
}

// pathStep is one component of an objectPath: a property or dictionary key
// (Name), a list index (Index, with IsIndex) or any list element (Any).
type pathStep struct {
	Name    string
	Index   int
	IsIndex bool
	Any     bool
}

// String writes the path in STIX syntax, quoting keys that are not plain
// identifiers.
func (p objectPath) String() string {
	var b strings.Builder
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch {
		case s.Any:
			b.WriteString("[*]")
		case s.IsIndex:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if isIdent(s.Name) {
				b.WriteString(s.Name)
			} else {
				b.WriteString(QuoteString(s.Name))
			}
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" || !(isLetter(s[0]) || s[0] == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isLetter(c) || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// QuoteString returns s as a STIX pattern string literal: in single quotes,
// with every backslash doubled first and then every single quote escaped
// (STIX 2.1 section 9.3). The order matters: escaping the quote first would
// double the backslash added for it.
func QuoteString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s + "'"
}

// The AST. Observation expressions and comparison expressions are kept
// apart, as in the grammar.
type (
	obsExpr interface{ writeTo(*strings.Builder) }

	obsBinary struct {
		op   string // AND, OR, FOLLOWEDBY
		l, r obsExpr
	}
	obsQualified struct {
		e    obsExpr
		qual string // canonical text of the qualifier
	}
	obsGroup struct{ e obsExpr }  // ( ... )
	obsComp  struct{ c compExpr } // [ ... ]

	compExpr interface{ writeTo(*strings.Builder) }

	compBinary struct {
		op   string // AND, OR
		l, r compExpr
	}
	compGroup  struct{ c compExpr }
	comparison struct {
		path objectPath
		not  bool
		op   string // =, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET, EXISTS
		val  literal
	}

	literal struct {
		kind byte // 's' string, 'i' int, 'f' float, 'b' bool, 't' timestamp, 'h' hex, 'x' binary, '(' set, 0 none
		text string
		set  []literal
	}
)

func (e obsBinary) writeTo(b *strings.Builder) {
	e.l.writeTo(b)
	b.WriteString(" " + e.op + " ")
	e.r.writeTo(b)
}
func (e obsQualified) writeTo(b *strings.Builder) { e.e.writeTo(b); b.WriteString(" " + e.qual) }
func (e obsGroup) writeTo(b *strings.Builder) {
	b.WriteByte('(')
	e.e.writeTo(b)
	b.WriteByte(')')
}
func (e obsComp) writeTo(b *strings.Builder) {
	b.WriteByte('[')
	e.c.writeTo(b)
	b.WriteByte(']')
}
func (e compBinary) writeTo(b *strings.Builder) {
	e.l.writeTo(b)
	b.WriteString(" " + e.op + " ")
	e.r.writeTo(b)
}
func (e compGroup) writeTo(b *strings.Builder) {
	b.WriteByte('(')
	e.c.writeTo(b)
	b.WriteByte(')')
}
func (e comparison) writeTo(b *strings.Builder) {
	if e.op == "EXISTS" {
		b.WriteString("EXISTS " + e.path.String())
		return
	}
	b.WriteString(e.path.String())
	if e.not {
		b.WriteString(" NOT")
	}
	b.WriteString(" " + e.op + " ")
	e.val.writeTo(b)
}
func (l literal) writeTo(b *strings.Builder) {
	switch l.kind {
	case 's':
		b.WriteString(QuoteString(l.text))
	case 't', 'h':
		b.WriteString(string(l.kind) + QuoteString(l.text))
	case 'x':
		b.WriteString("b" + QuoteString(l.text))
	case '(':
		b.WriteByte('(')
		for i, v := range l.set {
			if i > 0 {
				b.WriteString(", ")
			}
			v.writeTo(b)
		}
		b.WriteByte(')')
	default:
		b.WriteString(l.text)
	}
}

// String writes the pattern in a canonical spacing; parsing the result
// gives the same pattern.
func (p *Pattern) String() string {
	var b strings.Builder
	p.root.writeTo(&b)
	return b.String()
}

// token kinds of the lexer.
const (
	tEOF = iota
	tWord
	tString
	tNumber
	tTyped // t'..', h'..', b'..': text holds the prefix letter, str the content
	tPunct
)

type token struct {
	kind int
	text string // word, number, punctuation or prefix letter
	str  string // decoded string content
	pos  int
}

type patternParser struct {
	src   string
	pos   int
	tok   token
	depth int
}

func (p *patternParser) errorf(pos int, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrPatternSyntax, pos, fmt.Sprintf(format, args...))
}

// next reads the next token into p.tok.
func (p *patternParser) next() error {
	s := p.src
	for p.pos < len(s) && (s[p.pos] == ' ' || s[p.pos] == '\t' || s[p.pos] == '\n' || s[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(s) {
		p.tok = token{kind: tEOF, pos: start}
		return nil
	}
	c := s[p.pos]
	switch {
	case c == '\'':
		str, err := p.readString()
		if err != nil {
			return err
		}
		p.tok = token{kind: tString, str: str, pos: start}
	case (c == 't' || c == 'h' || c == 'b') && p.pos+1 < len(s) && s[p.pos+1] == '\'':
		p.pos++
		str, err := p.readString()
		if err != nil {
			return err
		}
		p.tok = token{kind: tTyped, text: string(c), str: str, pos: start}
	case isLetter(c) || c == '_':
		p.pos++
		for p.pos < len(s) && (isLetter(s[p.pos]) || isDigit(s[p.pos]) || s[p.pos] == '_' || s[p.pos] == '-') {
			p.pos++
		}
		p.tok = token{kind: tWord, text: s[start:p.pos], pos: start}
	case isDigit(c) || (c == '-' || c == '+') && p.pos+1 < len(s) && isDigit(s[p.pos+1]):
		p.pos++
		for p.pos < len(s) && (isDigit(s[p.pos]) || s[p.pos] == '.') {
			p.pos++
		}
		p.tok = token{kind: tNumber, text: s[start:p.pos], pos: start}
	case c == '!' || c == '<' || c == '>':
		p.pos++
		if p.pos < len(s) && s[p.pos] == '=' {
			p.pos++
		} else if c == '!' {
			return p.errorf(start, "'!' without '='")
		}
		p.tok = token{kind: tPunct, text: s[start:p.pos], pos: start}
	case strings.IndexByte("[]():.,=*", c) >= 0:
		p.pos++
		p.tok = token{kind: tPunct, text: string(c), pos: start}
	default:
		r, _ := utf8.DecodeRuneInString(s[p.pos:])
		return p.errorf(start, "unexpected character %q", r)
	}
	return nil
}

// readString reads a quoted literal at p.pos. Only \\ and \' are escapes.
func (p *patternParser) readString() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\'':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.src) {
				return "", p.errorf(p.pos, "unterminated escape")
			}
			e := p.src[p.pos+1]
			if e != '\\' && e != '\'' {
				return "", p.errorf(p.pos, "invalid escape \\%c (only \\\\ and \\' are allowed)", e)
			}
			b.WriteByte(e)
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorf(start, "unterminated string")
}

func (p *patternParser) isKeyword(kw string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.text, kw)
}

func (p *patternParser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.text == s }

func (p *patternParser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.errorf(p.tok.pos, "want %q, got %s", s, p.describe())
	}
	return p.next()
}

func (p *patternParser) describe() string {
	switch p.tok.kind {
	case tEOF:
		return "end of pattern"
	case tString:
		return "string " + QuoteString(clip(p.tok.str))
	}
	return strconv.Quote(p.tok.text)
}

func (p *patternParser) enter() error {
	p.depth++
	if p.depth > maxPatternDepth {
		return p.errorf(p.tok.pos, "nesting deeper than %d", maxPatternDepth)
	}
	return nil
}

// ParsePattern parses a STIX 2.1 pattern. Errors wrap ErrPatternSyntax and
// name the byte offset.
func ParsePattern(s string) (*Pattern, error) {
	if len(s) > MaxPatternLen {
		return nil, fmt.Errorf("%w: pattern of %d bytes (limit %d)", ErrPatternSyntax, len(s), MaxPatternLen)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: pattern is not UTF-8", ErrPatternSyntax)
	}
	p := &patternParser{src: s}
	if err := p.next(); err != nil {
		return nil, err
	}
	e, err := p.obsFollowedBy()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf(p.tok.pos, "unexpected %s after the pattern", p.describe())
	}
	return &Pattern{root: e}, nil
}

// Observation expressions: FOLLOWEDBY binds loosest, then OR, then AND.
func (p *patternParser) obsFollowedBy() (obsExpr, error) {
	return p.obsBinaryLevel("FOLLOWEDBY", p.obsOr)
}

func (p *patternParser) obsOr() (obsExpr, error) { return p.obsBinaryLevel("OR", p.obsAnd) }

func (p *patternParser) obsAnd() (obsExpr, error) { return p.obsBinaryLevel("AND", p.obsQualifiedExpr) }

func (p *patternParser) obsBinaryLevel(op string, sub func() (obsExpr, error)) (obsExpr, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for p.isKeyword(op) {
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = obsBinary{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *patternParser) obsQualifiedExpr() (obsExpr, error) {
	e, err := p.obsPrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isKeyword("WITHIN"):
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.tok.kind != tNumber {
				return nil, p.errorf(p.tok.pos, "WITHIN wants a number, got %s", p.describe())
			}
			n := p.tok.text
			if err := p.next(); err != nil {
				return nil, err
			}
			if !p.isKeyword("SECONDS") {
				return nil, p.errorf(p.tok.pos, "want SECONDS, got %s", p.describe())
			}
			if err := p.next(); err != nil {
				return nil, err
			}
			e = obsQualified{e: e, qual: "WITHIN " + n + " SECONDS"}
		case p.isKeyword("REPEATS"):
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.tok.kind != tNumber {
				return nil, p.errorf(p.tok.pos, "REPEATS wants a number, got %s", p.describe())
			}
			n := p.tok.text
			if err := p.next(); err != nil {
				return nil, err
			}
			if !p.isKeyword("TIMES") {
				return nil, p.errorf(p.tok.pos, "want TIMES, got %s", p.describe())
			}
			if err := p.next(); err != nil {
				return nil, err
			}
			e = obsQualified{e: e, qual: "REPEATS " + n + " TIMES"}
		case p.isKeyword("START"):
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.tok.kind != tTyped || p.tok.text != "t" {
				return nil, p.errorf(p.tok.pos, "START wants a t'...' timestamp, got %s", p.describe())
			}
			from := p.tok.str
			if err := p.next(); err != nil {
				return nil, err
			}
			if !p.isKeyword("STOP") {
				return nil, p.errorf(p.tok.pos, "want STOP, got %s", p.describe())
			}
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.tok.kind != tTyped || p.tok.text != "t" {
				return nil, p.errorf(p.tok.pos, "STOP wants a t'...' timestamp, got %s", p.describe())
			}
			to := p.tok.str
			if err := p.next(); err != nil {
				return nil, err
			}
			e = obsQualified{e: e, qual: "START t" + QuoteString(from) + " STOP t" + QuoteString(to)}
		default:
			return e, nil
		}
	}
}

func (p *patternParser) obsPrimary() (obsExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	switch {
	case p.isPunct("["):
		if err := p.next(); err != nil {
			return nil, err
		}
		c, err := p.compOr()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct("]"); err != nil {
			return nil, err
		}
		return obsComp{c: c}, nil
	case p.isPunct("("):
		if err := p.next(); err != nil {
			return nil, err
		}
		e, err := p.obsFollowedBy()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return obsGroup{e: e}, nil
	}
	return nil, p.errorf(p.tok.pos, "want '[' or '(', got %s", p.describe())
}

// Comparison expressions: OR binds looser than AND.
func (p *patternParser) compOr() (compExpr, error) {
	l, err := p.compAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := p.compAnd()
		if err != nil {
			return nil, err
		}
		l = compBinary{op: "OR", l: l, r: r}
	}
	return l, nil
}

func (p *patternParser) compAnd() (compExpr, error) {
	l, err := p.compPrimary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := p.compPrimary()
		if err != nil {
			return nil, err
		}
		l = compBinary{op: "AND", l: l, r: r}
	}
	return l, nil
}

func (p *patternParser) compPrimary() (compExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if p.isPunct("(") {
		if err := p.next(); err != nil {
			return nil, err
		}
		c, err := p.compOr()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return compGroup{c: c}, nil
	}
	if p.isKeyword("EXISTS") {
		if err := p.next(); err != nil {
			return nil, err
		}
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		return comparison{path: path, op: "EXISTS"}, nil
	}
	path, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	cmp := comparison{path: path}
	if p.isKeyword("NOT") {
		cmp.not = true
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	switch {
	case p.tok.kind == tPunct && (p.tok.text == "=" || p.tok.text == "!=" || p.tok.text == "<" ||
		p.tok.text == "<=" || p.tok.text == ">" || p.tok.text == ">="):
		cmp.op = p.tok.text
	case p.tok.kind == tWord:
		for _, kw := range []string{"IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"} {
			if strings.EqualFold(p.tok.text, kw) {
				cmp.op = kw
			}
		}
	}
	if cmp.op == "" {
		return nil, p.errorf(p.tok.pos, "want a comparison operator, got %s", p.describe())
	}
	opPos := p.tok.pos
	if err := p.next(); err != nil {
		return nil, err
	}
	v, err := p.literal(cmp.op == "IN")
	if err != nil {
		return nil, err
	}
	switch cmp.op {
	case "IN":
		if v.kind != '(' {
			return nil, p.errorf(opPos, "IN wants a set (...)")
		}
	case "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET":
		if v.kind != 's' {
			return nil, p.errorf(opPos, "%s wants a string", cmp.op)
		}
	case "<", "<=", ">", ">=":
		if v.kind == 'b' || v.kind == '(' {
			return nil, p.errorf(opPos, "%s wants an orderable literal", cmp.op)
		}
	default:
		if v.kind == '(' {
			return nil, p.errorf(opPos, "%s does not take a set", cmp.op)
		}
	}
	cmp.val = v
	return cmp, nil
}

func (p *patternParser) parsePath() (objectPath, error) {
	var path objectPath
	if p.tok.kind != tWord {
		return path, p.errorf(p.tok.pos, "want an object path, got %s", p.describe())
	}
	path.ObjectType = p.tok.text
	if err := p.next(); err != nil {
		return path, err
	}
	if err := p.expectPunct(":"); err != nil {
		return path, err
	}
	first := true
	for {
		switch {
		case first || p.isPunct("."):
			if !first {
				if err := p.next(); err != nil {
					return path, err
				}
			}
			first = false
			switch p.tok.kind {
			case tWord:
				path.Steps = append(path.Steps, pathStep{Name: p.tok.text})
			case tString:
				path.Steps = append(path.Steps, pathStep{Name: p.tok.str})
			default:
				return path, p.errorf(p.tok.pos, "want a property name, got %s", p.describe())
			}
			if err := p.next(); err != nil {
				return path, err
			}
		case p.isPunct("["):
			if err := p.next(); err != nil {
				return path, err
			}
			switch {
			case p.isPunct("*"):
				path.Steps = append(path.Steps, pathStep{Any: true})
			case p.tok.kind == tNumber:
				n, err := strconv.Atoi(p.tok.text)
				if err != nil {
					return path, p.errorf(p.tok.pos, "bad list index %q", p.tok.text)
				}
				path.Steps = append(path.Steps, pathStep{Index: n, IsIndex: true})
			default:
				return path, p.errorf(p.tok.pos, "want a list index or '*', got %s", p.describe())
			}
			if err := p.next(); err != nil {
				return path, err
			}
			if err := p.expectPunct("]"); err != nil {
				return path, err
			}
		default:
			return path, nil
		}
	}
}

func (p *patternParser) literal(allowSet bool) (literal, error) {
	t := p.tok
	switch {
	case t.kind == tString:
		return literal{kind: 's', text: t.str}, p.next()
	case t.kind == tTyped:
		k := t.text[0]
		if k == 'b' {
			k = 'x'
		}
		return literal{kind: k, text: t.str}, p.next()
	case t.kind == tNumber:
		if strings.Count(t.text, ".") > 1 || strings.HasSuffix(t.text, ".") {
			return literal{}, p.errorf(t.pos, "bad number %q", t.text)
		}
		k := byte('i')
		if strings.Contains(t.text, ".") {
			k = 'f'
		}
		return literal{kind: k, text: t.text}, p.next()
	case t.kind == tWord && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")):
		return literal{kind: 'b', text: strings.ToLower(t.text)}, p.next()
	case allowSet && p.isPunct("("):
		if err := p.next(); err != nil {
			return literal{}, err
		}
		set := literal{kind: '('}
		for {
			v, err := p.literal(false)
			if err != nil {
				return literal{}, err
			}
			set.set = append(set.set, v)
			if p.isPunct(",") {
				if err := p.next(); err != nil {
					return literal{}, err
				}
				continue
			}
			if err := p.expectPunct(")"); err != nil {
				return literal{}, err
			}
			return set, nil
		}
	}
	return literal{}, p.errorf(t.pos, "want a literal, got %s", p.describe())
}

// unsupported builds the error for constructs Observables cannot evaluate.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupportedPattern, fmt.Sprintf(format, args...))
}

// Observables returns the values a pattern tests for, when the pattern is
// an OR (at the observation or comparison level) of supported
// comparisons. A supported comparison is an equality (or IN with a set of
// strings) of one of these object paths with a string:
//
//	ipv4-addr:value, ipv6-addr:value (an address or a CIDR network)
//	network-traffic:src_ref.value, network-traffic:dst_ref.value
//	domain-name:value, url:value, email-addr:value
//	file:hashes.MD5, file:hashes.'SHA-1', file:hashes.'SHA-256', file:hashes.'SHA-512'
//	file:name, windows-registry-key:key
//	network-traffic:extensions.'x-flowfed-tls'.ja3 (and .ja4)
//
// and ISSUBSET of an address path with a CIDR string. An AND is accepted
// only where it pins a reference type to the value's family
// (network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '...').
// Everything else returns an error wrapping ErrUnsupportedPattern that
// names the construct.
func (p *Pattern) Observables() ([]Observable, error) {
	var out []Observable
	if err := collectObs(p.root, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func collectObs(e obsExpr, out *[]Observable) error {
	switch e := e.(type) {
	case obsBinary:
		if e.op != "OR" {
			return unsupported("observation operator %s", e.op)
		}
		if err := collectObs(e.l, out); err != nil {
			return err
		}
		return collectObs(e.r, out)
	case obsGroup:
		return collectObs(e.e, out)
	case obsQualified:
		return unsupported("qualifier %s", strings.Fields(e.qual)[0])
	case obsComp:
		return collectComp(e.c, out)
	}
	return unsupported("expression")
}

func collectComp(c compExpr, out *[]Observable) error {
	switch c := c.(type) {
	case compGroup:
		return collectComp(c.c, out)
	case compBinary:
		if c.op == "OR" {
			if err := collectComp(c.l, out); err != nil {
				return err
			}
			return collectComp(c.r, out)
		}
		return collectAnd(c, out)
	case comparison:
		return evalComparison(c, out)
	}
	return unsupported("comparison")
}

// collectAnd accepts an AND whose terms are one supported value comparison
// and reference-type constraints agreeing with it.
func collectAnd(c compBinary, out *[]Observable) error {
	var terms []comparison
	var flatten func(compExpr) error
	flatten = func(e compExpr) error {
		switch e := e.(type) {
		case compGroup:
			return flatten(e.c)
		case compBinary:
			if e.op != "AND" {
				return unsupported("OR inside AND")
			}
			if err := flatten(e.l); err != nil {
				return err
			}
			return flatten(e.r)
		case comparison:
			terms = append(terms, e)
			return nil
		}
		return unsupported("comparison")
	}
	if err := flatten(c); err != nil {
		return err
	}
	var value *comparison
	var typeTerms []comparison
	for i := range terms {
		t := terms[i]
		n := len(t.path.Steps)
		if n == 2 && strings.HasSuffix(t.path.Steps[0].Name, "_ref") && t.path.Steps[1].Name == "type" && t.op == "=" && !t.not && t.val.kind == 's' {
			typeTerms = append(typeTerms, t)
			continue
		}
		if value != nil {
			return unsupported("AND of two value comparisons (%s, %s)", value.path, t.path)
		}
		value = &terms[i]
	}
	if value == nil {
		return unsupported("AND without a value comparison")
	}
	var got []Observable
	if err := evalComparison(*value, &got); err != nil {
		return err
	}
	for _, t := range typeTerms {
		if t.path.ObjectType != value.path.ObjectType || len(value.path.Steps) != 2 || t.path.Steps[0].Name != value.path.Steps[0].Name {
			return unsupported("AND with an unrelated constraint %s", t.path)
		}
		for _, o := range got {
			fam := "ipv4-addr"
			if strings.Contains(o.Value, ":") {
				fam = "ipv6-addr"
			}
			if t.val.text != fam {
				return unsupported("reference type %q does not match value %q", t.val.text, o.Value)
			}
		}
	}
	*out = append(*out, got...)
	return nil
}

// hashNameReplacer drops the separators of hash names ("SHA-256").
var hashNameReplacer = strings.NewReplacer("-", "", "_", "")

// hashPathNames maps normalised STIX hash names to types.
var hashPathNames = map[string]Type{"MD5": TypeMD5, "SHA1": TypeSHA1, "SHA256": TypeSHA256, "SHA512": TypeSHA512}

// pathType maps an object path to the indicator type it carries.
func pathType(p objectPath) (Type, bool) {
	names := make([]string, 0, len(p.Steps))
	for _, s := range p.Steps {
		if s.Any || s.IsIndex {
			return "", false
		}
		names = append(names, s.Name)
	}
	key := p.ObjectType + ":" + strings.Join(names, ".")
	switch key {
	case "ipv4-addr:value":
		return TypeIPv4, true
	case "ipv6-addr:value":
		return TypeIPv6, true
	case "network-traffic:src_ref.value", "network-traffic:dst_ref.value":
		return TypeIPv4, true
	case "domain-name:value":
		return TypeDomain, true
	case "url:value":
		return TypeURL, true
	case "email-addr:value":
		return TypeEmail, true
	case "file:name":
		return TypeFilename, true
	case "windows-registry-key:key":
		return TypeRegKey, true
	case "network-traffic:extensions.x-flowfed-tls.ja3":
		return TypeJA3, true
	case "network-traffic:extensions.x-flowfed-tls.ja4":
		return TypeJA4, true
	}
	if p.ObjectType == "file" && len(names) == 2 && names[0] == "hashes" {
		h := strings.ToUpper(hashNameReplacer.Replace(names[1]))
		t, ok := hashPathNames[h]
		return t, ok
	}
	return "", false
}

func evalComparison(c comparison, out *[]Observable) error {
	t, ok := pathType(c.path)
	if !ok {
		return unsupported("object path %s", c.path)
	}
	if c.not {
		return unsupported("NOT %s", c.op)
	}
	switch c.op {
	case "=":
		if c.val.kind != 's' {
			return unsupported("%s compared with a non-string literal", c.path)
		}
		*out = append(*out, Observable{Type: t, Value: c.val.text})
		return nil
	case "IN":
		for _, v := range c.val.set {
			if v.kind != 's' {
				return unsupported("%s IN a set with a non-string literal", c.path)
			}
			*out = append(*out, Observable{Type: t, Value: v.text})
		}
		return nil
	case "ISSUBSET":
		if t.IsAddress() {
			*out = append(*out, Observable{Type: TypeCIDR, Value: c.val.text})
			return nil
		}
	}
	return unsupported("operator %s on %s", c.op, c.path)
}

// patternPath returns the object path a type is written with, for values
// of the given text (an IPv6 network gets ipv6-addr).
func patternPath(t Type, value string) (string, error) {
	switch t {
	case TypeIPv4:
		return "ipv4-addr:value", nil
	case TypeIPv6:
		return "ipv6-addr:value", nil
	case TypeCIDR:
		if strings.Contains(value, ":") {
			return "ipv6-addr:value", nil
		}
		return "ipv4-addr:value", nil
	case TypeDomain:
		return "domain-name:value", nil
	case TypeURL:
		return "url:value", nil
	case TypeEmail:
		return "email-addr:value", nil
	case TypeMD5:
		return "file:hashes.MD5", nil
	case TypeSHA1:
		return "file:hashes.'SHA-1'", nil
	case TypeSHA256:
		return "file:hashes.'SHA-256'", nil
	case TypeSHA512:
		return "file:hashes.'SHA-512'", nil
	case TypeFilename:
		return "file:name", nil
	case TypeRegKey:
		return "windows-registry-key:key", nil
	case TypeJA3:
		return "network-traffic:extensions.'x-flowfed-tls'.ja3", nil
	case TypeJA4:
		return "network-traffic:extensions.'x-flowfed-tls'.ja4", nil
	}
	return "", fmt.Errorf("type %q: %w", string(t), ErrUnsupportedType)
}

// FormatPattern writes observables as one STIX observation expression:
// "[ipv4-addr:value = '192.0.2.1']", several joined by OR. Values are
// written as given, quoted with QuoteString.
func FormatPattern(obs ...Observable) (string, error) {
	if len(obs) == 0 {
		return "", fmt.Errorf("formatting pattern: no observables")
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, o := range obs {
		path, err := patternPath(o.Type, o.Value)
		if err != nil {
			return "", fmt.Errorf("formatting pattern: %w", err)
		}
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(path)
		b.WriteString(" = ")
		b.WriteString(QuoteString(o.Value))
	}
	b.WriteByte(']')
	return b.String(), nil
}
