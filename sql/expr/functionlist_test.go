package expr

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// listedFunction is one line of testdata/ksqldb_functions.txt.
type listedFunction struct {
	line   int
	kind   string // SCALAR, AGGREGATE, TABLE
	sig    string // NAME(params) -> ret
	name   string
	params []string
	ret    string
	status string // implemented, missing, extra
	note   string
}

// readFunctionList reads the checked-in list of ksqlDB's functions.
func readFunctionList(t *testing.T) []listedFunction {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ksqldb_functions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []listedFunction
	sigRE := regexp.MustCompile(`^([A-Z_0-9]+)\((.*)\) -> (.+)$`)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, " | ")
		if len(parts) < 3 {
			t.Fatalf("line %d: want kind | signature | status [| note]: %q", n, line)
		}
		lf := listedFunction{line: n, kind: parts[0], sig: parts[1], status: parts[2]}
		if len(parts) > 3 {
			lf.note = strings.Join(parts[3:], " | ")
		}
		m := sigRE.FindStringSubmatch(lf.sig)
		if m == nil {
			t.Fatalf("line %d: bad signature %q", n, lf.sig)
		}
		lf.name, lf.ret = m[1], m[3]
		if m[2] != "" {
			lf.params = splitParams(m[2])
		}
		switch lf.kind {
		case "SCALAR", "AGGREGATE", "TABLE":
		default:
			t.Fatalf("line %d: unknown kind %q", n, lf.kind)
		}
		switch lf.status {
		case "implemented", "extra":
		case "missing":
			if lf.note == "" {
				t.Fatalf("line %d: a missing function needs a note saying why", n)
			}
		default:
			t.Fatalf("line %d: unknown status %q", n, lf.status)
		}
		out = append(out, lf)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// splitParams splits a parameter list at its top-level commas.
func splitParams(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch {
		case c == '<' || c == '(':
			depth++
		case c == '>' && i > 0 && s[i-1] == '=': // a lambda's =>
		case c == '>' || c == ')':
			depth--
		case c == ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// typeVars are what a signature's type variables stand for in the calls
// the test makes: distinct types, so that a function returning the wrong
// one is caught.
var typeVars = map[string]string{"T": "INTEGER", "K": "STRING", "V": "BIGINT", "S": "DOUBLE", "R": "STRING", "U": "BOOLEAN"}

var (
	typeVarRE  = regexp.MustCompile(`\b[TKVSRU]\b(\s*[,>)]|\.\.\.|$)`) // not a STRUCT field's name
	bareDecRE  = regexp.MustCompile(`\bDECIMAL\b([^(]|$)`)
	bareStruct = regexp.MustCompile(`\bSTRUCT\b([^<]|$)`)
	lambdaRE   = regexp.MustCompile(`^\((.*)\) => (.+)$`)
)

// instantiate replaces type variables and a bare DECIMAL in a listed type.
func instantiate(s string) string {
	s = typeVarRE.ReplaceAllStringFunc(s, func(m string) string { return typeVars[m[:1]] + m[1:] })
	return bareDecRE.ReplaceAllString(s, "DECIMAL(10, 2)$1")
}

// callFor writes a call of an implemented overload: each parameter a
// typed NULL (CAST(NULL AS T)), a lambda of the right arity returning a
// typed NULL, a unit keyword; a variadic parameter given once.
func callFor(lf listedFunction) string {
	args := make([]string, 0, len(lf.params))
	for _, p := range lf.params {
		p = strings.TrimSuffix(p, "...")
		if m := lambdaRE.FindStringSubmatch(p); m != nil {
			names := make([]string, len(splitParams(m[1])))
			for i := range names {
				names[i] = fmt.Sprintf("x%d", i+1)
			}
			head := strings.Join(names, ", ")
			if len(names) != 1 {
				head = "(" + head + ")"
			}
			args = append(args, head+" => CAST(NULL AS "+instantiate(m[2])+")")
			continue
		}
		if p == "UNIT" {
			args = append(args, "DAYS")
			continue
		}
		args = append(args, "CAST(NULL AS "+instantiate(p)+")")
	}
	return lf.name + "(" + strings.Join(args, ", ") + ")"
}

// typeMatches compares a listed return type with a bound one: a bare
// DECIMAL matches any DECIMAL, a bare STRUCT any STRUCT.
func typeMatches(listed string, got types.Type) bool {
	s := instantiate(listed)
	s = bareStruct.ReplaceAllString(s, "STRUCT<`*` BOOLEAN>$1")
	want, err := types.Parse(strings.ReplaceAll(s, "DECIMAL(10, 2)", "DECIMAL(1000, 0)"))
	if err != nil {
		return false
	}
	return shapeMatches(want, got)
}

func shapeMatches(want, got types.Type) bool {
	switch {
	case want.Kind == types.KindDecimal && want.Precision == 1000:
		return got.Kind == types.KindDecimal
	case want.Kind == types.KindStruct && len(want.Fields) == 1 && want.Fields[0].Name == "*":
		return got.Kind == types.KindStruct
	case want.Kind != got.Kind:
		return false
	case want.Kind == types.KindArray:
		return shapeMatches(*want.Elem, *got.Elem)
	case want.Kind == types.KindMap:
		return shapeMatches(*want.Key, *got.Key) && shapeMatches(*want.Elem, *got.Elem)
	case want.Kind == types.KindStruct:
		if len(want.Fields) != len(got.Fields) {
			return false
		}
		for i := range want.Fields {
			if want.Fields[i].Name != got.Fields[i].Name || !shapeMatches(want.Fields[i].Type, got.Fields[i].Type) {
				return false
			}
		}
		return true
	}
	return want.Equal(got)
}

// TestKsqlFunctionList checks testdata/ksqldb_functions.txt against the
// registry: every implemented scalar overload binds, with the listed
// result type; every function of the registry, and every aggregate and
// table function Runnel describes, is listed; and every implemented
// function has a case of its result in testdata/eval. What is missing is
// what the list says is missing.
func TestKsqlFunctionList(t *testing.T) {
	list := readFunctionList(t)
	listed := map[string]map[string]bool{} // kind -> names with an implemented or extra overload
	for _, lf := range list {
		if listed[lf.kind] == nil {
			listed[lf.kind] = map[string]bool{}
		}
		if lf.status != "missing" {
			listed[lf.kind][lf.name] = true
		}
		if lf.kind != "SCALAR" || lf.status == "missing" {
			continue
		}
		call := callFor(lf)
		e, err := bindLine(call)
		if err != nil {
			t.Errorf("line %d: %s is listed as %s but %s does not bind: %v", lf.line, lf.sig, lf.status, call, err)
			continue
		}
		if !typeMatches(lf.ret, e.Type()) {
			t.Errorf("line %d: %s: %s has type %s", lf.line, lf.sig, call, e.Type())
		}
	}
	// Every function Runnel has is listed.
	for _, f := range Functions() {
		if !listed["SCALAR"][f.Name] {
			t.Errorf("scalar function %s is not listed as implemented in testdata/ksqldb_functions.txt", f.Name)
		}
	}
	for _, d := range Descriptions() {
		if d.Kind != KindScalar && !listed[d.Kind.String()][d.Name] {
			t.Errorf("%s function %s is not listed as implemented in testdata/ksqldb_functions.txt", d.Kind, d.Name)
		}
	}
	for kind, names := range listed {
		for name := range names {
			if _, ok := Describe(name); !ok {
				t.Errorf("%s function %s is listed as implemented but Runnel does not describe it", kind, name)
			}
		}
	}
	// Every implemented scalar function has a case of its result.
	results := evalResults(t)
	var untested []string
	for name := range listed["SCALAR"] {
		if !results[name] {
			untested = append(untested, name)
		}
	}
	sort.Strings(untested)
	if len(untested) > 0 {
		t.Errorf("no case of the result of %v in testdata/eval", untested)
	}
}

// evalResults returns the names of the functions called by a line of
// testdata/eval whose result is a value (not an error).
func evalResults(t *testing.T) map[string]bool {
	t.Helper()
	call := regexp.MustCompile(`\b([A-Z_][A-Z_0-9]*)\(`)
	out := map[string]bool{}
	files, err := filepath.Glob(filepath.Join("testdata", "eval", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/eval files: %v", err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			expr, res, ok := strings.Cut(line, " ==> ")
			if !ok || strings.Contains(res, "error") {
				continue
			}
			for _, m := range call.FindAllStringSubmatch(strings.ToUpper(expr), -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}
