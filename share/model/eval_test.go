package model

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func labeled(labels ...string) []Example {
	out := make([]Example, len(labels))
	for i, l := range labels {
		out[i] = Example{Label: l}
	}
	return out
}

// TestScore checks the metrics against figures worked out by hand.
func TestScore(t *testing.T) {
	//	truth: a a a a b b c c
	//	pred:  a a b - b c c c    ("-": no prediction)
	// a: tp 2, predicted 2, support 4 → P 1, R 0.5, F1 2/3
	// b: tp 1, predicted 2, support 2 → P 0.5, R 0.5, F1 0.5
	// c: tp 2, predicted 3, support 2 → P 2/3, R 1, F1 0.8
	test := labeled("a", "a", "a", "a", "b", "b", "c", "c")
	pred := []string{"a", "a", "b", "", "b", "c", "c", "c"}
	r := Report{MajorityClass: "b"}
	score(&r, test, pred)
	want := []ClassReport{
		{"a", 1, 0.5, 2.0 / 3, 4},
		{"b", 0.5, 0.5, 0.5, 2},
		{"c", 2.0 / 3, 1, 0.8, 2},
	}
	if len(r.Classes) != len(want) {
		t.Fatalf("Classes = %v, want %v", r.Classes, want)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	for i, w := range want {
		g := r.Classes[i]
		if g.Name != w.Name || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) || g.Support != w.Support {
			t.Errorf("class %d = %+v, want %+v", i, g, w)
		}
	}
	if r.N != 8 || !near(r.Accuracy, 5.0/8) || !near(r.MacroF1, (2.0/3+0.5+0.8)/3) || !near(r.Majority, 2.0/8) {
		t.Errorf("N %d, accuracy %v, macro-F1 %v, majority %v; want 8, 0.625, %v, 0.25", r.N, r.Accuracy, r.MacroF1, r.Majority, (2.0/3+0.5+0.8)/3)
	}

	// A class only predicted, never present, counts in the macro average
	// with F1 0.
	r = Report{}
	score(&r, labeled("a", "a"), []string{"a", "z"})
	if len(r.Classes) != 2 || r.Classes[1].Name != "z" || r.Classes[1].Support != 0 || !near(r.MacroF1, (2.0/3)/2) {
		t.Errorf("with a class only predicted: %+v", r)
	}

	r = Report{}
	score(&r, nil, nil)
	if r.N != 0 || r.Accuracy != 0 || r.MacroF1 != 0 || len(r.Classes) != 0 {
		t.Errorf("empty test set: %+v", r)
	}
}

func TestMajorityBaseline(t *testing.T) {
	train := labeled("b", "a", "b", "c", "a") // a and b tie: a wins by name
	test := labeled("a", "b", "c", "d", "a")
	r := MajorityBaseline(train, test)
	if r.MajorityClass != "a" || r.Accuracy != 0.4 || r.Majority != 0.4 || r.Unseen != 1 {
		t.Errorf("MajorityBaseline = class %s, accuracy %v, majority %v, unseen %d; want a, 0.4, 0.4, 1", r.MajorityClass, r.Accuracy, r.Majority, r.Unseen)
	}
	// a: P 2/5 R 1 F1 4/7; b, c, d: 0.
	if want := (4.0 / 7) / 4; math.Abs(r.MacroF1-want) > 1e-12 {
		t.Errorf("macro-F1 = %v, want %v", r.MacroF1, want)
	}
	if r := MajorityBaseline(nil, test); r.Accuracy != 0 || r.Unseen != len(test) {
		t.Errorf("MajorityBaseline with no training set = %+v", r)
	}
}

func TestEvaluateBadExamples(t *testing.T) {
	train := synthExamples(60, 9, "g", 3)
	m, err := Train(quickConfig(ArchLogReg), train)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	test := slices.Clone(train[:6])
	test[0].X = nil
	test[1].Mask = test[1].Mask[:3]
	r := Evaluate(m, test)
	full := Evaluate(m, train[:6])
	if r.N != 6 || r.Accuracy > full.Accuracy-2.0/6+1e-9 {
		t.Errorf("Evaluate with two malformed examples: accuracy %v, with them intact %v; want 2/6 less", r.Accuracy, full.Accuracy)
	}
	for _, c := range r.Classes {
		if c.Name == "" {
			t.Errorf("missing predictions show as a class: %+v", r.Classes)
		}
	}
	if r := Evaluate(nil, test); r.N != 6 || r.Accuracy != 0 {
		t.Errorf("Evaluate(nil) = %+v", r)
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestWriteText(t *testing.T) {
	r := Report{
		N: 8, Accuracy: 0.625, MacroF1: 0.655, Majority: 0.25, MajorityClass: "b", Unseen: 1,
		Classes: []ClassReport{{"a", 1, 0.5, 2.0 / 3, 4}, {"BitTorrent", 0.5, 0.5, 0.5, 2}},
		Dropped: []ClassCount{{"NTP", 2}},
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	out := b.String()
	t.Logf("\n%s", out)
	lines := strings.Split(out, "\n")
	// The table's rows end in the support column, right-aligned.
	for _, l := range lines[:3] {
		if len(l) != len(lines[0]) {
			t.Errorf("table rows differ in width:\n%s", out)
			break
		}
	}
	for _, want := range []string{
		"class       precision  recall     f1  support\n",
		"BitTorrent      0.500   0.500  0.500        2\n",
		"accuracy 0.625, macro-F1 0.655 on 8 examples",
		"majority baseline: accuracy 0.250 (always b)", "unseen: 1", "NTP (2)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteText output lacks %q:\n%s", want, out)
		}
	}
	if err := r.WriteText(&failWriter{}); err == nil {
		t.Errorf("WriteText to a failing writer = nil")
	}
}
