package dataset

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flowfed/flowfed/share/label"
)

func exportBytes(t testing.TB, b *Built, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, b.Manifest, b.Content, format); err != nil {
		t.Fatalf("Export(%s) = %v", format, err)
	}
	return buf.Bytes()
}

func exportFlowsBuild(t testing.TB) *Built {
	t.Helper()
	fs := append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(10, 2, label.TLS, 443)...)
	fs[0].steps = Steps
	fs[1].lsrc = label.SourcePort
	rows := rowsOf(fs, `lab "A", north`)
	rows[5].Source = "Ünïcode-capture.pcapng"
	return mustBuild(t, Spec{Kind: KindFlows}, rows)
}

func TestExportCSV(t *testing.T) {
	b := exportFlowsBuild(t)
	recs := collectRecords(t, b)
	for _, format := range []string{FormatCSV, FormatCSVStats} {
		rows, err := csv.NewReader(bytes.NewReader(exportBytes(t, b, format))).ReadAll()
		if err != nil {
			t.Fatalf("%s: reading back: %v", format, err)
		}
		header := rows[0]
		wantCols := len(flowColumns)
		if format == FormatCSV {
			wantCols += Steps * Features
			if header[len(flowColumns)] != "x_0_dir" || header[len(header)-1] != "x_127_psh" || header[len(flowColumns)+Features+1] != "x_1_ip_len" {
				t.Errorf("tensor columns %v ... %v", header[len(flowColumns)], header[len(header)-1])
			}
		}
		if len(header) != wantCols || len(rows) != len(recs)+1 {
			t.Fatalf("%s: %d columns, %d rows; want %d, %d", format, len(header), len(rows), wantCols, len(recs)+1)
		}
		col := map[string]int{}
		for i, h := range header {
			col[h] = i
		}
		for i, r := range recs {
			row := rows[i+1]
			if row[col["source"]] != r.Source || row[col["label"]] != r.Label || row[col["label_source"]] != r.LabelSource ||
				row[col["src"]] != r.Src.String() || row[col["dst_port"]] != strconv.Itoa(int(r.DstPort)) ||
				row[col["orig_bytes"]] != strconv.FormatUint(r.Orig.Bytes, 10) || row[col["steps"]] != strconv.Itoa(len(r.Seq)) ||
				row[col["start_ns"]] != strconv.FormatInt(r.Start.UnixNano(), 10) {
				t.Errorf("%s row %d = %v, record %+v", format, i, row[:len(flowColumns)], r)
			}
			if format != FormatCSV {
				continue
			}
			for k, v := range r.X {
				f, err := strconv.ParseFloat(row[len(flowColumns)+k], 32)
				if err != nil || float32(f) != v {
					t.Fatalf("row %d x[%d] = %q, want %v", i, k, row[len(flowColumns)+k], v)
				}
			}
		}
	}
}

func TestExportJSONL(t *testing.T) {
	b := exportFlowsBuild(t)
	recs := collectRecords(t, b)
	lines := strings.Split(strings.TrimSuffix(string(exportBytes(t, b, FormatJSONL)), "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d lines, want %d", len(lines), len(recs))
	}
	for i, line := range lines {
		var v struct {
			Source, Label, Src string
			KeyID              string `json:"key_id"`
			Steps              int
			Orig               struct{ Packets, Bytes uint64 }
			X                  [][]float32
		}
		dec := json.NewDecoder(strings.NewReader(line))
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d: %v\n%s", i, err, line)
		}
		r := recs[i]
		if v.Source != r.Source || v.Label != r.Label || v.Src != r.Src.String() || v.KeyID != r.KeyID ||
			v.Steps != len(r.Seq) || v.Orig.Packets != r.Orig.Packets || len(v.X) != len(r.Seq) {
			t.Errorf("line %d = %+v, record %+v", i, v, r)
		}
		for s, row := range v.X {
			if !slices.Equal(row, r.X[s*Features:(s+1)*Features]) {
				t.Errorf("line %d step %d = %v, want %v", i, s, row, r.X[s*Features:(s+1)*Features])
			}
		}
	}
	// Strings that need escaping survive.
	for _, s := range []string{"a\"b\\c", "tab\there", "\x01", "naïve ✓", "\u2028"} {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil || got != s {
			t.Errorf("appendJSONString(%q) reads back as %q, %v", s, got, err)
		}
	}
}

func TestExportAggregates(t *testing.T) {
	fs := append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(10, 2, label.TLS, 443)...)
	b := mustBuild(t, Spec{Kind: KindAggregates, GroupBy: []string{"window"}, K: 5}, rowsOf(fs, "cap"))
	aggs := collectAggregates(t, b)
	rows, err := csv.NewReader(bytes.NewReader(exportBytes(t, b, FormatCSV))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0][:2], []string{"window_start_ns", "flows"}) || !slices.Equal(rows[0][len(rows[0])-2:], []string{"label_DNS", "label_TLS"}) {
		t.Errorf("header %v", rows[0])
	}
	if len(rows) != len(aggs)+1 {
		t.Fatalf("%d rows for %d groups", len(rows), len(aggs))
	}
	for i, a := range aggs {
		row := rows[i+1]
		var dns, tls uint64
		for _, l := range a.Labels {
			switch l.Label {
			case "DNS":
				dns = l.Count
			case "TLS":
				tls = l.Count
			}
		}
		want := []string{strconv.FormatInt(a.Window.UnixNano(), 10), strconv.FormatUint(a.Flows, 10)}
		if !slices.Equal(row[:2], want) || row[len(row)-2] != strconv.FormatUint(dns, 10) || row[len(row)-1] != strconv.FormatUint(tls, 10) {
			t.Errorf("row %d = %v, group %+v", i, row, a)
		}
	}
	lines := strings.Split(strings.TrimSpace(string(exportBytes(t, b, FormatJSONL))), "\n")
	for i, line := range lines {
		var v struct {
			WindowStart int64 `json:"window_start_ns"`
			Flows       uint64
			Labels      map[string]uint64
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if v.Flows != aggs[i].Flows || v.WindowStart != aggs[i].Window.UnixNano() || len(v.Labels) != len(aggs[i].Labels) {
			t.Errorf("line %d = %+v", i, v)
		}
	}
	// Pair grouping writes key ID and addresses.
	bp := mustBuild(t, Spec{Kind: KindAggregates, GroupBy: []string{"pair", "protocol"}, K: 1}, rowsOf(fs, "cap"))
	head := strings.SplitN(string(exportBytes(t, bp, FormatCSV)), "\n", 2)[0]
	if !strings.HasPrefix(head, "key_id,protocol,src,dst,flows,") {
		t.Errorf("pair header %q", head)
	}
	if err := Export(io.Discard, b.Manifest, b.Content, FormatNPZ); !errors.Is(err, ErrFormat) {
		t.Errorf("Export(aggregates, npz) = %v, want ErrFormat", err)
	}
}

func TestExportErrors(t *testing.T) {
	b := exportFlowsBuild(t)
	for _, f := range []string{"xml", "", "CSV", "parquet"} {
		if err := Export(io.Discard, b.Manifest, b.Content, f); !errors.Is(err, ErrFormat) {
			t.Errorf("Export(%q) = %v, want ErrFormat", f, err)
		}
	}
	// Content that does not decode leaves the writer untouched.
	bad := bytes.Clone(b.Content)
	bad = bad[:len(bad)-3]
	m := b.Manifest
	m.Size = int64(len(bad))
	for _, f := range []string{FormatCSV, FormatJSONL, FormatNPZ} {
		var buf bytes.Buffer
		err := Export(&buf, b.Manifest, bad, f)
		if !errors.Is(err, ErrBadContent) || buf.Len() != 0 {
			t.Errorf("Export(%s, truncated) = %v after %d bytes", f, err, buf.Len())
		}
	}
	// A write error is reported.
	if err := Export(failWriter{}, b.Manifest, b.Content, FormatCSV); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Export to a failing writer = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// npyArray is one parsed .npy entry.
type npyArray struct {
	header string
	data   []byte
}

func readNPZ(t testing.TB, b []byte) (names []string, arrays map[string]npyArray) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("npz is not a zip: %v", err)
	}
	arrays = map[string]npyArray{}
	for _, f := range zr.File {
		if f.Method != zip.Store || !f.Modified.IsZero() && f.Modified.Year() > 1980 {
			t.Errorf("%s: method %d, modified %v; want stored without time", f.Name, f.Method, f.Modified)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if string(d[:8]) != "\x93NUMPY\x01\x00" {
			t.Fatalf("%s: magic % x", f.Name, d[:8])
		}
		hl := int(binary.LittleEndian.Uint16(d[8:10]))
		if (10+hl)%64 != 0 || d[10+hl-1] != '\n' {
			t.Errorf("%s: header of %d bytes not padded to 64", f.Name, hl)
		}
		names = append(names, f.Name)
		arrays[strings.TrimSuffix(f.Name, ".npy")] = npyArray{strings.TrimRight(string(d[10:10+hl]), " \n"), d[10+hl:]}
	}
	return names, arrays
}

func utf32(d []byte, width int) []string {
	var out []string
	for off := 0; off < len(d); off += 4 * width {
		var sb strings.Builder
		for i := range width {
			if r := rune(binary.LittleEndian.Uint32(d[off+4*i:])); r != 0 {
				sb.WriteRune(r)
			}
		}
		out = append(out, sb.String())
	}
	return out
}

func TestExportNPZLayout(t *testing.T) {
	b := exportFlowsBuild(t)
	recs := collectRecords(t, b)
	out := exportBytes(t, b, FormatNPZ)
	if !bytes.Equal(out, exportBytes(t, b, FormatNPZ)) {
		t.Errorf("NPZ export is not deterministic")
	}
	names, arr := readNPZ(t, out)
	if !slices.Equal(names, []string{"X.npy", "mask.npy", "y.npy", "label_names.npy", "source.npy", "start_ns.npy"}) {
		t.Errorf("entries %v", names)
	}
	n := len(recs)
	srcWidth := 0
	for _, r := range recs {
		srcWidth = max(srcWidth, utf8.RuneCountInString(r.Source))
	}
	wantHeaders := map[string]string{
		"X":           fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 128, 9), }", n),
		"mask":        fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 128), }", n),
		"y":           fmt.Sprintf("{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }", n),
		"label_names": "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }",
		"source":      fmt.Sprintf("{'descr': '<U%d', 'fortran_order': False, 'shape': (%d,), }", srcWidth, n),
		"start_ns":    fmt.Sprintf("{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }", n),
	}
	for k, h := range wantHeaders {
		if arr[k].header != h {
			t.Errorf("%s header %q, want %q", k, arr[k].header, h)
		}
	}
	if len(arr["X"].data) != n*Steps*Features*4 || len(arr["mask"].data) != n*Steps*4 || len(arr["y"].data) != 8*n {
		t.Fatalf("array sizes %d %d %d", len(arr["X"].data), len(arr["mask"].data), len(arr["y"].data))
	}
	labels := utf32(arr["label_names"].data, 3)
	if !slices.Equal(labels, []string{"DNS", "TLS"}) {
		t.Errorf("label_names %v", labels)
	}
	sources := utf32(arr["source"].data, srcWidth)
	for i, r := range recs {
		for k, v := range r.X {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(arr["X"].data[4*(i*Steps*Features+k):])); got != v {
				t.Fatalf("X[%d][%d] = %v, want %v", i, k, got, v)
			}
		}
		for k, v := range r.Mask {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(arr["mask"].data[4*(i*Steps+k):])); got != v {
				t.Fatalf("mask[%d][%d] = %v, want %v", i, k, got, v)
			}
		}
		if y := binary.LittleEndian.Uint64(arr["y"].data[8*i:]); labels[y] != r.Label {
			t.Errorf("y[%d] = %d (%s), want %s", i, y, labels[y], r.Label)
		}
		if sources[i] != r.Source {
			t.Errorf("source[%d] = %q, want %q", i, sources[i], r.Source)
		}
	}
}

// numpyPython returns a Python interpreter that has NumPy, or skips.
func numpyPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 with numpy (apt-get install python3-numpy)")
	return ""
}

const numpyCheck = `
import json, sys
import numpy as np
d = np.load(sys.argv[1])
out = {k: {"shape": list(d[k].shape), "dtype": d[k].dtype.str} for k in d.files}
X, m, y = d["X"], d["mask"], d["y"]
out["x_sum"] = float(X.astype(np.float64).sum())
out["x_first"] = X[0, :3, :].tolist()
out["mask_rows"] = m.sum(axis=1).astype(int).tolist()
out["labels"] = [str(s) for s in d["label_names"]]
out["y_values"] = y.tolist()
out["source_values"] = [str(s) for s in d["source"]]
print(json.dumps(out))
`

func loadWithNumpy(t *testing.T, npz []byte) map[string]any {
	t.Helper()
	py := numpyPython(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ds.npz")
	if err := os.WriteFile(path, npz, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", numpyCheck, path)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("numpy could not load the npz: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("numpy output %s: %v", out, err)
	}
	return res
}

func checkWithNumpy(t *testing.T, b *Built, npz []byte) {
	t.Helper()
	recs := collectRecords(t, b)
	res := loadWithNumpy(t, npz)
	n := float64(len(recs))
	shape := func(k string) []any { return res[k].(map[string]any)["shape"].([]any) }
	dtype := func(k string) string { return res[k].(map[string]any)["dtype"].(string) }
	if !slices.Equal(shape("X"), []any{n, float64(Steps), float64(Features)}) || dtype("X") != "<f4" {
		t.Errorf("X %v %s", shape("X"), dtype("X"))
	}
	if !slices.Equal(shape("mask"), []any{n, float64(Steps)}) || !slices.Equal(shape("y"), []any{n}) || dtype("y") != "<i8" ||
		!slices.Equal(shape("source"), []any{n}) || !strings.HasPrefix(dtype("source"), "<U") {
		t.Errorf("shapes mask %v y %v source %v", shape("mask"), shape("y"), shape("source"))
	}
	var sum float64
	for _, r := range recs {
		for _, v := range r.X {
			sum += float64(v)
		}
	}
	if got := res["x_sum"].(float64); math.Abs(got-sum) > 1e-6*math.Abs(sum) {
		t.Errorf("numpy X sum %v, want %v", got, sum)
	}
	first := res["x_first"].([]any)
	for s := range 3 {
		for f, v := range first[s].([]any) {
			if float32(v.(float64)) != recs[0].X[s*Features+f] {
				t.Errorf("numpy X[0][%d][%d] = %v, want %v", s, f, v, recs[0].X[s*Features+f])
			}
		}
	}
	labels := res["labels"].([]any)
	for i, r := range recs {
		if int(res["mask_rows"].([]any)[i].(float64)) != len(r.Seq) {
			t.Errorf("numpy mask row %d sums to %v, want %d", i, res["mask_rows"].([]any)[i], len(r.Seq))
		}
		if labels[int(res["y_values"].([]any)[i].(float64))] != r.Label || res["source_values"].([]any)[i] != r.Source {
			t.Errorf("numpy record %d: y/source differ", i)
		}
	}
}

func TestExportNPZNumpy(t *testing.T) {
	b := exportFlowsBuild(t)
	checkWithNumpy(t, b, exportBytes(t, b, FormatNPZ))
}
