// Package layers checks that the rooms of the house depend on each other
// only as ARCHITECTURE.md draws them: arrows point down, never back up.
package layers

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/runnel/runnel/"

// allowed lists, for each room, the rooms its packages may reach, directly
// or through others. A room may always reach its own sub-packages and
// internal/. The most specific room prefix of a package decides.
//
// The operators know nothing of SQL plans, with one exception: the builder
// (operators/build), which turns plan trees into operators and so is the
// only package of the runtime that reads the planner's output.
var allowed = map[string][]string{
	"log":       {},
	"sql/types": {},
	"sql":       {"sql/types"},
	"sql/expr":  {"sql/types"},
	"catalog":   {"log", "sql/types"},
	"planner":   {"sql", "sql/expr", "sql/types", "catalog", "log"},
	// planner/pgcatalog answers PostgreSQL's catalog queries: it presents
	// the catalog and evaluates the front end's queries over it, so it
	// sits beside the planner, but it needs neither the planner's
	// streaming plans nor the operators (it reaches log only through
	// catalog's records).
	"planner/pgcatalog": {"sql", "sql/expr", "sql/types", "catalog", "log"},
	"operators":         {"log", "sql/expr", "sql/types"},
	// operators/build reaches catalog and sql through the planner.
	"operators/build": {"operators", "planner", "catalog", "sql", "sql/expr", "sql/types", "log"},
	"server":          {"sql/types"},
	"engine":          {"*"},
	"cmd":             {"*"},
	"tests":           {"*"},
	"internal":        {},
}

// room returns the room a package path (without the module prefix) is in.
func room(pkg string) string {
	best := ""
	for r := range allowed {
		if (pkg == r || strings.HasPrefix(pkg, r+"/")) && len(r) > len(best) {
			best = r
		}
	}
	return best
}

func TestRoomsDependOnlyDownward(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/runnel/runnel/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], module) {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], module)
		r := room(pkg)
		if r == "" {
			bad = append(bad, pkg+": in no room of ARCHITECTURE.md")
			continue
		}
		checked++
		ok := map[string]bool{r: true, "internal": true}
		for _, a := range allowed[r] {
			ok[a] = true
		}
		if ok["*"] {
			continue
		}
		for _, dep := range fields[1:] {
			if !strings.HasPrefix(dep, module) {
				continue
			}
			d := strings.TrimPrefix(dep, module)
			if dr := room(d); !ok[dr] {
				bad = append(bad, pkg+" depends on "+d)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages: is go list's output what this test expects?", checked)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

func TestRoomOf(t *testing.T) {
	for pkg, want := range map[string]string{
		"sql":               "sql",
		"sql/expr":          "sql/expr",
		"sql/types":         "sql/types",
		"operators/agg":     "operators",
		"operators/build":   "operators/build",
		"operators/build/x": "operators/build",
		"log/embedded":      "log",
		"internal/sqlstate": "internal",
		"sqlx":              "",
		"tests/kafkamode":   "tests",
		"planner/pgcatalog": "planner/pgcatalog",
	} {
		if got := room(pkg); got != want {
			t.Errorf("room(%q) = %q, want %q", pkg, got, want)
		}
	}
}
