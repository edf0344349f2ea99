package agg

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestKsqlAggregateList checks the AGGREGATE lines of sql/expr's
// checked-in list of ksqlDB's functions (testdata/ksqldb_functions.txt)
// against Resolve: every overload listed as implemented or extra
// resolves, with the listed result type, and every one listed as
// missing does not. (sql/expr's TestKsqlFunctionList checks that the
// list and SHOW FUNCTIONS agree.)
func TestKsqlAggregateList(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "sql", "expr", "testdata", "ksqldb_functions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sigRE := regexp.MustCompile(`^([A-Z_]+)\((.*)\) -> (.+)$`)
	// The type variables stand for distinct types, as in sql/expr's test.
	vars := map[string]string{"T": "INTEGER", "U": "BOOLEAN"}
	inst := func(s string) string {
		if v, ok := vars[s]; ok {
			return v
		}
		s = strings.ReplaceAll(s, "<T>", "<INTEGER>")
		return strings.ReplaceAll(s, "DECIMAL", "DECIMAL(10, 2)")
	}
	takesConsts := map[string]bool{"TOPK": true, "TOPKDISTINCT": true, "LATEST_BY_OFFSET": true, "EARLIEST_BY_OFFSET": true}
	sc := bufio.NewScanner(f)
	checked := 0
	for n := 1; sc.Scan(); n++ {
		parts := strings.Split(strings.TrimSpace(sc.Text()), " | ")
		if len(parts) < 3 || parts[0] != "AGGREGATE" {
			continue
		}
		m := sigRE.FindStringSubmatch(parts[1])
		if m == nil {
			t.Fatalf("line %d: bad signature %q", n, parts[1])
		}
		name, ret := m[1], m[3]
		var argTypes []types.Type
		var consts []types.Value
		if m[2] != "" {
			for i, p := range strings.Split(m[2], ", ") {
				p = strings.TrimSuffix(p, "...")
				switch {
				case i > 0 && takesConsts[name] && p == "INT":
					consts = append(consts, types.NewInt(2))
				case i > 0 && takesConsts[name] && p == "BOOLEAN":
					consts = append(consts, types.NewBoolean(false))
				default:
					typ, err := types.Parse(inst(p))
					if err != nil {
						t.Fatalf("line %d: type %q: %v", n, p, err)
					}
					argTypes = append(argTypes, typ)
				}
			}
		}
		fn, err := Resolve(name, argTypes, consts, false)
		if parts[2] == "missing" {
			if err == nil {
				t.Errorf("line %d: %s is listed as missing but resolves", n, parts[1])
			}
			continue
		}
		checked++
		if err != nil {
			t.Errorf("line %d: %s does not resolve: %v", n, parts[1], err)
			continue
		}
		got := fn.ResultType().String()
		want := inst(ret)
		if want == "ARRAY<STRUCT>" {
			if r := fn.ResultType(); r.Kind != types.KindArray || r.Elem.Kind != types.KindStruct {
				t.Errorf("line %d: %s has type %s", n, parts[1], got)
			}
			continue
		}
		wt, err := types.Parse(want)
		if err != nil {
			t.Fatalf("line %d: type %q: %v", n, want, err)
		}
		if r := fn.ResultType(); !r.Equal(wt) && !(wt.Kind == types.KindDecimal && r.Kind == types.KindDecimal) {
			t.Errorf("line %d: %s has type %s", n, parts[1], got)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d aggregate overloads checked", checked)
	}
}
