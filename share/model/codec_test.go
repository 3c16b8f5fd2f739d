package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
)

// smallModels trains one small model of each architecture (once per test
// binary), with a dropped class so that every field of the file is used.
var smallModels = sync.OnceValues(func() (map[string]*Model, error) {
	ex := synthExamples(60, 10, "g", 3)
	rare := synthExamples(2, 11, "r", 1)
	for i := range rare {
		rare[i].Label = "rare"
	}
	ex = append(ex, rare...)
	out := map[string]*Model{}
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		c := quickConfig(arch)
		c.Hidden = 4
		c.Epochs = 2
		c.MinClassSize = 3
		m, err := Train(c, ex)
		if err != nil {
			return nil, err
		}
		out[arch] = m
	}
	return out, nil
})

func smallModel(t testing.TB, arch string) *Model {
	t.Helper()
	ms, err := smallModels()
	if err != nil {
		t.Fatalf("training the test models: %v", err)
	}
	return ms[arch]
}

// resum replaces the checksum at the end of b by the right one.
func resum(b []byte) []byte {
	if len(b) < 4 {
		return b
	}
	b = slices.Clone(b)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crcTable))
	return b
}

func TestSaveLoadRoundTrip(t *testing.T) {
	test := synthExamples(90, 12, "t", 3)
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		t.Run(arch, func(t *testing.T) {
			m := smallModel(t, arch)
			b := save(t, m)
			got, err := Load(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !slices.Equal(got.Labels(), m.Labels()) || got.Config() != m.Config() ||
				!slices.Equal(got.Dropped(), m.Dropped()) || !slices.Equal(got.TrainingCounts(), m.TrainingCounts()) {
				t.Errorf("loaded %v (config %+v, dropped %v, counts %v), saved %v (config %+v, dropped %v, counts %v)",
					got, got.Config(), got.Dropped(), got.TrainingCounts(), m, m.Config(), m.Dropped(), m.TrainingCounts())
			}
			if len(got.Dropped()) == 0 {
				t.Error("test model has no dropped class")
			}
			for i := range test {
				l1, p1 := m.Predict(test[i].X, test[i].Mask)
				l2, p2 := got.Predict(test[i].X, test[i].Mask)
				if l1 != l2 || !slices.Equal(p1, p2) {
					t.Fatalf("example %d: saved model predicts %s %v, loaded %s %v", i, l1, p1, l2, p2)
				}
			}
			if again := save(t, got); !bytes.Equal(again, b) {
				t.Error("a loaded model saves to different bytes")
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		t.Run(arch, func(t *testing.T) {
			b := save(t, smallModel(t, arch))
			bad := func(what string, in []byte) {
				t.Helper()
				m, err := Load(bytes.NewReader(in))
				if !errors.Is(err, ErrBadModel) || m != nil {
					t.Errorf("Load(%s) = %v, %v; want nil, ErrBadModel", what, m, err)
				}
			}
			for n := range len(b) {
				bad("truncated", b[:n])
			}
			bad("trailing byte", append(slices.Clone(b), 0))
			bad("trailing byte, checksum fixed", resum(append(slices.Clone(b[:len(b)-4]), 0, 0, 0, 0, 0)))
			c := slices.Clone(b)
			for i := range c {
				bit := byte(1) << (i % 8)
				c[i] ^= bit
				bad("bit flip", c)
				c[i] ^= bit
			}
		})
	}
}

// TestLoadRejectsValidChecksum damages the fields behind an intact
// checksum: the checks of the content, not the checksum, must catch it.
func TestLoadRejectsValidChecksum(t *testing.T) {
	m := smallModel(t, ArchMLP)
	b := save(t, m)
	off := len(fileMagic)
	// Offsets of the fixed header fields.
	const (
		version    = 0
		featVer    = 2
		steps      = 4
		dim        = 8
		arch       = 12
		hidden     = 13
		epochs     = 21
		lr         = 29
		l2         = 37
		batch      = 45
		minClass   = 61
		classCount = 69
	)
	classes := off + classCount
	firstName := classes + 5 // after the count and the first name's length
	params := len(b) - 4 - 8*len(m.p)
	stds := params - 8*featureDim
	put64 := func(at int, v uint64) func([]byte) {
		return func(c []byte) { binary.LittleEndian.PutUint64(c[at:], v) }
	}
	for _, tt := range []struct {
		name string
		edit func([]byte)
		want string
	}{
		{"magic", func(c []byte) { c[0] = 'F' }, "not a flowfed model"},
		{"version", func(c []byte) { c[off+version] = 1 }, "format version 1"},
		{"feature version", func(c []byte) { c[off+featVer] = 9 }, "inputs version"},
		{"steps", func(c []byte) { c[off+steps] = 64 }, "inputs version"},
		{"derived inputs", func(c []byte) { c[off+dim]++ }, "inputs version"},
		{"arch", func(c []byte) { c[off+arch] = 3 }, "unknown architecture"},
		{"hidden 0", put64(off+hidden, 0), "hidden"},
		{"hidden huge", put64(off+hidden, MaxHidden+1), "hidden"},
		{"hidden mismatch", put64(off+hidden, 5), "bytes of statistics"},
		{"logreg with hidden", func(c []byte) { c[off+arch] = archCodeLogReg }, "hidden"},
		{"epochs", put64(off+epochs, 0), "epochs"},
		{"learning rate NaN", put64(off+lr, math.Float64bits(math.NaN())), "learning rate"},
		{"l2 negative", put64(off+l2, math.Float64bits(-1)), "l2"},
		{"batch size", put64(off+batch, 0), "batch size"},
		{"min class size huge", put64(off+minClass, 1<<40), "min class size"},
		{"min class size above a class", put64(off+minClass, 1000), "class size"},
		{"class count", func(c []byte) { binary.LittleEndian.PutUint32(c[classes:], 1<<30) }, "too many"},
		{"unsorted labels", func(c []byte) { c[firstName] = 'z' }, "not sorted"},
		{"label not UTF-8", func(c []byte) { c[firstName] = 0xff }, "UTF-8"},
		{"std zero", put64(stds, 0), "std 0 is not positive"},
		{"std negative", put64(stds+8, math.Float64bits(-1)), "std 1 is not positive"},
		{"NaN weight", put64(params+80, math.Float64bits(math.NaN())), "parameter 10 is not a number"},
		{"Inf mean", put64(stds-8, math.Float64bits(math.Inf(-1))), "mean"},
		{"huge weight", put64(params, math.Float64bits(2e6)), "parameter 0 is not a number"},
		{"huge std", put64(stds, math.Float64bits(2e6)), "std 0 is not a number"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := slices.Clone(b)
			tt.edit(c)
			m, err := Load(bytes.NewReader(resum(c)))
			if !errors.Is(err, ErrBadModel) || m != nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, %v; want ErrBadModel saying %q", m, err, tt.want)
			}
		})
	}
}

type errReader struct{}

var errDisk = errors.New("disk gone")

func (errReader) Read([]byte) (int, error) { return 0, errDisk }

func TestLoadReaderErrors(t *testing.T) {
	if _, err := Load(errReader{}); !errors.Is(err, errDisk) || errors.Is(err, ErrBadModel) {
		t.Errorf("Load(failing reader) = %v, want the reader's error", err)
	}
	b := save(t, smallModel(t, ArchLogReg))
	if _, err := load(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Errorf("load(%d bytes, limit %d) = %v", len(b), len(b), err)
	}
	if _, err := load(bytes.NewReader(b), int64(len(b)-1)); !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "larger") {
		t.Errorf("load(%d bytes, limit %d) = %v, want ErrBadModel for its size", len(b), len(b)-1, err)
	}
	if _, err := load(io.MultiReader(bytes.NewReader(b), zeros{}), int64(len(b))); !errors.Is(err, ErrBadModel) {
		t.Errorf("load(endless input) = %v, want ErrBadModel", err)
	}
	if err := smallModel(t, ArchLogReg).Save(&failWriter{}); err == nil {
		t.Error("Save to a failing writer = nil")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzLoad feeds arbitrary bytes to Load, both as they are and with their
// checksum made right, so that the fuzzer reaches the checks behind it.
// Properties: no panic; an accepted input is canonical (it saves to the
// same bytes); an accepted model predicts a probability distribution over
// its labels.
func FuzzLoad(f *testing.F) {
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		b := save(f, smallModel(f, arch))
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(fileMagic))
	f.Add([]byte{})
	probe := synthExamples(3, 13, "p", 1)
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, b := range [][]byte{in, resum(in)} {
			m, err := Load(bytes.NewReader(b))
			if err != nil {
				if m != nil || !errors.Is(err, ErrBadModel) {
					t.Fatalf("Load = %v, %v; want nil and ErrBadModel", m, err)
				}
				continue
			}
			var out bytes.Buffer
			if err := m.Save(&out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), b) {
				t.Fatalf("accepted input saves to different bytes:\n in  %x\n out %x", b, out.Bytes())
			}
			for _, e := range probe {
				l, p := m.Predict(e.X, e.Mask)
				var sum float64
				for _, v := range p {
					sum += float64(v)
				}
				if !slices.Contains(m.Labels(), l) || len(p) != len(m.Labels()) || !(math.Abs(sum-1) < 1e-3) {
					t.Fatalf("Predict = %q, %v (sum %v) for labels %v", l, p, sum, m.Labels())
				}
			}
		}
	})
}

// TestSeenGroups: a saved model knows which groups it was trained on, so
// an evaluation on them can be told apart from one on new groups.
func TestSeenGroups(t *testing.T) {
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		got, err := Load(bytes.NewReader(save(t, smallModel(t, arch))))
		if err != nil {
			t.Fatal(err)
		}
		if seen, total := got.SeenGroups(synthExamples(30, 10, "g", 3)); total == 0 || seen != total {
			t.Errorf("%s: %d of %d training groups recognised", arch, seen, total)
		}
		if seen, total := got.SeenGroups(synthExamples(30, 12, "t", 3)); total == 0 || seen != 0 {
			t.Errorf("%s: %d of %d new groups taken for training groups", arch, seen, total)
		}
	}
}
