package slt

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// typeChars are the column types a query's type string may use.
const typeChars = "TIRB"

// cell is one value as the server sent it, in text format.
type cell struct {
	text string
	null bool
}

// renderValue turns one value into the string the .slt file holds for it.
//
//	any type   NULL          -> NULL
//	T (text)   ""            -> (empty); control characters become '@';
//	                            anything else as the server's text form
//	I (int)    integer text  -> itself (leading '+' and zeros dropped);
//	                            an integral float/decimal ("3.0") -> 3;
//	                            anything else is an error
//	R (real)   number text   -> printf("%.3f"), -0.000 as 0.000;
//	                            NaN, Infinity, -Infinity as written
//	B (bool)   t/true/f/false (any case) -> true/false
func renderValue(typ byte, c cell) (string, error) {
	if c.null {
		return "NULL", nil
	}
	s := c.text
	switch typ {
	case 'T':
		if s == "" {
			return "(empty)", nil
		}
		return strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return '@'
			}
			return r
		}, s), nil
	case 'I':
		if i, ok := new(big.Int).SetString(s, 10); ok {
			return i.String(), nil
		}
		if f, ok := new(big.Float).SetString(s); ok && f.IsInt() {
			i, _ := f.Int(nil)
			return i.String(), nil
		}
		return "", fmt.Errorf("value %q is not an integer (type I)", s)
	case 'R':
		switch strings.ToLower(s) {
		case "nan":
			return "NaN", nil
		case "infinity", "inf", "+infinity", "+inf":
			return "Infinity", nil
		case "-infinity", "-inf":
			return "-Infinity", nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return "", fmt.Errorf("value %q is not a number (type R)", s)
		}
		out := strconv.FormatFloat(f, 'f', 3, 64)
		if out == "-0.000" {
			out = "0.000"
		}
		return out, nil
	case 'B':
		switch strings.ToLower(s) {
		case "t", "true":
			return "true", nil
		case "f", "false":
			return "false", nil
		}
		return "", fmt.Errorf("value %q is not a boolean (type B)", s)
	}
	return "", fmt.Errorf("unknown column type %q", typ)
}

// renderRows renders every value of rows with the query's type string.
func renderRows(types string, rows [][]cell) ([][]string, error) {
	out := make([][]string, len(rows))
	for i, row := range rows {
		if len(row) != len(types) {
			return nil, fmt.Errorf("row %d has %d columns, type string %q has %d", i+1, len(row), types, len(types))
		}
		out[i] = make([]string, len(row))
		for j, c := range row {
			v, err := renderValue(types[j], c)
			if err != nil {
				return nil, fmt.Errorf("row %d column %d: %w", i+1, j+1, err)
			}
			out[i][j] = v
		}
	}
	return out, nil
}

// sortedValues applies mode to rendered rows and flattens them.
func sortedValues(mode SortMode, rows [][]string) []string {
	if mode == RowSort {
		rows = slices.Clone(rows)
		slices.SortStableFunc(rows, slices.Compare[[]string])
	}
	var values []string
	for _, r := range rows {
		values = append(values, r...)
	}
	if mode == ValueSort {
		slices.Sort(values)
	}
	return values
}

// matchValues reports whether the expected lines hold values: either one
// value per line, exactly, or (row-per-line form) the same words once both
// sides are split on white space.
func matchValues(lines, values []string) bool {
	if slices.Equal(lines, values) {
		return true
	}
	var want, got []string
	for _, l := range lines {
		want = append(want, strings.Fields(l)...)
	}
	for _, v := range values {
		got = append(got, strings.Fields(v)...)
	}
	return slices.Equal(want, got)
}

// rowLayout reports whether a query's results are (or, for a new query,
// will be) written one row per line: when it has several columns and the
// first expected line holds at least that many words.
func rowLayout(e Expected, ncols int) bool {
	if ncols < 2 || e.Hashed {
		return false
	}
	return len(e.Lines) == 0 || len(strings.Fields(e.Lines[0])) >= ncols
}

// formatResults writes values as result lines: the hashed line when there
// are more than threshold values (threshold > 0), else one row of ncols
// values per line or one value per line.
func formatResults(values []string, ncols int, rows bool, threshold int) []string {
	if threshold > 0 && len(values) > threshold {
		return []string{hashedLine(values)}
	}
	if !rows || ncols < 2 {
		return slices.Clone(values)
	}
	var lines []string
	for i := 0; i < len(values); i += ncols {
		lines = append(lines, strings.Join(values[i:min(i+ncols, len(values))], " "))
	}
	return lines
}
