package expr

import (
	"fmt"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/runnel/runnel/sql/types"
)

// TestCompareIntLiteral: an INT or BIGINT compared with a constant on the
// right (read once, at bind time) answers as the same comparison written
// the other way round, which compares two evaluated values; NULL stays
// NULL.
func TestCompareIntLiteral(t *testing.T) {
	mirror := map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
	in := append(types.Row(nil), row...)
	for _, col := range []string{"I", "B", "CAST(NULL AS INT)", "I + 1"} {
		for _, k := range []string{"-1", "6", "7", "8", "10000000000", "9223372036854775807", "-9223372036854775808"} {
			for op, back := range mirror {
				fast, err := bindLine(fmt.Sprintf("%s %s %s", col, op, k))
				if err != nil {
					t.Fatal(err)
				}
				slow, err := bindLine(fmt.Sprintf("%s %s %s", k, back, col))
				if err != nil {
					t.Fatal(err)
				}
				got, err1 := fast.Eval(in)
				want, err2 := slow.Eval(in)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s %s %s: %v, %v", col, op, k, err1, err2)
				}
				if got.IsNull() != want.IsNull() || (!got.IsNull() && got.Bool() != want.Bool()) {
					t.Errorf("%s %s %s = %v, but %s %s %s = %v", col, op, k, got, k, back, col, want)
				}
			}
		}
	}
}

// BenchmarkCompareIntLiteral is one of q15's CASEs.
func BenchmarkCompareIntLiteral(b *testing.B) {
	e, err := bindLine("CASE WHEN B >= 10000 AND B < 1000000 THEN 1 END")
	if err != nil {
		b.Fatal(err)
	}
	in := append(types.Row(nil), row...)
	in[1] = types.NewBigint(50000)
	b.ReportAllocs()
	cpu := cpuPerOp(b)
	for b.Loop() {
		if _, err := e.Eval(in); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}

// TestArithIntLiteral: an INT or BIGINT operation with a constant on the
// right (intByConstant) gives what the generic path gives with the same
// operands (the constant behind an Expr the binder cannot see through):
// the same value, or an error where it errs (overflow, a zero divisor),
// NULL for NULL.
func TestArithIntLiteral(t *testing.T) {
	in := append(types.Row(nil), row...)
	ops := map[string]opcode.Op{"+": opcode.Plus, "-": opcode.Minus, "*": opcode.Mul, "/": opcode.Div, "%": opcode.Mod}
	for _, col := range []string{"I", "B", "CAST(NULL AS INT)", "(I + 1)", "CAST(2147483647 AS INT)", "CAST(-9223372036854775808 AS BIGINT)"} {
		for _, k := range []string{"-1", "0", "3", "10000", "2147483647", "9223372036854775807"} {
			for sym, op := range ops {
				fast, err := bindLine(fmt.Sprintf("%s %s %s", col, sym, k))
				if err != nil {
					t.Fatal(err)
				}
				n := fast.(*node)
				if _, ok := n.kids[1].(*Literal); !ok {
					t.Fatalf("%s %s %s: the right operand is not the constant", col, sym, k)
				}
				slow, err := arith(&Binder{Scope: scope}, op, n.kids[0], hidden{n.kids[1]})
				if err != nil {
					t.Fatal(err)
				}
				got, err1 := fast.Eval(in)
				want, err2 := slow.Eval(in)
				if (err1 == nil) != (err2 == nil) {
					t.Errorf("%s %s %s: error %v, generic %v", col, sym, k, err1, err2)
					continue
				}
				if err1 == nil && (got.IsNull() != want.IsNull() || got.Kind() != want.Kind() || got.Int() != want.Int()) {
					t.Errorf("%s %s %s = %v, generic %v", col, sym, k, got, want)
				}
			}
		}
	}
}

// hidden is an Expr that the binder's fast paths do not recognize.
type hidden struct{ Expr }

// BenchmarkArithIntLiteral is Nexmark q8's window number and window start
// over a TIMESTAMP's milliseconds.
func BenchmarkArithIntLiteral(b *testing.B) {
	in := append(types.Row(nil), row...)
	for _, text := range []string{"UNIX_TIMESTAMP(TS) / 10000", "UNIX_TIMESTAMP(TS) - UNIX_TIMESTAMP(TS) % 10000"} {
		e, err := bindLine(text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(text, func(b *testing.B) {
			cpu := cpuPerOp(b)
			for b.Loop() {
				if _, err := e.Eval(in); err != nil {
					b.Fatal(err)
				}
			}
			cpu()
		})
	}
}

// TestBetweenColumns: x [NOT] BETWEEN lo AND hi over INT and BIGINT
// columns (betweenInts) answers as lo <= x AND x <= hi does, bound as
// such, for every order of the three and every mix of values and NULLs.
func TestBetweenColumns(t *testing.T) {
	vals := []types.Value{{}, types.NewBigint(1), types.NewBigint(5), types.NewBigint(9)}
	cols := map[string]int{"I": 0, "B": 1, "NI": 12}
	perms := [][3]string{{"I", "B", "NI"}, {"B", "I", "NI"}, {"NI", "B", "I"}, {"B", "B", "I"}}
	in := append(types.Row(nil), row...)
	for _, p := range perms {
		for _, not := range []string{"", "NOT "} {
			fast, err := bindLine(fmt.Sprintf("%s %sBETWEEN %s AND %s", p[0], not, p[1], p[2]))
			if err != nil {
				t.Fatal(err)
			}
			slow, err := bindLine(fmt.Sprintf("%s(%s <= %s AND %s <= %s)", not, p[1], p[0], p[0], p[2]))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range vals {
				for _, b := range vals {
					for _, c := range vals {
						for i, v := range []types.Value{a, b, c} {
							in[cols[p[i]]] = v
						}
						got, err1 := fast.Eval(in)
						want, err2 := slow.Eval(in)
						if err1 != nil || err2 != nil {
							t.Fatal(err1, err2)
						}
						if got.IsNull() != want.IsNull() || (!got.IsNull() && got.Bool() != want.Bool()) {
							t.Errorf("%v %sBETWEEN %v AND %v (%v) = %v, want %v", in[cols[p[0]]], not, in[cols[p[1]]], in[cols[p[2]]], p, got, want)
						}
					}
				}
			}
		}
	}
	// A TIMESTAMP's, and a mix that needs a conversion (the bound form).
	for _, c := range []struct{ sql, want string }{
		{"TS BETWEEN TS AND TS", "true"},
		{"TS NOT BETWEEN TS AND TS", "false"},
		{"I BETWEEN B AND D", "false"},
		{"TS BETWEEN DT AND TS", "true"},
	} {
		e, err := bindLine(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.Eval(row)
		if err != nil || fmt.Sprint(v.Bool()) != c.want {
			t.Errorf("%s = %v, %v; want %s", c.sql, v, err, c.want)
		}
	}
}

// BenchmarkBetweenColumns is Nexmark q4's ON condition.
func BenchmarkBetweenColumns(b *testing.B) {
	e, err := bindLine("TS BETWEEN TS AND TS")
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpuPerOp(b)
	for b.Loop() {
		if _, err := e.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}
