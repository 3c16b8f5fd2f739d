package model

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/flowfed/flowfed/share/dataset"
)

// ClassReport holds the scores of one class on a test set.
type ClassReport struct {
	Name string
	// Precision is the share of the predictions of this class that were
	// right, Recall the share of its examples predicted as it, and F1 their
	// harmonic mean; each is 0 when undefined (nothing predicted as or
	// labeled with the class).
	Precision, Recall, F1 float64
	// Support is the number of test examples of the class.
	Support int
}

// Report holds the scores of a classifier on a test set.
type Report struct {
	// N is the number of test examples.
	N int
	// Accuracy is the share of examples predicted right.
	Accuracy float64
	// MacroF1 is the unweighted mean F1 over Classes: every class that
	// occurs in the test set or among the predictions counts once, so
	// rare classes weigh as much as frequent ones.
	MacroF1 float64
	// Classes holds the per-class scores, sorted by name.
	Classes []ClassReport
	// Majority is the accuracy on the same test set of always predicting
	// MajorityClass, the most frequent training class: the floor a useful
	// classifier must clear.
	Majority      float64
	MajorityClass string
	// Unseen counts the test examples whose label is not among the classes
	// the model predicts (never seen in training, or dropped); they count
	// as errors.
	Unseen int
	// Dropped lists the classes the model left out of training for having
	// too few examples.
	Dropped []ClassCount
}

// Evaluate predicts every test example with m and scores the predictions
// against the labels. Examples whose tensor or mask has the wrong length
// get no prediction and count as errors.
func Evaluate(m *Model, test []Example) Report {
	pred := make([]string, len(test))
	var known map[string]bool
	var r Report
	if m != nil {
		s := m.newScratch()
		for i := range test {
			e := &test[i]
			if validShape(e) {
				pred[i] = m.labels[m.predict(s, e.X, e.Mask)]
			}
		}
		known = make(map[string]bool, len(m.labels))
		for _, l := range m.labels {
			known[l] = true
		}
		r.MajorityClass = m.majority()
		r.Dropped = m.Dropped()
	}
	score(&r, test, pred)
	for i := range test {
		if !known[test[i].Label] {
			r.Unseen++
		}
	}
	return r
}

// validShape reports whether e's tensor and mask have the lengths Predict
// takes.
func validShape(e *Example) bool {
	return len(e.X) == dataset.Steps*dataset.Features && len(e.Mask) == dataset.Steps
}

// MajorityBaseline scores the classifier that always predicts the most
// frequent class of train (the first by name among equals) on test. Its
// Accuracy equals its Majority; Unseen counts the test labels absent from
// train.
func MajorityBaseline(train, test []Example) Report {
	var best ClassCount
	known := map[string]bool{}
	for _, c := range classCounts(train) {
		known[c.Name] = true
		if c.N > best.N {
			best = c
		}
	}
	pred := make([]string, len(test))
	for i := range pred {
		pred[i] = best.Name
	}
	r := Report{MajorityClass: best.Name}
	score(&r, test, pred)
	for i := range test {
		if !known[test[i].Label] {
			r.Unseen++
		}
	}
	return r
}

// score fills the scores of r from the predictions pred of the test
// examples ("" for no prediction, which is always wrong and names no
// class). r.MajorityClass must be set.
func score(r *Report, test []Example, pred []string) {
	type tally struct{ tp, predicted, support int }
	counts := map[string]*tally{}
	get := func(l string) *tally {
		c := counts[l]
		if c == nil {
			c = &tally{}
			counts[l] = c
		}
		return c
	}
	right, majority := 0, 0
	for i := range test {
		l, p := test[i].Label, pred[i]
		get(l).support++
		if p != "" {
			get(p).predicted++
		}
		if p == l {
			get(l).tp++
			right++
		}
		if l == r.MajorityClass {
			majority++
		}
	}
	r.N = len(test)
	r.Classes = r.Classes[:0]
	for name, c := range counts {
		cr := ClassReport{Name: name, Support: c.support}
		if c.predicted > 0 {
			cr.Precision = float64(c.tp) / float64(c.predicted)
		}
		if c.support > 0 {
			cr.Recall = float64(c.tp) / float64(c.support)
		}
		if cr.Precision+cr.Recall > 0 {
			cr.F1 = 2 * cr.Precision * cr.Recall / (cr.Precision + cr.Recall)
		}
		r.Classes = append(r.Classes, cr)
	}
	slices.SortFunc(r.Classes, func(a, b ClassReport) int { return cmp.Compare(a.Name, b.Name) })
	r.Accuracy, r.MacroF1, r.Majority = 0, 0, 0
	if r.N > 0 {
		r.Accuracy = float64(right) / float64(r.N)
		r.Majority = float64(majority) / float64(r.N)
	}
	for _, c := range r.Classes {
		r.MacroF1 += c.F1
	}
	if len(r.Classes) > 0 {
		r.MacroF1 /= float64(len(r.Classes))
	}
}

// WriteText writes r as an aligned table, one row per class, followed by the
// overall figures.
func (r Report) WriteText(w io.Writer) error {
	// fmt pads to a width in runes.
	width, sup := len("class"), len("support")
	for _, c := range r.Classes {
		width = max(width, utf8.RuneCountInString(printable(c.Name)))
		sup = max(sup, len(fmt.Sprint(c.Support)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  precision  recall     f1  %*s\n", width, "class", sup, "support")
	for _, c := range r.Classes {
		fmt.Fprintf(&b, "%-*s  %9.3f  %6.3f  %5.3f  %*d\n", width, printable(c.Name), c.Precision, c.Recall, c.F1, sup, c.Support)
	}
	fmt.Fprintf(&b, "\naccuracy %.3f, macro-F1 %.3f on %d examples\n", r.Accuracy, r.MacroF1, r.N)
	fmt.Fprintf(&b, "majority baseline: accuracy %.3f (always %s)\n", r.Majority, printable(r.MajorityClass))
	if r.Unseen > 0 {
		fmt.Fprintf(&b, "unseen: %d test examples have a label the model does not predict\n", r.Unseen)
	}
	if len(r.Dropped) > 0 {
		parts := make([]string, len(r.Dropped))
		for i, c := range r.Dropped {
			parts[i] = fmt.Sprintf("%s (%d)", printable(c.Name), c.N)
		}
		fmt.Fprintf(&b, "dropped in training (too few examples): %s\n", strings.Join(parts, ", "))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// printable returns a class name as a table shows it: quoted when it is
// empty or holds characters that are not printable (labels come from
// shared data and may hold anything UTF-8).
func printable(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
