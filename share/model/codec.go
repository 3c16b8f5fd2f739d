package model

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/flowfed/flowfed/share/dataset"
)

// The model file format. All integers are little-endian.
//
//	magic        14 bytes "flowfed model\n"
//	version      u16 (fileVersion)
//	features     u16 derivation version, u16 steps, u16 features per step,
//	             u32 derived inputs
//	config       u8 arch (1 logreg, 2 mlp), u64 hidden (0 for logreg),
//	             u64 epochs, f64 learning rate, f64 l2, u64 batch size,
//	             u64 seed, u64 min class size
//	classes      u32 count, then per class: u8 name length, name, u64 examples
//	dropped      the same for the dropped classes
//	groups       u32 count, then u64 each: the first 8 bytes of the SHA-256
//	             of each group (capture) trained on, ascending and unique
//	mean, std    f64 per derived input each
//	parameters   f64 each: hidden weights and biases (mlp), output weights
//	             and biases
//	checksum     u32 CRC-32C of everything before it
//
// The encoding is canonical: Load accepts exactly the bytes Save writes for
// some model, so a model decodes and re-encodes to the same bytes.
const (
	fileMagic   = "flowfed model\n"
	fileVersion = 2
	// maxFileSize bounds what Load reads; the largest model the bounds of
	// MaxHidden and MaxClasses allow is about 40 MB.
	maxFileSize = 64 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Arch codes of the file format.
const (
	archCodeLogReg = 1
	archCodeMLP    = 2
)

// Save writes the model to w in flowfed's versioned binary model format.
// The same model always gives the same bytes.
func (m *Model) Save(w io.Writer) error {
	b := make([]byte, 0, 256+8*(2*featureDim+len(m.p)))
	b = append(b, fileMagic...)
	b = binary.LittleEndian.AppendUint16(b, fileVersion)
	b = binary.LittleEndian.AppendUint16(b, featureVersion)
	b = binary.LittleEndian.AppendUint16(b, dataset.Steps)
	b = binary.LittleEndian.AppendUint16(b, dataset.Features)
	b = binary.LittleEndian.AppendUint32(b, featureDim)

	c := m.cfg
	code := byte(archCodeLogReg)
	if c.Arch == ArchMLP {
		code = archCodeMLP
	}
	b = append(b, code)
	for _, v := range []uint64{uint64(c.hidden()), uint64(c.Epochs)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.LearningRate))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.L2))
	for _, v := range []uint64{uint64(c.BatchSize), c.Seed, uint64(c.MinClassSize)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}

	appendClasses := func(cs []ClassCount) {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(cs)))
		for _, cc := range cs {
			b = append(b, byte(len(cc.Name)))
			b = append(b, cc.Name...)
			b = binary.LittleEndian.AppendUint64(b, uint64(cc.N))
		}
	}
	appendClasses(m.TrainingCounts())
	appendClasses(m.dropped)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.groups)))
	for _, g := range m.groups {
		b = binary.LittleEndian.AppendUint64(b, g)
	}
	for _, vs := range [][]float64{m.mean, m.std, m.p} {
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing model: %w", err)
	}
	return nil
}

// Load reads a model written by [Model.Save]. It reads r to its end (at most
// 64 MiB) and accepts nothing but one whole, intact model of this format
// version: any other input gives an error wrapping [ErrBadModel], except
// errors of r itself, which are returned wrapped as they are.
func Load(r io.Reader) (*Model, error) { return load(r, maxFileSize) }

// load is Load with a size limit.
func load(r io.Reader, limit int64) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading model: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("loading model: %w: larger than %d bytes", ErrBadModel, limit)
	}
	m, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w: %v", ErrBadModel, err)
	}
	return m, nil
}

// errShort reports input that ends early.
var errShort = errors.New("truncated")

// decoder reads the fields of a model file; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = errShort
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) u8() uint8 {
	if s := d.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if s := d.take(2); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if s := d.take(4); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if s := d.take(8); s != nil {
		return binary.LittleEndian.Uint64(s)
	}
	return 0
}

// count reads a u64 that must lie in lo..hi.
func (d *decoder) count(name string, lo, hi int) int {
	v := d.u64()
	if d.err == nil && (v < uint64(lo) || v > uint64(hi)) {
		d.err = fmt.Errorf("%s %d is outside %d..%d", name, v, lo, hi)
	}
	return int(v)
}

// floats reads len(out) f64 values within ±maxParam into out.
func (d *decoder) floats(name string, out []float64) {
	s := d.take(8 * len(out))
	if s == nil {
		return
	}
	for i := range out {
		v := math.Float64frombits(binary.LittleEndian.Uint64(s[8*i:]))
		if !(math.Abs(v) <= maxParam) {
			d.err = fmt.Errorf("%s %d is not a number within ±%g", name, i, float64(maxParam))
			return
		}
		out[i] = v
	}
}

// classes reads a class list whose counts lie in lo..hi, checking that the
// names are valid and strictly increasing.
// groups reads the fingerprints of the groups trained on: ascending and
// unique.
func (d *decoder) groups() []uint64 {
	n := d.u32()
	if d.err != nil {
		return nil
	}
	if int(n) > len(d.b)/8 {
		d.err = fmt.Errorf("%d group fingerprints in %d bytes", n, len(d.b))
		return nil
	}
	var out []uint64
	for i := range int(n) {
		g := d.u64()
		if d.err != nil {
			return nil
		}
		if i > 0 && g <= out[i-1] {
			d.err = errors.New("group fingerprints are not sorted and unique")
			return nil
		}
		out = append(out, g)
	}
	return out
}

func (d *decoder) classes(what string, lo, hi int) []ClassCount {
	n := d.u32()
	if d.err != nil {
		return nil
	}
	if n > MaxClasses || int(n) > len(d.b)/10 {
		d.err = fmt.Errorf("%d %s classes is too many", n, what)
		return nil
	}
	out := make([]ClassCount, 0, n)
	for i := range int(n) {
		name := string(d.take(int(d.u8())))
		cnt := d.count(what+" class size", lo, hi)
		if d.err != nil {
			return nil
		}
		if err := checkLabel(name); err != nil {
			d.err = fmt.Errorf("%s class %d: %v", what, i, err)
			return nil
		}
		if i > 0 && name <= out[i-1].Name {
			d.err = fmt.Errorf("%s classes are not sorted and unique", what)
			return nil
		}
		out = append(out, ClassCount{name, cnt})
	}
	return out
}

func decode(b []byte) (*Model, error) {
	if len(b) < len(fileMagic)+4 || string(b[:len(fileMagic)]) != fileMagic {
		return nil, errors.New("not a flowfed model")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	d := &decoder{b: body[len(fileMagic):]}
	if v := d.u16(); d.err == nil && v != fileVersion {
		return nil, fmt.Errorf("format version %d, want %d", v, fileVersion)
	}
	// The checksum comes after the version test, so that a file of another
	// version is named as such rather than as damaged.
	if crc32.Checksum(body, crcTable) != sum {
		return nil, errors.New("checksum mismatch: damaged or truncated")
	}
	fv, steps, feats, dim := d.u16(), d.u16(), d.u16(), d.u32()
	if d.err == nil && (fv != featureVersion || steps != dataset.Steps || feats != dataset.Features || dim != featureDim) {
		return nil, fmt.Errorf("inputs version %d of %d×%d steps, %d derived; want version %d of %d×%d, %d",
			fv, steps, feats, dim, featureVersion, dataset.Steps, dataset.Features, featureDim)
	}

	var c Config
	switch code := d.u8(); {
	case d.err != nil:
	case code == archCodeLogReg:
		c.Arch = ArchLogReg
	case code == archCodeMLP:
		c.Arch = ArchMLP
	default:
		return nil, fmt.Errorf("unknown architecture %d", code)
	}
	if c.Arch == ArchMLP {
		c.Hidden = d.count("hidden", 1, MaxHidden)
	} else {
		c.Hidden = d.count("hidden", 0, 0)
	}
	c.Epochs = d.count("epochs", 1, math.MaxInt32)
	c.LearningRate = math.Float64frombits(d.u64())
	c.L2 = math.Float64frombits(d.u64())
	c.BatchSize = d.count("batch size", 1, math.MaxInt32)
	c.Seed = d.u64()
	c.MinClassSize = d.count("min class size", 0, math.MaxInt32)
	if d.err != nil {
		return nil, d.err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}

	kept := d.classes("trained", max(c.MinClassSize, 1), math.MaxInt32)
	dropped := d.classes("dropped", 1, c.MinClassSize-1)
	if d.err != nil {
		return nil, d.err
	}
	if len(kept) < 2 {
		return nil, fmt.Errorf("%d classes, want at least 2", len(kept))
	}
	for _, dc := range dropped {
		if _, found := slices.BinarySearchFunc(kept, dc.Name, func(a ClassCount, n string) int {
			return cmp.Compare(a.Name, n)
		}); found {
			return nil, fmt.Errorf("class %q is both trained and dropped", dc.Name)
		}
	}

	groups := d.groups()
	if d.err != nil {
		return nil, d.err
	}
	// Check the size before allocating what it claims.
	if want := 8 * (2*featureDim + paramCount(c.hidden(), len(kept))); len(d.b) != want {
		return nil, fmt.Errorf("%d bytes of statistics and parameters, want %d", len(d.b), want)
	}
	m := newModel(c, len(kept))
	m.dropped = dropped
	m.groups = groups
	for _, kc := range kept {
		m.labels = append(m.labels, kc.Name)
		m.counts = append(m.counts, kc.N)
	}
	m.mean = make([]float64, featureDim)
	m.std = make([]float64, featureDim)
	d.floats("mean", m.mean)
	d.floats("std", m.std)
	d.floats("parameter", m.p)
	if d.err != nil {
		return nil, d.err
	}
	for i, s := range m.std {
		if !(s > 0) {
			return nil, fmt.Errorf("std %d is not positive", i)
		}
	}
	return m, nil
}
