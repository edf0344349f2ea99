package slt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseGolden parses testdata/parser/*.slt and compares a dump of the
// records with the .golden file beside it (-slt.rewrite regenerates it).
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parser/*.slt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no parser testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			recs, err := ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, r := range recs {
				b.WriteString(r.String())
				b.WriteString("\n")
			}
			golden := strings.TrimSuffix(f, ".slt") + ".golden"
			if *RewriteFlag {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("records of %s differ from %s (-slt.rewrite regenerates):\n%s", f, golden, got)
			}
		})
	}
}

// TestParseEveryDirective checks the directive file really covers every
// kind, option and sort mode, so the golden file cannot silently shrink.
func TestParseEveryDirective(t *testing.T) {
	recs, err := ParseFile("testdata/parser/directives.slt")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Kind.String()] = true
		switch {
		case r.Kind == KindQuery && r.Error != nil:
			seen["query error"] = true
		case r.Kind == KindQuery:
			seen[r.Sort.String()] = true
			seen["types "+r.Types] = true
			if r.Retry {
				seen["retry"] = true
			}
			if r.Label != "" {
				seen["label"] = true
			}
			if r.Expected.Hashed {
				seen["hashed"] = true
			}
		case r.Kind == KindStatement && r.Error != nil && r.Error.HasPosition:
			seen["statement error position"] = true
		case r.Kind == KindStatement && r.Error != nil && r.Error.Code != "" && r.Error.Pattern != nil:
			seen["statement error pgcode regexp"] = true
		case r.RowsAffected >= 0:
			seen["statement count"] = true
		}
		if len(r.SkipIf) > 0 {
			seen["skipif"] = true
		}
		if len(r.OnlyIf) > 0 {
			seen["onlyif"] = true
		}
	}
	for _, want := range []string{"statement", "query", "hash-threshold", "halt", "sleep",
		"query error", "nosort", "rowsort", "valuesort", "retry", "label", "hashed",
		"statement error pgcode regexp", "statement error position", "statement count", "skipif", "onlyif", "types TB", "types R"} {
		if !seen[want] {
			t.Errorf("directives.slt has no %s", want)
		}
	}
}

func TestParseSQLAndResults(t *testing.T) {
	src := "statement ok\nINSERT INTO t\n# gone\nVALUES ('#x') # kept\n\n" +
		"query IT rowsort\nSELECT a,\n  b\nFROM t\n----\n1 a b\n# value\n\nquery T\nSELECT 1\n"
	recs, err := Parse("mem.slt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	if got, want := recs[0].SQL, "INSERT INTO t\nVALUES ('#x') # kept"; got != want {
		t.Errorf("statement SQL = %q, want %q", got, want)
	}
	if got, want := recs[1].SQL, "SELECT a,\n  b\nFROM t"; got != want {
		t.Errorf("query SQL = %q, want %q", got, want)
	}
	if got := strings.Join(recs[1].Expected.Lines, "|"); got != "1 a b|# value" {
		t.Errorf("expected lines = %q", got)
	}
	if recs[1].Line != 6 || recs[2].Line != 14 {
		t.Errorf("lines = %d, %d; want 6, 14", recs[1].Line, recs[2].Line)
	}
	if s := recs[2].span; s.separator || s.start != len(src) || s.end != len(src) {
		t.Errorf("span of a query without results = %+v, want insertion at EOF %d", s, len(src))
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line int
		msg  string
	}{
		{"bogus\n", 1, `unknown directive "bogus"`},
		{"\n\nstatement\nSELECT 1\n", 3, "statement needs ok"},
		{"statement maybe\nSELECT 1\n", 1, `statement "maybe"`},
		{"statement ok\n\n", 1, "statement without SQL"},
		{"statement ok\nSELECT 1\n----\n1\n", 1, "statement records have no ---- results"},
		{"statement error pgcode 4201\nx\n", 1, "a SQLSTATE has 5 characters"},
		{"statement error pgcode\nx\n", 1, "pgcode needs a SQLSTATE"},
		{"statement error (\nx\n", 1, "bad error regexp"},
		{"statement error pgcode 42601 position 99999999999999999999\nx\n", 1, "want a character position"},
		{"statement count x\nx\n", 1, "statement count: bad number"},
		{"query\nSELECT 1\n", 1, "query needs a type string"},
		{"query IX\nSELECT 1\n", 1, `query type "IX"`},
		{"query I rowsort valuesort\nSELECT 1\n", 1, "more than one sort mode"},
		{"query I a b\nSELECT 1\n", 1, `query option "b"`},
		{"query error x\nSELECT 1\n----\n1\n", 1, "query error records have no ---- results"},
		{"hash-threshold\n", 1, "hash-threshold needs one number"},
		{"hash-threshold -1\n", 1, "hash-threshold: bad number"},
		{"halt now\n", 1, "halt takes no argument"},
		{"sleep forever\n", 1, "sleep: bad duration"},
		{"skipif\nhalt\n", 1, "skipif needs exactly one engine name"},
		{"skipif runnel\n\nhalt\n", 1, "must be followed by a record"},
		{"statement ok\nSELECT 1\n\nonlyif x\n", 4, "skipif/onlyif at the end of the file"},
	} {
		_, err := Parse("e.slt", []byte(tc.src))
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrParse) {
			t.Errorf("Parse(%q) = %v, want a *ParseError", tc.src, err)
			continue
		}
		if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("Parse(%q) = %v, want line %d and %q", tc.src, err, tc.line, tc.msg)
		}
	}
}

func TestSkipped(t *testing.T) {
	for _, tc := range []struct {
		skipIf, onlyIf []string
		want           bool
	}{
		{nil, nil, false},
		{[]string{"runnel"}, nil, true},
		{[]string{"postgresql"}, nil, false},
		{nil, []string{"runnel"}, false},
		{nil, []string{"postgresql"}, true},
		{[]string{"mysql"}, []string{"runnel"}, false},
	} {
		r := &Record{SkipIf: tc.skipIf, OnlyIf: tc.onlyIf}
		if got := r.Skipped("runnel"); got != tc.want {
			t.Errorf("skipif %v onlyif %v: Skipped = %v, want %v", tc.skipIf, tc.onlyIf, got, tc.want)
		}
	}
}
