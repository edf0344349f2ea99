package agg

import (
	"errors"
	"math"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

func TestResolveErrors(t *testing.T) {
	for _, c := range []struct {
		fn       string
		args     []types.Type
		consts   []types.Value
		distinct bool
		want     error
		state    string
	}{
		{fn: "NOPE", args: []types.Type{types.Int}, want: ErrUnknownFunction, state: "42883"},
		{fn: "SUM", args: []types.Type{types.String}, want: ErrBadArguments, state: "42883"},
		{fn: "SUM", want: ErrBadArguments, state: "42883"},
		{fn: "SUM", args: []types.Type{types.Int, types.Int}, want: ErrBadArguments, state: "42883"},
		{fn: "AVG", args: []types.Type{types.Boolean}, want: ErrBadArguments, state: "42883"},
		{fn: "MIN", args: []types.Type{types.Array(types.Int)}, want: ErrBadArguments, state: "42883"},
		{fn: "HISTOGRAM", args: []types.Type{types.Int}, want: ErrBadArguments, state: "42883"},
		{fn: "COUNT", args: []types.Type{types.Null}, want: ErrBadArguments, state: "42883"},
		{fn: "COUNT", distinct: true, want: ErrBadArguments, state: "42883"},
		{fn: "TOPK", args: []types.Type{types.Int}, want: ErrBadArguments, state: "42883"},
		{fn: "TOPK", args: []types.Type{types.Int}, consts: []types.Value{types.NewString("3")}, want: ErrBadArguments, state: "42883"},
		{fn: "TOPK", args: []types.Type{types.Int}, consts: []types.Value{types.NewInt(0)}, want: ErrBadConstant, state: "22023"},
		{fn: "TOPKDISTINCT", args: []types.Type{types.Int}, consts: []types.Value{types.NewBigint(1 << 40)}, want: ErrBadConstant, state: "22023"},
		{fn: "LATEST_BY_OFFSET", args: []types.Type{types.Int}, consts: []types.Value{types.NewInt(-1)}, want: ErrBadConstant, state: "22023"},
		{fn: "LATEST_BY_OFFSET", args: []types.Type{types.Int}, consts: []types.Value{types.NewBoolean(true), types.NewInt(2)}, want: ErrBadArguments, state: "42883"},
		{fn: "EARLIEST_BY_OFFSET", args: []types.Type{types.Int}, distinct: true, want: ErrUnsupported, state: "0A000"},
		{fn: "HISTOGRAM", args: []types.Type{types.String}, distinct: true, want: ErrUnsupported, state: "0A000"},
		{fn: "SUM", args: []types.Type{types.Int}, consts: []types.Value{types.NewInt(1)}, want: ErrBadArguments, state: "42883"},
	} {
		_, err := Resolve(c.fn, c.args, c.consts, c.distinct)
		if !errors.Is(err, c.want) {
			t.Errorf("%s%v %v: %v, want %v", c.fn, c.args, c.consts, err, c.want)
			continue
		}
		if got := sqlstate.Of(err); string(got) != c.state {
			t.Errorf("%s: SQLSTATE of %v, want %s", c.fn, err, c.state)
		}
	}
}

func TestResolveCaseAndNames(t *testing.T) {
	f, err := Resolve("sum", []types.Type{types.Bigint}, nil, false)
	if err != nil || f.Name() != "SUM" {
		t.Fatalf("lower-case name: %v %v", f, err)
	}
	if !IsAggregateName("latest_by_offset") || IsAggregateName("ABS") {
		t.Error("IsAggregateName")
	}
	if IsRetractableName("MAX") || !IsRetractableName("histogram") || IsRetractableName("nope") {
		t.Error("IsRetractableName")
	}
}

func TestSumOverflow(t *testing.T) {
	for _, c := range []struct {
		arg  types.Type
		a, b types.Value
	}{
		{types.Int, types.NewInt(math.MaxInt32), types.NewInt(1)},
		{types.Bigint, types.NewBigint(math.MaxInt64), types.NewBigint(1)},
		{types.Bigint, types.NewBigint(math.MinInt64), types.NewBigint(-1)},
		{types.Decimal(3, 1), dec("99.9"), dec("0.1")},
	} {
		f, err := Resolve("SUM", []types.Type{c.arg}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		a := f.New()
		if err := a.Add([]types.Value{c.a}); err != nil {
			t.Fatal(err)
		}
		err = a.Add([]types.Value{c.b})
		if !errors.Is(err, ErrOverflow) || sqlstate.Of(err) != sqlstate.NumericOutOfRange {
			t.Fatalf("%s: %v, want overflow", c.arg, err)
		}
		if got := a.Result(); !same(got, c.a, false) {
			t.Fatalf("%s: state changed by a rejected row: %s", c.arg, show(got))
		}
		// Retracting a value never added is the caller's bug, reported.
		b := f.New()
		if err := b.Retract([]types.Value{c.b}); !errors.Is(err, ErrMismatch) {
			t.Fatalf("%s: retract from empty: %v", c.arg, err)
		}
	}
}

// SUM_LIST rejects a row whose array would take the sum out of its type,
// and keeps its state; an array of elements that cancel out is fine.
func TestSumListOverflow(t *testing.T) {
	for _, c := range []struct {
		elem      types.Type
		first, ok types.Value
		bad       types.Value
		want      types.Value
	}{
		{types.Int, arr(types.NewInt(math.MaxInt32)), arr(types.NewInt(5), types.NewInt(-5)), arr(types.NewInt(1)), types.NewInt(math.MaxInt32)},
		{types.Bigint, arr(types.NewBigint(math.MinInt64 + 1)), arr(types.NewBigint(-1)), arr(types.NewBigint(-1)), types.NewBigint(math.MinInt64)},
		{types.Bigint, arr(types.NewBigint(1)), arr(), arr(types.NewBigint(math.MaxInt64), types.NewBigint(math.MaxInt64)), types.NewBigint(1)},
	} {
		f, err := Resolve("SUM_LIST", []types.Type{types.Array(c.elem)}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		a := f.New()
		for _, v := range []types.Value{c.first, c.ok} {
			if err := a.Add([]types.Value{v}); err != nil {
				t.Fatalf("%s: %v", c.elem, err)
			}
		}
		err = a.Add([]types.Value{c.bad})
		if !errors.Is(err, ErrOverflow) || sqlstate.Of(err) != sqlstate.NumericOutOfRange {
			t.Fatalf("%s: %v, want overflow", c.elem, err)
		}
		if got := a.Result(); !same(got, c.want, false) {
			t.Fatalf("%s: %s after a rejected row, want %s", c.elem, show(got), show(c.want))
		}
	}
	// Only arrays of INT, BIGINT and DOUBLE, as in ksqlDB.
	for _, bad := range []types.Type{types.Int, types.Array(types.String), types.Array(types.Decimal(4, 2))} {
		if _, err := Resolve("SUM_LIST", []types.Type{bad}, nil, false); !errors.Is(err, ErrBadArguments) {
			t.Errorf("SUM_LIST(%s): %v, want ErrBadArguments", bad, err)
		}
	}
}

func TestMergeMismatch(t *testing.T) {
	sum, _ := Resolve("SUM", []types.Type{types.Int}, nil, false)
	cnt, _ := Resolve("COUNT", nil, nil, false)
	if err := sum.New().Merge(cnt.New()); !errors.Is(err, ErrMismatch) {
		t.Fatalf("merge of different funcs: %v", err)
	}
	k2, _ := Resolve("TOPK", []types.Type{types.Int}, []types.Value{types.NewInt(2)}, false)
	k3, _ := Resolve("TOPK", []types.Type{types.Int}, []types.Value{types.NewInt(3)}, false)
	if err := k2.New().Merge(k3.New()); !errors.Is(err, ErrMismatch) {
		t.Fatalf("merge of different k: %v", err)
	}
}

// With explicit sequences, Merge orders rows by them, whichever side they
// came from.
func TestOffsetSequencedMerge(t *testing.T) {
	for _, c := range []struct {
		fn   string
		want []int32
	}{
		{"LATEST_BY_OFFSET", []int32{3, 4}},
		{"EARLIEST_BY_OFFSET", []int32{0, 1}},
	} {
		f, err := Resolve(c.fn, []types.Type{types.Int}, []types.Value{types.NewInt(2)}, false)
		if err != nil {
			t.Fatal(err)
		}
		x, y := f.New(), f.New()
		for _, s := range []uint64{1, 4, 2} {
			if err := x.(Sequenced).AddSeq(s, []types.Value{types.NewInt(int32(s))}); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range []uint64{3, 0} {
			if err := y.(Sequenced).AddSeq(s, []types.Value{types.NewInt(int32(s))}); err != nil {
				t.Fatal(err)
			}
		}
		y = roundTrip(t, f, y, false)
		if err := x.Merge(y); err != nil {
			t.Fatal(err)
		}
		want := arr(types.NewInt(c.want[0]), types.NewInt(c.want[1]))
		if got := x.Result(); !same(got, want, false) {
			t.Errorf("%s: %s, want %s", c.fn, show(got), show(want))
		}
		// Merging implicit state assumes the other's rows are later.
		z := f.New()
		if err := z.Add([]types.Value{types.NewInt(9)}); err != nil {
			t.Fatal(err)
		}
		if err := x.Merge(z); err != nil {
			t.Fatal(err)
		}
		got := x.Result().List()
		if c.fn == "LATEST_BY_OFFSET" && got[1].Int() != 9 || c.fn == "EARLIEST_BY_OFFSET" && got[1].Int() != 1 {
			t.Errorf("%s after implicit merge: %s", c.fn, show(x.Result()))
		}
	}
}

// TestOffsetSingleOutOfOrder: the single forms keep their one value in
// place; rows out of sequence order, and one of a sequence already kept,
// leave the right one, decoded or not, and the state allocates nothing
// more than the accumulator once it has its value.
func TestOffsetSingleOutOfOrder(t *testing.T) {
	for _, c := range []struct {
		fn   string
		want int32
	}{
		{"LATEST_BY_OFFSET", 7},
		{"EARLIEST_BY_OFFSET", 2},
	} {
		f, err := Resolve(c.fn, []types.Type{types.Int}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		a := f.New()
		// The value is its sequence times ten plus the row's place:
		// of two rows at one sequence, the first stays.
		for i, s := range []uint64{5, 3, 7, 2, 7, 2} {
			if i == 3 {
				a = roundTrip(t, f, a, false)
			}
			if err := a.(Sequenced).AddSeq(s, []types.Value{types.NewInt(int32(10*s) + int32(i))}); err != nil {
				t.Fatal(err)
			}
		}
		want := types.NewInt(10*c.want + map[int32]int32{7: 2, 2: 3}[c.want])
		if got := a.Result(); !same(got, want, false) {
			t.Errorf("%s: %s, want %s", c.fn, show(got), show(want))
		}
		v := []types.Value{types.NewInt(1)}
		if n := testing.AllocsPerRun(100, func() { _ = a.Add(v) }); n != 0 {
			t.Errorf("%s: %v allocations a row, want 0", c.fn, n)
		}
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	funcs := allFuncs(t)
	for _, b := range [][]byte{nil, {0xff}, {0x80, 0x80}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}} {
		for _, f := range funcs {
			a, err := f.Decode(b)
			if err == nil {
				// Some bytes are valid states; then they must round-trip.
				if enc := a.AppendEncode(nil); string(enc) != string(b) {
					t.Errorf("%s accepted %x but re-encodes as %x", f.Name(), b, enc)
				}
				continue
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: %v, want ErrCorrupt", f.Name(), err)
			}
		}
	}
}

func TestValueCodec(t *testing.T) {
	vals := []types.Value{
		null, types.NewBoolean(true), types.NewBoolean(false), types.NewInt(math.MinInt32), types.NewBigint(math.MaxInt64),
		types.NewDouble(math.NaN()), types.NewDouble(math.Copysign(0, -1)), types.NewDouble(math.Inf(1)),
		dec("-123456789012345678901234567890.12345"), dec("0.00"), types.NewString(""), types.NewBytes([]byte{0, 255}),
		types.NewTimestamp(-1), types.NewDate(20000), types.NewTime(3600000),
		arr(), arr(null, arr(types.NewString("x"))), types.NewStruct([]types.Value{null, types.NewInt(1)}),
		types.NewMap([]types.Value{types.NewString("a")}, []types.Value{arr(dec("1.5"))}),
	}
	for _, v := range vals {
		enc := AppendValue(nil, v)
		got, rest, err := DecodeValue(append(enc, 7))
		if err != nil || len(rest) != 1 || rest[0] != 7 || !same(got, v, false) {
			t.Errorf("%s: got %s rest %x err %v", show(v), show(got), rest, err)
		}
		if math.IsNaN(v.Float()) && math.Float64bits(got.Float()) != math.Float64bits(v.Float()) {
			t.Errorf("NaN bits changed")
		}
		for i := range enc {
			if _, _, err := DecodeValue(enc[:i]); err == nil {
				t.Errorf("%s: truncated to %d bytes decoded", show(v), i)
			}
		}
	}
	deep := []byte{}
	for i := 0; i < 1000; i++ {
		deep = append(deep, byte(types.KindArray), 1)
	}
	if _, _, err := DecodeValue(append(deep, 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("deep nesting: %v", err)
	}
}

// allFuncs resolves one Func of every shape, for the decoders' tests.
func allFuncs(t testing.TB) []Func {
	var fs []Func
	for _, c := range aggCases() {
		var args []types.Type
		if c.arg != nil {
			args = []types.Type{*c.arg}
		}
		f, err := Resolve(c.fn, args, c.consts, c.distinct)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

func TestAddDoesNotAllocate(t *testing.T) {
	for _, c := range []struct {
		fn  string
		arg types.Type
		v   types.Value
	}{
		{"COUNT", types.Bigint, types.NewBigint(1)},
		{"SUM", types.Bigint, types.NewBigint(3)},
		{"SUM", types.Double, types.NewDouble(3)},
		{"MIN", types.Bigint, types.NewBigint(3)},
		{"MAX", types.String, types.NewString("x")},
		{"AVG", types.Int, types.NewInt(3)},
	} {
		f, err := Resolve(c.fn, []types.Type{c.arg}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		a := f.New()
		args := []types.Value{c.v}
		if n := testing.AllocsPerRun(100, func() { _ = a.Add(args) }); n != 0 {
			t.Errorf("%s(%s).Add allocates %v times", c.fn, c.arg, n)
		}
	}
}
