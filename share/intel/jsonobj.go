package intel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// jobject is a JSON object that keeps its members in order, with their
// values as raw JSON. Exporters start from the object as received and set
// only the members whose meaning changed, so that everything else, down to
// the spelling of numbers and timestamps, is written back as it was.
type jobject struct {
	m []member
}

type member struct {
	key string
	val json.RawMessage
}

// parseJObject reads a JSON object. A repeated key keeps its first
// position and its last value, as encoding/json reads it.
func parseJObject(raw []byte) (*jobject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: want a JSON object", ErrMalformed)
	}
	o := &jobject{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: object key is not a string", ErrMalformed)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: member %q: %v", ErrMalformed, key, err)
		}
		o.set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	return o, nil
}

// parseJArray reads a JSON array into its raw elements.
func parseJArray(raw []byte) ([]json.RawMessage, error) {
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return out, nil
}

func (o *jobject) index(k string) int {
	for i := range o.m {
		if o.m[i].key == k {
			return i
		}
	}
	return -1
}

func (o *jobject) get(k string) (json.RawMessage, bool) {
	if i := o.index(k); i >= 0 {
		return o.m[i].val, true
	}
	return nil, false
}

func (o *jobject) set(k string, v json.RawMessage) {
	if i := o.index(k); i >= 0 {
		o.m[i].val = v
		return
	}
	o.m = append(o.m, member{key: k, val: v})
}

func (o *jobject) del(k string) {
	if i := o.index(k); i >= 0 {
		o.m = slices.Delete(o.m, i, i+1)
	}
}

// bytes returns the object as JSON. Values are written as held: compact
// when they were, with their inner white space otherwise (writers indent
// the final document, which normalises it).
func (o *jobject) bytes() []byte {
	n := 2
	for _, m := range o.m {
		n += len(m.key) + len(m.val) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, m := range o.m {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, jcsString(m.key)...)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

// joinArray writes valid JSON values as a JSON array.
func joinArray(elems []json.RawMessage) json.RawMessage {
	n := 2
	for _, e := range elems {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, ']')
}

// marshal encodes v without HTML escaping.
func marshal(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only values built by this package are marshalled; they never
		// fail. Fall back to null rather than panicking.
		return json.RawMessage("null")
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// compact returns raw without insignificant white space.
func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return slices.Clone(raw)
	}
	return b.Bytes()
}

func (o *jobject) getString(k string) (string, bool) {
	v, ok := o.get(k)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// putString sets k to s unless it already holds that string.
func (o *jobject) putString(k, s string) {
	if cur, ok := o.getString(k); ok && cur == s {
		return
	}
	o.set(k, marshal(s))
}

// putStringOmit is putString, deleting k for "".
func (o *jobject) putStringOmit(k, s string) {
	if s == "" {
		if cur, ok := o.getString(k); ok && cur == "" {
			return
		}
		o.del(k)
		return
	}
	o.putString(k, s)
}

// putStrings sets k to the list unless it already holds it; an empty list
// deletes k unless it holds an empty list.
func (o *jobject) putStrings(k string, ss []string) {
	v, ok := o.get(k)
	if ok {
		var cur []string
		if err := json.Unmarshal(v, &cur); err == nil && slices.Equal(cur, ss) {
			return
		}
	}
	if len(ss) == 0 {
		o.del(k)
		return
	}
	o.set(k, marshal(ss))
}

// putTime sets k to t, written by format, unless it already holds a time
// equal to t (in any spelling parse accepts). A zero t deletes k.
func (o *jobject) putTime(k string, t time.Time, format func(time.Time) string, parse func(json.RawMessage) (time.Time, bool)) {
	if t.IsZero() {
		o.del(k)
		return
	}
	if v, ok := o.get(k); ok {
		if cur, ok := parse(v); ok && cur.Equal(t) {
			return
		}
	}
	o.set(k, marshal(format(t)))
}

// putBool sets k to b unless it holds b (as a JSON bool, 0/1 or "0"/"1").
func (o *jobject) putBool(k string, b bool) {
	if v, ok := o.get(k); ok {
		var cur flexBool
		if err := json.Unmarshal(v, &cur); err == nil && bool(cur) == b {
			return
		}
	}
	o.set(k, marshal(b))
}

// putInt sets k to n unless it holds n (as a number or a numeric string);
// asString writes a new value as a string, as MISP does.
func (o *jobject) putInt(k string, n int64, asString bool) {
	if v, ok := o.get(k); ok {
		var cur flexInt
		if err := json.Unmarshal(v, &cur); err == nil && int64(cur) == n {
			return
		}
	}
	if asString {
		o.set(k, marshal(strconv.FormatInt(n, 10)))
	} else {
		o.set(k, marshal(n))
	}
}

// flexInt reads a JSON number or a string holding one (MISP writes numbers
// both ways); "" and null read as 0.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*f = 0
			return nil
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("number %q: %w", clip(string(b)), ErrMalformed)
	}
	*f = flexInt(n)
	return nil
}

// flexBool reads a JSON bool, 0/1, or a string "0", "1", "true", "false".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	switch s {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("boolean %q: %w", clip(s), ErrMalformed)
	}
	return nil
}

// flexString reads a JSON string, a number (kept as written) or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number: %w", ErrMalformed)
	}
	*f = flexString(n)
	return nil
}

// The scanners below find the extent of JSON values without decoding
// them: a large document is cut into its objects, each of which is then
// decoded (and validated) on its own, so that one broken object is
// reported on its own and the others are imported.

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

var errTruncated = fmt.Errorf("%w: unexpected end of input", ErrMalformed)

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return len(b), errTruncated
}

// skipValue returns the index after the value starting at b[i]. It
// matches brackets and strings but does not validate the value.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, errTruncated
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return end, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return len(b), errTruncated
	}
	j := i
	for j < len(b) && !bytes.ContainsRune([]byte(",]} \t\r\n"), rune(b[j])) {
		j++
	}
	if j == i {
		return i, fmt.Errorf("%w: unexpected %q at offset %d", ErrMalformed, b[i], i)
	}
	return j, nil
}

// scanArray cuts the array starting at b[i] == '[' into its elements
// (copied). On a structural error it returns the elements before it.
func scanArray(b []byte, i int) (elems []json.RawMessage, end int, err error) {
	i++
	elems = []json.RawMessage{}
	i = skipWS(b, i)
	if i < len(b) && b[i] == ']' {
		return elems, i + 1, nil
	}
	for {
		i = skipWS(b, i)
		start := i
		e, err := skipValue(b, i)
		if err != nil {
			return elems, e, fmt.Errorf("element %d: %w", len(elems), err)
		}
		elems = append(elems, bytes.Clone(b[start:e]))
		i = skipWS(b, e)
		if i >= len(b) {
			return elems, i, errTruncated
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return elems, i + 1, nil
		default:
			return elems, i, fmt.Errorf("%w: want ',' or ']' at offset %d", ErrMalformed, i)
		}
	}
}
