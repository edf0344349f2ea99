package engine

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// TestAggregateSignaturesResolve: every signature DESCRIBE FUNCTION shows
// for an aggregate, and every overload the checked-in list of ksqlDB's
// functions (sql/expr/testdata/ksqldb_functions.txt) says Runnel has,
// resolves in the aggregate operators, with the result type it shows.
// sql/expr describes the aggregates; operators/agg implements them; this
// test, in the room that composes both, keeps them agreeing.
func TestAggregateSignaturesResolve(t *testing.T) {
	var sigs []string
	for _, name := range expr.Aggregates() {
		d, ok := expr.Describe(name)
		if !ok || d.Kind != expr.KindAggregate || len(d.Signatures) == 0 {
			t.Fatalf("aggregate %s is not described", name)
		}
		sigs = append(sigs, d.Signatures...)
	}
	f, err := os.Open(filepath.Join("..", "sql", "expr", "testdata", "ksqldb_functions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	listed := 0
	for sc.Scan() {
		parts := strings.Split(sc.Text(), " | ")
		if len(parts) >= 3 && parts[0] == "AGGREGATE" && parts[2] != "missing" {
			sigs = append(sigs, parts[1])
			listed++
		}
	}
	if err := sc.Err(); err != nil || listed < 20 {
		t.Fatalf("read %d aggregate overloads from the list: %v", listed, err)
	}
	sigRE := regexp.MustCompile(`^([A-Z_]+)\((.*)\) -> (.+)$`)
	// A signature's T stands for INT here, U for BOOLEAN; a DECIMAL for
	// DECIMAL(10, 2).
	inst := func(s string) types.Type {
		s = regexp.MustCompile(`\bT\b`).ReplaceAllString(s, "INT")
		s = regexp.MustCompile(`\bU\b`).ReplaceAllString(s, "BOOLEAN")
		s = regexp.MustCompile(`\bDECIMAL\b([^(]|$)`).ReplaceAllString(s, "DECIMAL(10, 2)$1")
		typ, err := types.Parse(s)
		if err != nil {
			t.Fatalf("type %q: %v", s, err)
		}
		return typ
	}
	for _, sig := range sigs {
		m := sigRE.FindStringSubmatch(sig)
		if m == nil {
			t.Errorf("bad signature %q", sig)
			continue
		}
		var params []string
		if m[2] != "" && m[2] != "*" {
			params = strings.Split(m[2], ", ")
		}
		// The first argument is the aggregated column; an INT or BOOLEAN
		// after it is a constant the planner evaluates (TOPK's k,
		// LATEST_BY_OFFSET's n and ignoreNulls), any other parameter a
		// column (CORRELATION's second, TOPK's other columns U...).
		var argTypes []types.Type
		var consts []types.Value
		for i, p := range params {
			p = strings.TrimSuffix(p, "...")
			switch {
			case i > 0 && p == "INT" && m[1] != "CORRELATION":
				consts = append(consts, types.NewInt(3))
			case i > 0 && p == "BOOLEAN":
				consts = append(consts, types.NewBoolean(false))
			default:
				argTypes = append(argTypes, inst(p))
			}
		}
		got, err := build.ResolveAggregate(m[1], argTypes, consts, false)
		if err != nil {
			t.Errorf("%s does not resolve: %v", sig, err)
			continue
		}
		if strings.Contains(m[3], "STRUCT") && (strings.Contains(m[3], "...") || strings.HasSuffix(m[3], "STRUCT>")) {
			// TOPK with other columns: an ARRAY of STRUCTs, whose fields
			// depend on the columns.
			if got.Kind != types.KindArray || got.Elem.Kind != types.KindStruct {
				t.Errorf("%s resolves to %s", sig, got)
			}
			continue
		}
		want := inst(m[3])
		if got.Kind != want.Kind || (got.Kind != types.KindDecimal && !got.Equal(want)) {
			t.Errorf("%s resolves to %s", sig, got)
		}
	}
}
