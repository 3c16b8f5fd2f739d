package dataset

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// npyHeader returns the header of a NumPy .npy file of format version 1.0:
// the magic, the version, the header length and the header dictionary,
// padded with spaces and a newline to a multiple of 64 bytes, as NumPy
// writes it.
func npyHeader(descr string, shape ...int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '")
	sb.WriteString(descr)
	sb.WriteString("', 'fortran_order': False, 'shape': (")
	for i, n := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(n))
	}
	if len(shape) == 1 {
		sb.WriteByte(',')
	}
	sb.WriteString("), }")
	dict := sb.String()
	const pre = 10 // magic, version, header length
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	h := make([]byte, 0, total)
	h = append(h, "\x93NUMPY\x01\x00"...)
	h = binary.LittleEndian.AppendUint16(h, uint16(total-pre))
	h = append(h, dict...)
	for len(h) < total-1 {
		h = append(h, ' ')
	}
	return append(h, '\n')
}

// npzWriter writes the arrays of an NPZ archive: stored (uncompressed)
// entries without timestamps, so the same dataset gives the same bytes.
type npzWriter struct {
	zw  *zip.Writer
	err error
}

// create starts the entry name.npy with the given header.
func (z *npzWriter) create(name string, header []byte) io.Writer {
	if z.err != nil {
		return nil
	}
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
	if err != nil {
		z.err = err
		return nil
	}
	if _, err := w.Write(header); err != nil {
		z.err = err
		return nil
	}
	return w
}

func (z *npzWriter) write(w io.Writer, b []byte) {
	if z.err == nil {
		_, z.err = w.Write(b)
	}
}

// unicodeArray writes ss as a NumPy '<U{width}' array.
func (z *npzWriter) unicodeArray(name string, ss []string) {
	width := unicodeWidth(ss)
	w := z.create(name, npyHeader("<U"+strconv.Itoa(width), len(ss)))
	buf := make([]byte, 0, 64<<10)
	for _, s := range ss {
		n := 0
		for _, r := range s {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(r))
			n++
		}
		for ; n < width; n++ {
			buf = binary.LittleEndian.AppendUint32(buf, 0)
		}
		if len(buf) >= 32<<10 {
			z.write(w, buf)
			buf = buf[:0]
		}
	}
	z.write(w, buf)
}

// int64Array writes vs as a NumPy '<i8' array.
func (z *npzWriter) int64Array(name string, vs []int64) {
	w := z.create(name, npyHeader("<i8", len(vs)))
	buf := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
	}
	z.write(w, buf)
}

func exportNPZ(bw *bufio.Writer, m *Manifest, content []byte) error {
	names := make([]string, len(m.Labels))
	for i, l := range m.Labels {
		names[i] = l.Label
	}
	idx := labelIndex(m)
	n := m.Records
	y := make([]int64, 0, n)
	starts := make([]int64, 0, n)
	sources := make([]string, 0, n)
	steps := make([]uint8, 0, n)
	err := checkFlows(m, content, func(r *Record) {
		y = append(y, int64(idx[r.Label]))
		starts = append(starts, r.Start.UnixNano())
		sources = append(sources, r.Source)
		steps = append(steps, uint8(len(r.Seq)))
	})
	if err != nil {
		return err
	}
	z := &npzWriter{zw: zip.NewWriter(bw)}
	// X, streamed record by record.
	xw := z.create("X", npyHeader("<f4", n, Steps, Features))
	buf := make([]byte, 4*Steps*Features)
	err = flowRecords(m, content, true, func(r *Record) bool {
		for i, v := range r.X {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		z.write(xw, buf)
		return z.err == nil
	})
	if err != nil {
		return err
	}
	// mask, from the step counts: 1.0 (0x3f800000) for present steps.
	mw := z.create("mask", npyHeader("<f4", n, Steps))
	row := make([]byte, 4*Steps)
	for _, k := range steps {
		clear(row)
		for i := range int(k) {
			binary.LittleEndian.PutUint32(row[4*i:], 0x3f800000)
		}
		z.write(mw, row)
	}
	z.int64Array("y", y)
	z.unicodeArray("label_names", names)
	z.unicodeArray("source", sources)
	z.int64Array("start_ns", starts)
	if z.err == nil {
		z.err = z.zw.Close()
	}
	if z.err != nil {
		return fmt.Errorf("writing npz: %w", z.err)
	}
	return nil
}
