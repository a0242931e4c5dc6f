package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Figure is one measured value, printed as "name value unit".
type Figure struct {
	Name  string
	Value float64
	Unit  string
}

func (f Figure) String() string {
	return f.Name + " " + strconv.FormatFloat(f.Value, 'f', -1, 64) + " " + f.Unit
}

// printFigures writes one line per figure.
func printFigures(w io.Writer, fs []Figure) {
	for _, f := range fs {
		fmt.Fprintln(w, f.String())
	}
}

// ratio is a figure dividing two others, named "a_per_b" by the caller.
func ratio(name string, a, b float64) Figure {
	if b == 0 {
		return Figure{Name: name, Value: 0, Unit: "x"}
	}
	return Figure{Name: name, Value: float64(int(a/b*100+0.5)) / 100, Unit: "x"}
}

// median is the middle value of xs (the mean of the two middle ones for an
// even count), rounded to two decimals; xs is not changed.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return round2(s[n/2])
	}
	return round2((s[n/2-1] + s[n/2]) / 2)
}
