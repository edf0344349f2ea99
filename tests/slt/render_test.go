package slt

import (
	"slices"
	"strings"
	"testing"
)

func TestRenderValue(t *testing.T) {
	for _, tc := range []struct {
		typ  byte
		in   cell
		want string
		err  string
	}{
		{'T', cell{null: true}, "NULL", ""},
		{'I', cell{null: true}, "NULL", ""},
		{'T', cell{text: ""}, "(empty)", ""},
		{'T', cell{text: "a b"}, "a b", ""},
		{'T', cell{text: "a\tb\nc"}, "a@b@c", ""},
		{'T', cell{text: "héllo"}, "héllo", ""},
		{'I', cell{text: "42"}, "42", ""},
		{'I', cell{text: "-007"}, "-7", ""},
		{'I', cell{text: "+5"}, "5", ""},
		{'I', cell{text: "123456789012345678901234567890"}, "123456789012345678901234567890", ""},
		{'I', cell{text: "3.000"}, "3", ""},
		{'I', cell{text: "3.5"}, "", "not an integer"},
		{'I', cell{text: "abc"}, "", "not an integer"},
		{'R', cell{text: "1.5"}, "1.500", ""},
		{'R', cell{text: "2"}, "2.000", ""},
		{'R', cell{text: "0.0005"}, "0.001", ""},
		{'R', cell{text: "-0.0001"}, "0.000", ""},
		{'R', cell{text: "1e3"}, "1000.000", ""},
		{'R', cell{text: "NaN"}, "NaN", ""},
		{'R', cell{text: "-Infinity"}, "-Infinity", ""},
		{'R', cell{text: "x"}, "", "not a number"},
		{'B', cell{text: "t"}, "true", ""},
		{'B', cell{text: "FALSE"}, "false", ""},
		{'B', cell{text: "1"}, "", "not a boolean"},
	} {
		got, err := renderValue(tc.typ, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("renderValue(%c, %+v) = %q, %v; want error %q", tc.typ, tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("renderValue(%c, %+v) = %q, %v; want %q", tc.typ, tc.in, got, err, tc.want)
		}
	}
}

func TestRenderRowsColumnMismatch(t *testing.T) {
	_, err := renderRows("II", [][]cell{{{text: "1"}}})
	if err == nil || !strings.Contains(err.Error(), "row 1 has 1 columns") {
		t.Errorf("renderRows = %v, want a column count error", err)
	}
	_, err = renderRows("IT", [][]cell{{{text: "1"}, {text: "a"}}, {{text: "x"}, {text: "b"}}})
	if err == nil || !strings.Contains(err.Error(), "row 2 column 1") {
		t.Errorf("renderRows = %v, want an error at row 2 column 1", err)
	}
}

func TestSortedValues(t *testing.T) {
	rows := [][]string{{"2", "b"}, {"10", "a"}, {"2", "a"}, {"NULL", "c"}}
	for _, tc := range []struct {
		mode SortMode
		want string
	}{
		{NoSort, "2 b 10 a 2 a NULL c"},
		// Sorting compares rendered strings, as the C sqllogictest does:
		// "10" < "2" < "NULL".
		{RowSort, "10 a 2 a 2 b NULL c"},
		{ValueSort, "10 2 2 NULL a a b c"},
	} {
		if got := strings.Join(sortedValues(tc.mode, rows), " "); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.mode, got, tc.want)
		}
	}
	if rows[0][0] != "2" || rows[1][0] != "10" {
		t.Errorf("sortedValues changed its input: %q", rows)
	}
}

func TestMatchValues(t *testing.T) {
	values := []string{"1", "a b", "2", "c"}
	for _, tc := range []struct {
		lines []string
		want  bool
	}{
		{[]string{"1", "a b", "2", "c"}, true}, // one value per line
		{[]string{"1 a b", "2 c"}, true},       // one row per line
		{[]string{"1   a b", "2\tc"}, true},    // any white space between values
		{[]string{"1 a b 2 c"}, true},          // words are what count
		{[]string{"1", "a b", "2"}, false},
		{[]string{"1 a b", "2 d"}, false},
		{nil, false},
	} {
		if got := matchValues(tc.lines, values); got != tc.want {
			t.Errorf("matchValues(%q) = %v, want %v", tc.lines, got, tc.want)
		}
	}
	if !matchValues(nil, nil) {
		t.Error("no rows must match no expected lines")
	}
}

func TestFormatResults(t *testing.T) {
	values := []string{"1", "a", "2", "b"}
	for _, tc := range []struct {
		rows      bool
		ncols     int
		threshold int
		want      []string
	}{
		{false, 2, 0, []string{"1", "a", "2", "b"}},
		{true, 2, 0, []string{"1 a", "2 b"}},
		{true, 1, 0, []string{"1", "a", "2", "b"}},
		{true, 2, 4, []string{"1 a", "2 b"}},
		{true, 2, 3, []string{"4 values hashing to " + HashValues(values)}},
	} {
		if got := formatResults(values, tc.ncols, tc.rows, tc.threshold); !slices.Equal(got, tc.want) {
			t.Errorf("formatResults(rows=%v, ncols=%d, threshold=%d) = %q, want %q", tc.rows, tc.ncols, tc.threshold, got, tc.want)
		}
	}
}

func TestRowLayout(t *testing.T) {
	for _, tc := range []struct {
		e     Expected
		ncols int
		want  bool
	}{
		{Expected{}, 1, false},
		{Expected{}, 2, true},
		{Expected{Lines: []string{"1 a"}}, 2, true},
		{Expected{Lines: []string{"1", "a"}}, 2, false},
		{Expected{Hashed: true, Lines: []string{"4 values hashing to x"}}, 2, false},
	} {
		if got := rowLayout(tc.e, tc.ncols); got != tc.want {
			t.Errorf("rowLayout(%q, %d) = %v, want %v", tc.e.Lines, tc.ncols, got, tc.want)
		}
	}
}

func TestApplyEdits(t *testing.T) {
	src := "query I\nSELECT 1\n----\n2\n\n# keep  me \nquery IT\nSELECT 1, 'a'\n\nquery I\nSELECT 3"
	recs, err := Parse("mem.slt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := string(applyEdits([]byte(src), []edit{
		{span: recs[0].span, lines: []string{"1"}},
		{span: recs[1].span, lines: []string{"1 a"}},
		{span: recs[2].span, lines: []string{"3"}},
	}))
	want := "query I\nSELECT 1\n----\n1\n\n# keep  me \nquery IT\nSELECT 1, 'a'\n----\n1 a\n\nquery I\nSELECT 3\n----\n3\n"
	if got != want {
		t.Errorf("applyEdits:\n%s\nwant:\n%s", got, want)
	}
}
