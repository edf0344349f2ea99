package agg

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

var (
	null = types.NullValue
	i32  = func(v int32) types.Value { return types.NewInt(v) }
	i64  = types.NewBigint
	f64  = types.NewDouble
	str  = types.NewString
)

// dec parses "12.30" into a DECIMAL value of scale 2.
func dec(s string) types.Value {
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	u, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad decimal " + s)
	}
	return types.NewDecimal(u, int32(scale))
}

func arr(vs ...types.Value) types.Value { return types.NewArray(vs) }

func byt(bs ...byte) types.Value { return types.NewBytes(bs) }

// same reports whether a and b are the same value of the same kind
// (approx: DOUBLEs within 1e-9 relative).
func same(a, b types.Value, approx bool) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case types.KindDouble:
		x, y := a.Float(), b.Float()
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		if approx {
			return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y))
		}
		return math.Float64bits(x) == math.Float64bits(y)
	case types.KindDecimal:
		ua, sa := a.Decimal()
		ub, sb := b.Decimal()
		return sa == sb && ua.Cmp(ub) == 0
	case types.KindString, types.KindBytes:
		return a.Str() == b.Str()
	case types.KindArray, types.KindStruct, types.KindMap:
		la, lb := a.List(), b.List()
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !same(la[i], lb[i], approx) {
				return false
			}
		}
		return true
	}
	return a.Int() == b.Int()
}

func show(v types.Value) string {
	if v.IsNull() {
		return "NULL"
	}
	return v.Kind().String() + " " + types.Format(v, types.Null)
}

type aggCase struct {
	name     string
	fn       string
	arg      *types.Type // nil: COUNT(*)
	consts   []types.Value
	distinct bool
	rows     []types.Value
	empty    types.Value // result of no rows
	want     types.Value
	wantType types.Type
	approx   bool
	// retract, when the function is retractable, is retracted after all
	// rows were added, leaving wantRetracted.
	retract       []types.Value
	wantRetracted types.Value
}

func typ(t types.Type) *types.Type { return &t }

func aggCases() []aggCase {
	return []aggCase{
		{name: "count star", fn: "COUNT", rows: []types.Value{null, i64(1), null}, empty: i64(0), want: i64(3), wantType: types.Bigint,
			retract: []types.Value{null}, wantRetracted: i64(2)},
		{name: "count col", fn: "COUNT", arg: typ(types.Int), rows: []types.Value{null, i32(1), i32(1), null, i32(2)}, empty: i64(0), want: i64(3), wantType: types.Bigint,
			retract: []types.Value{i32(1), null}, wantRetracted: i64(2)},
		{name: "count distinct flag", fn: "COUNT", arg: typ(types.String), distinct: true, rows: []types.Value{str("a"), null, str("b"), str("a")}, empty: i64(0), want: i64(2), wantType: types.Bigint,
			retract: []types.Value{str("a")}, wantRetracted: i64(2)},
		{name: "count_distinct", fn: "count_distinct", arg: typ(types.Double), rows: []types.Value{f64(0), f64(math.Copysign(0, -1)), f64(1), null, f64(math.NaN()), f64(math.NaN())}, empty: i64(0), want: i64(3), wantType: types.Bigint,
			retract: []types.Value{f64(1)}, wantRetracted: i64(2)},
		{name: "sum int", fn: "SUM", arg: typ(types.Int), rows: []types.Value{i32(1), null, i32(-5), i32(10)}, empty: null, want: i32(6), wantType: types.Int,
			retract: []types.Value{i32(1), i32(-5), i32(10)}, wantRetracted: null},
		{name: "sum bigint", fn: "SUM", arg: typ(types.Bigint), rows: []types.Value{i64(1 << 40), i64(1 << 40), null}, empty: null, want: i64(1 << 41), wantType: types.Bigint,
			retract: []types.Value{i64(1 << 40)}, wantRetracted: i64(1 << 40)},
		{name: "sum double", fn: "SUM", arg: typ(types.Double), rows: []types.Value{f64(1.5), f64(2.25), null, f64(-1)}, empty: null, want: f64(2.75), wantType: types.Double,
			retract: []types.Value{f64(2.25)}, wantRetracted: f64(0.5)},
		{name: "sum decimal", fn: "SUM", arg: typ(types.Decimal(6, 2)), rows: []types.Value{dec("1.10"), dec("2.05"), null, dec("-0.15")}, empty: null, want: dec("3.00"), wantType: types.Decimal(6, 2),
			retract: []types.Value{dec("1.10")}, wantRetracted: dec("1.90")},
		{name: "sum distinct", fn: "SUM", arg: typ(types.Bigint), distinct: true, rows: []types.Value{i64(2), i64(2), i64(3), null}, empty: null, want: i64(5), wantType: types.Bigint,
			retract: []types.Value{i64(2), i64(3)}, wantRetracted: i64(2)},
		{name: "sum_list int", fn: "SUM_LIST", arg: typ(types.Array(types.Int)), rows: []types.Value{arr(i32(1), null, i32(2)), null, arr(i32(-5))}, empty: i32(0), want: i32(-2), wantType: types.Int,
			retract: []types.Value{arr(i32(1), null, i32(2)), null}, wantRetracted: i32(-5)},
		{name: "sum_list bigint", fn: "sum_list", arg: typ(types.Array(types.Bigint)), rows: []types.Value{arr(i64(1<<40), i64(1<<40)), arr()}, empty: i64(0), want: i64(1 << 41), wantType: types.Bigint,
			retract: []types.Value{arr(i64(1<<40), i64(1<<40))}, wantRetracted: i64(0)},
		{name: "sum_list double", fn: "SUM_LIST", arg: typ(types.Array(types.Double)), rows: []types.Value{arr(f64(1.5), f64(2.25)), arr(null, f64(-1))}, empty: f64(0), want: f64(2.75), wantType: types.Double,
			retract: []types.Value{arr(f64(1.5), f64(2.25))}, wantRetracted: f64(-1)},
		{name: "avg int", fn: "AVG", arg: typ(types.Int), rows: []types.Value{i32(1), i32(2), null, i32(4)}, empty: null, want: f64(7.0 / 3), wantType: types.Double,
			retract: []types.Value{i32(4)}, wantRetracted: f64(1.5)},
		{name: "avg bigint huge", fn: "AVG", arg: typ(types.Bigint), rows: []types.Value{i64(math.MaxInt64), i64(math.MaxInt64)}, empty: null, want: f64(math.MaxInt64), wantType: types.Double,
			retract: []types.Value{i64(math.MaxInt64)}, wantRetracted: f64(math.MaxInt64)},
		{name: "avg double", fn: "AVG", arg: typ(types.Double), rows: []types.Value{f64(1), f64(2), f64(6)}, empty: null, want: f64(3), wantType: types.Double,
			retract: []types.Value{f64(6)}, wantRetracted: f64(1.5)},
		{name: "avg decimal", fn: "AVG", arg: typ(types.Decimal(5, 1)), rows: []types.Value{dec("1.0"), dec("2.5")}, empty: null, want: f64(1.75), wantType: types.Double,
			retract: []types.Value{dec("1.0")}, wantRetracted: f64(2.5)},
		{name: "min int", fn: "MIN", arg: typ(types.Int), rows: []types.Value{i32(3), null, i32(-2), i32(7)}, empty: null, want: i32(-2), wantType: types.Int},
		{name: "max string", fn: "MAX", arg: typ(types.String), rows: []types.Value{str("b"), str("c"), null, str("a")}, empty: null, want: str("c"), wantType: types.String},
		{name: "max decimal", fn: "MAX", arg: typ(types.Decimal(4, 2)), rows: []types.Value{dec("1.50"), dec("-3.00"), dec("2.01")}, empty: null, want: dec("2.01"), wantType: types.Decimal(4, 2)},
		{name: "min timestamp", fn: "MIN", arg: typ(types.Timestamp), rows: []types.Value{types.NewTimestamp(5), types.NewTimestamp(2)}, empty: null, want: types.NewTimestamp(2), wantType: types.Timestamp},
		{name: "max double nan", fn: "MAX", arg: typ(types.Double), rows: []types.Value{f64(math.NaN()), f64(1)}, empty: null, want: f64(1), wantType: types.Double},
		{name: "latest", fn: "LATEST_BY_OFFSET", arg: typ(types.String), rows: []types.Value{str("a"), str("b"), null}, empty: null, want: str("b"), wantType: types.String},
		{name: "latest keep nulls", fn: "LATEST_BY_OFFSET", arg: typ(types.String), consts: []types.Value{types.NewBoolean(false)}, rows: []types.Value{str("a"), str("b"), null}, empty: null, want: null, wantType: types.String},
		{name: "latest n", fn: "LATEST_BY_OFFSET", arg: typ(types.Int), consts: []types.Value{i32(2)}, rows: []types.Value{i32(1), i32(2), null, i32(3)}, empty: arr(), want: arr(i32(2), i32(3)), wantType: types.Array(types.Int)},
		{name: "latest n nulls", fn: "LATEST_BY_OFFSET", arg: typ(types.Int), consts: []types.Value{i64(3), types.NewBoolean(false)}, rows: []types.Value{i32(1), i32(2), null, i32(3)}, empty: arr(), want: arr(i32(2), null, i32(3)), wantType: types.Array(types.Int)},
		{name: "earliest", fn: "EARLIEST_BY_OFFSET", arg: typ(types.Bigint), rows: []types.Value{null, i64(4), i64(5)}, empty: null, want: i64(4), wantType: types.Bigint},
		{name: "earliest n", fn: "EARLIEST_BY_OFFSET", arg: typ(types.Bigint), consts: []types.Value{i32(2), types.NewBoolean(false)}, rows: []types.Value{null, i64(4), i64(5)}, empty: arr(), want: arr(null, i64(4)), wantType: types.Array(types.Bigint)},
		{name: "latest nested", fn: "LATEST_BY_OFFSET", arg: typ(types.Map(types.String, types.Array(types.Double))),
			rows:  []types.Value{types.NewMap([]types.Value{str("k")}, []types.Value{arr(f64(1), null)}), types.NewMap([]types.Value{str("x"), str("y")}, []types.Value{arr(), arr(f64(math.Inf(-1)))})},
			empty: null, want: types.NewMap([]types.Value{str("x"), str("y")}, []types.Value{arr(), arr(f64(math.Inf(-1)))}), wantType: types.Map(types.String, types.Array(types.Double))},
		{name: "collect_list", fn: "COLLECT_LIST", arg: typ(types.Int), rows: []types.Value{i32(1), i32(2), null, i32(1), i32(3)}, empty: arr(), want: arr(i32(1), i32(2), i32(1), i32(3)), wantType: types.Array(types.Int),
			retract: []types.Value{i32(1), null}, wantRetracted: arr(i32(2), i32(1), i32(3))},
		{name: "collect_list struct", fn: "COLLECT_LIST", arg: typ(types.Struct(types.Field{Name: "A", Type: types.Decimal(3, 1)})),
			rows:  []types.Value{types.NewStruct([]types.Value{dec("1.5")}), types.NewStruct([]types.Value{null})},
			empty: arr(), want: arr(types.NewStruct([]types.Value{dec("1.5")}), types.NewStruct([]types.Value{null})), wantType: types.Array(types.Struct(types.Field{Name: "A", Type: types.Decimal(3, 1)})),
			retract: []types.Value{types.NewStruct([]types.Value{dec("1.5")})}, wantRetracted: arr(types.NewStruct([]types.Value{null}))},
		{name: "collect_list distinct", fn: "COLLECT_LIST", arg: typ(types.String), distinct: true, rows: []types.Value{str("a"), str("b"), str("a")}, empty: arr(), want: arr(str("a"), str("b")), wantType: types.Array(types.String),
			retract: []types.Value{str("a"), str("a")}, wantRetracted: arr(str("b"))},
		{name: "collect_set", fn: "COLLECT_SET", arg: typ(types.String), rows: []types.Value{str("b"), str("a"), null, str("b"), str("c")}, empty: arr(), want: arr(str("b"), str("a"), str("c")), wantType: types.Array(types.String),
			retract: []types.Value{str("a"), str("b")}, wantRetracted: arr(str("b"), str("c"))},
		{name: "topk", fn: "TOPK", arg: typ(types.Int), consts: []types.Value{i32(3)}, rows: []types.Value{i32(5), i32(1), null, i32(9), i32(5), i32(7)}, empty: arr(), want: arr(i32(9), i32(7), i32(5)), wantType: types.Array(types.Int)},
		{name: "topk dups", fn: "TOPK", arg: typ(types.Double), consts: []types.Value{i64(3)}, rows: []types.Value{f64(5), f64(5), f64(1), f64(5)}, empty: arr(), want: arr(f64(5), f64(5), f64(5)), wantType: types.Array(types.Double)},
		{name: "topkdistinct", fn: "TOPKDISTINCT", arg: typ(types.String), consts: []types.Value{i32(2)}, rows: []types.Value{str("a"), str("c"), str("c"), str("b")}, empty: arr(), want: arr(str("c"), str("b")), wantType: types.Array(types.String)},
		{name: "min bytes", fn: "MIN", arg: typ(types.Bytes), rows: []types.Value{byt(0x10, 0x01), null, byt(0x80), byt(0x10)}, empty: null, want: byt(0x10), wantType: types.Bytes},
		{name: "max bytes unsigned", fn: "MAX", arg: typ(types.Bytes), rows: []types.Value{byt(0x7f, 0xff), byt(0x80), null}, empty: null, want: byt(0x80), wantType: types.Bytes},
		{name: "topkdistinct bytes", fn: "TOPKDISTINCT", arg: typ(types.Bytes), consts: []types.Value{i32(2)}, rows: []types.Value{byt(1), byt(3), byt(3), null, byt(2)}, empty: arr(), want: arr(byt(3), byt(2)), wantType: types.Array(types.Bytes)},
		{name: "attr one value", fn: "ATTR", arg: typ(types.String), rows: []types.Value{str("s"), str("s"), str("s")}, empty: null, want: str("s"), wantType: types.String,
			retract: []types.Value{str("s"), str("s"), str("s")}, wantRetracted: null},
		{name: "attr two values", fn: "ATTR", arg: typ(types.Int), rows: []types.Value{i32(1), i32(2), i32(1)}, empty: null, want: null, wantType: types.Int,
			retract: []types.Value{i32(2)}, wantRetracted: i32(1)},
		{name: "attr NULL is a value", fn: "ATTR", arg: typ(types.String), rows: []types.Value{str("1"), null, str("1")}, empty: null, want: null, wantType: types.String,
			retract: []types.Value{str("1"), str("1")}, wantRetracted: null},
		{name: "attr all NULL", fn: "ATTR", arg: typ(types.Array(types.Int)), rows: []types.Value{null, null}, empty: null, want: null, wantType: types.Array(types.Int),
			retract: []types.Value{null}, wantRetracted: null},
		{name: "histogram", fn: "HISTOGRAM", arg: typ(types.String), rows: []types.Value{str("x"), str("y"), null, str("x")}, empty: types.NewMap(nil, nil),
			want: types.NewMap([]types.Value{str("x"), str("y")}, []types.Value{i64(2), i64(1)}), wantType: types.Map(types.String, types.Bigint),
			retract: []types.Value{str("y"), str("x")}, wantRetracted: types.NewMap([]types.Value{str("x")}, []types.Value{i64(1)})},
		{name: "stddev_samp int", fn: "STDDEV_SAMP", arg: typ(types.Int), rows: []types.Value{i32(2), i32(4), null, i32(4), i32(4), i32(5), i32(5), i32(7), i32(9)}, empty: null,
			want: f64(math.Sqrt(32.0 / 7)), wantType: types.Double, approx: true,
			retract: []types.Value{i32(2), i32(4), i32(4), i32(4), i32(5), i32(5), i32(7)}, wantRetracted: null},
		{name: "stddev_pop double", fn: "STDDEV_POP", arg: typ(types.Double), rows: []types.Value{f64(2), f64(4), f64(4), f64(4), f64(5), f64(5), f64(7), f64(9)}, empty: null,
			want: f64(2), wantType: types.Double, approx: true,
			retract: []types.Value{f64(9), f64(2)}, wantRetracted: f64(math.Sqrt(41.0 / 36))},
		{name: "var_samp decimal", fn: "VAR_SAMP", arg: typ(types.Decimal(3, 1)), rows: []types.Value{dec("1.0"), dec("2.0"), dec("3.0")}, empty: null,
			want: f64(1), wantType: types.Double, approx: true,
			retract: []types.Value{dec("3.0")}, wantRetracted: f64(0.5)},
		{name: "var_pop bigint", fn: "VAR_POP", arg: typ(types.Bigint), rows: []types.Value{i64(1), i64(2), i64(3), i64(4)}, empty: null,
			want: f64(1.25), wantType: types.Double,
			retract: []types.Value{i64(4)}, wantRetracted: f64(2.0 / 3)},
	}
}

func argsOf(c aggCase, v types.Value) []types.Value {
	if c.arg == nil {
		return nil
	}
	return []types.Value{v}
}

// roundTrip encodes a, decodes it, and checks the copy encodes to the same
// bytes and has the same result; it returns the copy so that the test
// carries on with decoded state.
func roundTrip(t *testing.T, f Func, a Accumulator, approx bool) Accumulator {
	t.Helper()
	enc := a.AppendEncode([]byte{0xEE}) // a prefix must not leak in
	b, err := f.Decode(enc[1:])
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if enc2 := b.AppendEncode(nil); !bytes.Equal(enc[1:], enc2) {
		t.Fatalf("re-encoding differs:\n%x\n%x", enc[1:], enc2)
	}
	if got, want := b.Result(), a.Result(); !same(got, want, false) {
		t.Fatalf("decoded result %s, want %s", show(got), show(want))
	}
	return b
}

func TestAggregates(t *testing.T) {
	for _, c := range aggCases() {
		t.Run(c.name, func(t *testing.T) {
			var argTypes []types.Type
			if c.arg != nil {
				argTypes = []types.Type{*c.arg}
			}
			f, err := Resolve(c.fn, argTypes, c.consts, c.distinct)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if !f.ResultType().Equal(c.wantType) {
				t.Fatalf("result type %s, want %s", f.ResultType(), c.wantType)
			}
			if f.Retractable() != IsRetractableName(c.fn) {
				t.Errorf("Retractable %v disagrees with IsRetractableName", f.Retractable())
			}
			a := f.New()
			if got := a.Result(); !same(got, c.empty, false) {
				t.Fatalf("empty result %s, want %s", show(got), show(c.empty))
			}
			a = roundTrip(t, f, a, c.approx)
			for _, r := range c.rows {
				if err := a.Add(argsOf(c, r)); err != nil {
					t.Fatalf("add %s: %v", show(r), err)
				}
				a = roundTrip(t, f, a, c.approx)
			}
			if got := a.Result(); !same(got, c.want, c.approx) {
				t.Fatalf("result %s, want %s", show(got), show(c.want))
			}

			// Merging any split of the rows equals adding them all.
			for i := 0; i <= len(c.rows); i++ {
				x, y := f.New(), f.New()
				for _, r := range c.rows[:i] {
					if err := x.Add(argsOf(c, r)); err != nil {
						t.Fatal(err)
					}
				}
				for _, r := range c.rows[i:] {
					if err := y.Add(argsOf(c, r)); err != nil {
						t.Fatal(err)
					}
				}
				y = roundTrip(t, f, y, c.approx)
				if err := x.Merge(y); err != nil {
					t.Fatalf("merge at %d: %v", i, err)
				}
				if got := x.Result(); !same(got, c.want, c.approx) {
					t.Fatalf("merge split at %d: %s, want %s", i, show(got), show(c.want))
				}
				roundTrip(t, f, x, c.approx)
			}

			if !f.Retractable() {
				if err := a.Retract(argsOf(c, c.want)); !errors.Is(err, ErrNotRetractable) {
					t.Fatalf("retract of %s: %v, want ErrNotRetractable", c.fn, err)
				}
				return
			}
			if c.retract == nil {
				t.Fatal("retractable case without retract rows")
			}
			for _, r := range c.retract {
				if err := a.Retract(argsOf(c, r)); err != nil {
					t.Fatalf("retract %s: %v", show(r), err)
				}
				a = roundTrip(t, f, a, c.approx)
			}
			if got := a.Result(); !same(got, c.wantRetracted, c.approx) {
				t.Fatalf("after retract %s, want %s", show(got), show(c.wantRetracted))
			}
		})
	}
}
