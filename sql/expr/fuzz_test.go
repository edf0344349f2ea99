package expr

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// fuzzLimit is the value limit FuzzEval binds with: small, so that a
// function sizing its result wrongly is caught quickly and cheaply.
const fuzzLimit = 64 << 10

// fuzzAllocBound bounds what one evaluation may allocate. An expression of
// the generator has at most some dozens of nodes, each of which may build
// a value up to the limit (and a few times that while building it); a
// function that allocated what it was asked for before checking (2^31
// characters, 2^63 elements) is far beyond it.
const fuzzAllocBound = 128*fuzzLimit + 4<<20

// FuzzEval builds random expressions from the function registry and the
// operators, with random literal arguments (huge counts, negative numbers,
// odd strings), binds them with a small value limit and evaluates them over
// random rows. Whatever the input: no panic; an evaluation error carries a
// SQLSTATE; a result is within the limit; an evaluation allocates within
// fuzzAllocBound (checked without the race detector, see race_test.go);
// and the text of the expression renders. Seeds and every
// finding are kept in testdata/fuzz/FuzzEval.
func FuzzEval(f *testing.F) {
	for _, seed := range []string{
		"", "\x00", "lpad", "\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0",
		"the quick brown fox jumps over the lazy dog 0123456789",
	} {
		f.Add([]byte(seed))
	}
	funcs := Functions()
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &exprGen{data: data, funcs: funcs}
		text := g.expr(0)
		node, err := parseForFuzz(text)
		if err != nil {
			return // the generator writes what the grammar may refuse
		}
		b := &Binder{Scope: scope, MaxValueBytes: fuzzLimit}
		e, err := b.Bind(node)
		if err != nil {
			if SQLState(err) == "" {
				t.Fatalf("%s: bind error without a SQLSTATE: %v", text, err)
			}
			return
		}
		_ = clip(e)
		for range 2 {
			r := g.row()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			v, err := e.Eval(r)
			runtime.ReadMemStats(&m1)
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > fuzzAllocBound && !raceEnabled {
				t.Fatalf("%s: one evaluation allocated %d bytes (error %v)", text, alloc, err)
			}
			if err != nil {
				if SQLState(err) == "" {
					t.Fatalf("%s: evaluation error without a SQLSTATE: %v", text, err)
				}
				continue
			}
			if v.Size() > fuzzLimit {
				t.Fatalf("%s: a value of %d bytes under a limit of %d", text, v.Size(), fuzzLimit)
			}
			if !v.IsNull() && e.Type().Kind != types.KindNull && v.Kind() != e.Type().Kind {
				t.Fatalf("%s: a %s value from an expression of type %s", text, v.Kind(), e.Type())
			}
		}
	})
}

// parseForFuzz parses one expression through the real front end (the
// RUNNEL_* rewrites, the limits), as a statement's select item.
func parseForFuzz(text string) (ast.ExprNode, error) {
	stmts, err := sql.Parse("SELECT " + text + " FROM t")
	if err != nil {
		return nil, err
	}
	sel, ok := stmts[0].(*sql.Select)
	if !ok || len(sel.Query.Select.Fields.Fields) != 1 || sel.Query.Select.Fields.Fields[0].Expr == nil {
		return nil, fmt.Errorf("not one expression")
	}
	return sel.Query.Select.Fields.Fields[0].Expr, nil
}

// exprGen turns fuzz bytes into SQL: each decision consumes a byte, and
// zeros once the bytes run out, so every input means one expression.
type exprGen struct {
	data  []byte
	pos   int
	funcs []*Function
}

func (g *exprGen) byte1() byte {
	if g.pos >= len(g.data) {
		return 0
	}
	c := g.data[g.pos]
	g.pos++
	return c
}

func (g *exprGen) pick(n int) int {
	if n <= 1 {
		return 0
	}
	return int(g.byte1()) % n
}

// interesting integers: limits of every width, and sizes that ask for
// much.
var fuzzInts = []string{
	"0", "1", "-1", "2", "3", "7", "-7", "100", "1000", "65536", "100000", "1000000",
	"2147483647", "-2147483648", "2147483648", "9223372036854775807", "-9223372036854775807",
	"(-9223372036854775807 - 1)", "4611686018427387904", "16777216", "16777217", "60000",
}

var fuzzStrings = []string{
	"", "a", "ab", "é", "日本語", "x,y,z", "a=1;b=2", "%", "_", "$1", "\\", "''", "{}", "[]",
	`{"a":1,"b":[1,2,{"c":"d"}]}`, `[1,2,3]`, "$.a", "$.b[2].c", "yyyy-MM-dd", "HH:mm:ss.SSS",
	"zzzz", "VV", "'x'", "hex", "base64", "utf8", "ascii", "48656c6c6f", "SGVsbG8=",
	"(a)(b)", "[0-9]+", ".*", "", "a*", "(x*)*", "UTC", "America/New_York", "DESC", "ASC",
	"SECONDS", "DAYS", "MONTHS", "YEARS", "\\u0041", "1e999999999", "12.345", "NaN",
}

var fuzzCols = []string{"I", "B", "D", "N", "S", "T", "TS", "DT", "TM", "A", "M", "ST", "NI", "NS", "NB", "F", "AS", "JS", "NA", "Z"}

var fuzzTypes = []string{"INT", "BIGINT", "DOUBLE", "DECIMAL(10, 2)", "DECIMAL(38, 30)", "STRING", "BOOLEAN",
	"TIMESTAMP", "DATE", "TIME", "BYTES", "ARRAY<STRING>", "ARRAY<INT>", "MAP<STRING, INT>", "ARRAY<DECIMAL(20, 10)>"}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// literal writes a literal, mostly of the kind asked for.
func (g *exprGen) literal(k pk) string {
	switch g.pick(12) {
	case 0:
		return "NULL"
	case 1:
		// a string made of input bytes (valid UTF-8 only: the SQL text
		// must be text)
		n := g.pick(24)
		var sb strings.Builder
		for range n {
			c := g.byte1()
			if c < 0x20 || c >= 0x7f {
				c = 'a' + c%26
			}
			sb.WriteByte(c)
		}
		return quoteSQL(sb.String())
	}
	switch k {
	case pIntegral, pNumeric:
		if g.pick(3) == 0 { // a size that asks for much
			return []string{"30000", "65536", "1000000", "2147483647", "9223372036854775807", "4611686018427387904"}[g.pick(6)]
		}
		switch g.pick(4) {
		case 0:
			return strconv.FormatFloat(float64(int8(g.byte1()))*1.25, 'g', -1, 64) + "E0"
		case 1:
			return fmt.Sprintf("%d.%02d", int8(g.byte1()), g.byte1()%100)
		}
		return fuzzInts[g.pick(len(fuzzInts))]
	case pBoolean:
		return []string{"TRUE", "FALSE"}[g.pick(2)]
	case pTimestamp:
		return "FROM_UNIXTIME(" + fuzzInts[g.pick(len(fuzzInts))] + ")"
	case pDate:
		return "FROM_DAYS(" + fuzzInts[g.pick(len(fuzzInts))] + ")"
	case pTime:
		return "CAST('10:00:00' AS TIME)"
	case pBytes:
		return "TO_BYTES(" + quoteSQL(fuzzStrings[g.pick(len(fuzzStrings))]) + ", 'utf8')"
	case pArray:
		return "ARRAY[" + g.literal(pString) + ", " + g.literal(pString) + "]"
	case pMap:
		return "MAP(" + g.literal(pString) + " := " + g.literal(pIntegral) + ")"
	}
	if g.pick(6) == 0 { // a long string, near the limit or a part of it
		return "LPAD(" + quoteSQL(fuzzStrings[g.pick(len(fuzzStrings))]) + ", " +
			[]string{"1000", "20000", "40000", "65000"}[g.pick(4)] + ", " + quoteSQL(fuzzStrings[1+g.pick(len(fuzzStrings)-1)]) + ")"
	}
	return quoteSQL(fuzzStrings[g.pick(len(fuzzStrings))])
}

// arg writes an argument for a parameter of kind k: a literal, a column
// or a nested expression.
func (g *exprGen) arg(k pk, depth int) string {
	switch g.pick(6) {
	case 0, 1, 2:
		return g.literal(k)
	case 3:
		return fuzzCols[g.pick(len(fuzzCols))]
	}
	return g.expr(depth + 1)
}

// expr writes one expression; depth bounds the nesting, so the generated
// trees stay small (the limits under test are on values, not on text).
func (g *exprGen) expr(depth int) string {
	if depth >= 4 {
		if g.pick(2) == 0 {
			return fuzzCols[g.pick(len(fuzzCols))]
		}
		return g.literal(pk("SINBTDEYAMX"[g.pick(11)]))
	}
	switch g.pick(16) {
	case 0:
		return fuzzCols[g.pick(len(fuzzCols))]
	case 1:
		return g.literal(pk("SINBTDEYAMX"[g.pick(11)]))
	case 2:
		ops := []string{"+", "-", "*", "/", "%", "=", "<>", "<", ">=", "AND", "OR", "||", "IS NOT DISTINCT FROM"}
		return "(" + g.arg(pNumeric, depth) + " " + ops[g.pick(len(ops))] + " " + g.arg(pNumeric, depth) + ")"
	case 3:
		return "NOT " + g.arg(pBoolean, depth)
	case 4:
		return "CAST(" + g.arg(pAny, depth) + " AS " + fuzzTypes[g.pick(len(fuzzTypes))] + ")"
	case 5:
		return "CASE WHEN " + g.arg(pBoolean, depth) + " THEN " + g.arg(pString, depth) + " ELSE " + g.arg(pString, depth) + " END"
	case 6:
		return g.arg(pString, depth) + " LIKE " + g.arg(pString, depth)
	case 7:
		return g.arg(pNumeric, depth) + " IN (" + g.arg(pNumeric, depth) + ", " + g.arg(pNumeric, depth) + ")"
	case 8:
		return "ARRAY[" + g.arg(pAny, depth) + ", " + g.arg(pAny, depth) + "]"
	case 9:
		return "MAP(" + g.arg(pString, depth) + " := " + g.arg(pAny, depth) + ", " + g.arg(pString, depth) + " := " + g.arg(pAny, depth) + ")"
	case 10:
		return "STRUCT(F := " + g.arg(pAny, depth) + ", G := " + g.arg(pAny, depth) + ")"
	case 11:
		return g.arg(pArray, depth) + "[" + g.arg(pIntegral, depth) + "]"
	}
	// A function of the registry with one of its signatures' arities.
	fn := g.funcs[g.pick(len(g.funcs))]
	if fn.lambda != nil {
		return g.lambdaCall(fn.Name, depth)
	}
	var params []pk
	variadic := false
	if len(fn.overloads) > 0 {
		o := fn.overloads[g.pick(len(fn.overloads))]
		params, variadic = o.params, o.variadic
	} else {
		params = []pk{pAny, pAny}[:1+g.pick(2)]
		variadic = true
	}
	n := len(params)
	if variadic {
		n += g.pick(4) - 1
	}
	args := make([]string, 0, max(n, 0))
	for i := range max(n, 0) {
		k := pAny
		if len(params) > 0 {
			k = params[min(i, len(params)-1)]
		}
		args = append(args, g.arg(k, depth))
	}
	name := fn.Name
	return name + "(" + strings.Join(args, ", ") + ")"
}

// lambdaCall writes a call of TRANSFORM, FILTER or REDUCE over an array
// or a map, with lambdas whose bodies use their arguments (named LA, LB,
// LS: no column of the scope has those names), or anything else.
func (g *exprGen) lambdaCall(name string, depth int) string {
	body := func(args ...string) string {
		a := args[g.pick(len(args))]
		switch g.pick(6) {
		case 0:
			return a
		case 1:
			return "(" + a + " + " + g.arg(pNumeric, depth) + ")"
		case 2:
			return "CONCAT(CAST(" + a + " AS STRING), " + g.arg(pString, depth) + ")"
		case 3:
			return "(" + a + " IS NULL)"
		case 4:
			return "ARRAY[" + a + ", " + a + "]"
		}
		return g.expr(depth + 1)
	}
	if g.pick(2) == 0 { // an array
		coll := g.arg(pArray, depth)
		switch name {
		case "TRANSFORM":
			return "TRANSFORM(" + coll + ", LA => " + body("LA") + ")"
		case "FILTER":
			return "FILTER(" + coll + ", LA => " + body("LA") + ")"
		}
		return "REDUCE(" + coll + ", " + g.arg(pAny, depth) + ", (LS, LA) => " + body("LS", "LA") + ")"
	}
	coll := g.arg(pMap, depth)
	switch name {
	case "TRANSFORM":
		return "TRANSFORM(" + coll + ", (LA, LB) => " + body("LA", "LB") + ", (LA, LB) => " + body("LA", "LB") + ")"
	case "FILTER":
		return "FILTER(" + coll + ", (LA, LB) => " + body("LA", "LB") + ")"
	}
	return "REDUCE(" + coll + ", " + g.arg(pAny, depth) + ", (LS, LA, LB) => " + body("LS", "LA", "LB") + ")"
}

// row is the test row with some of its scalar columns replaced by values
// the input chooses.
func (g *exprGen) row() types.Row {
	r := append(types.Row(nil), row...)
	ints := []int64{0, 1, -1, 7, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, 1 << 40, 65536}
	if g.pick(2) == 1 {
		r[0] = types.NewInt(int32(ints[g.pick(len(ints))]))
	}
	if g.pick(2) == 1 {
		r[1] = types.NewBigint(ints[g.pick(len(ints))])
	}
	if g.pick(2) == 1 {
		r[2] = types.NewDouble([]float64{0, -1.5, math.NaN(), math.Inf(1), 1e300, 5e-324}[g.pick(6)])
	}
	if g.pick(2) == 1 {
		r[4] = types.NewString(fuzzStrings[g.pick(len(fuzzStrings))])
	}
	if g.pick(2) == 1 {
		r[18] = types.NewString(fuzzStrings[g.pick(len(fuzzStrings))])
	}
	return r
}

// TestFuzzGeneratorCoversTheRegistry: the generator can reach every
// function of the registry (a fuzzer that never calls LPAD proves
// nothing about it).
func TestFuzzGeneratorCoversTheRegistry(t *testing.T) {
	funcs := Functions()
	seen := map[string]bool{}
	for i := range 256 * len(funcs) {
		data := []byte{byte(12 + i%4), byte(i / 4 % 256), byte(i / 1024), byte(i), byte(i >> 3), 7, 1, 2, 3}
		g := &exprGen{data: data, funcs: funcs}
		text := g.expr(0)
		if j := strings.IndexByte(text, '('); j > 0 {
			seen[text[:j]] = true
		}
	}
	var missing []string
	for _, f := range funcs {
		if !seen[f.Name] {
			missing = append(missing, f.Name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("the generator never calls %v", missing)
	}
}
