package expr

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// Cast returns e converted to t as CAST(e AS t) does: between all
// numerics (with range checks; DOUBLE to an integer truncates toward
// zero; DECIMAL rounds half up), from STRING to every scalar (22P02 on bad
// text), from anything to STRING (Format's rendering), between TIMESTAMP,
// DATE and TIME, and element-wise for ARRAY and MAP and by field name for
// STRUCT.
func Cast(e Expr, t types.Type) (Expr, error) {
	conv, err := castFunc(e.Type(), t)
	if err != nil {
		return nil, err
	}
	return convNode(e, t, conv, []any{"CAST(", e, " AS " + t.String() + ")"}), nil
}

// Coerce converts e to t where an assignment may do so implicitly:
// identical types, NULL, numeric widening (INT → BIGINT → DECIMAL →
// DOUBLE, and DECIMAL to a DECIMAL holding it), a STRING for a TIMESTAMP,
// DATE or TIME (parsed as ISO-8601; a literal at bind time), and ARRAY and
// MAP of those. Anything else is an error wrapping ErrTypeMismatch.
func Coerce(e Expr, t types.Type) (Expr, error) {
	from := e.Type()
	if from.Equal(t) {
		return e, nil
	}
	if !implicit(from, t) {
		return nil, errorf(ErrTypeMismatch, "expression %s of type %s cannot be used as %s", clip(e), from, t)
	}
	conv, err := castFunc(from, t)
	if err != nil {
		return nil, err
	}
	if lit, ok := e.(*Literal); ok {
		v := lit.Value
		if !v.IsNull() {
			if v, err = conv(v); err != nil {
				return nil, err
			}
		}
		return &Literal{Value: v, T: t}, nil
	}
	return convNode(e, t, conv, []any{e}), nil
}

func implicit(from, to types.Type) bool {
	switch {
	case from.Kind == types.KindNull:
		return true
	case from.IsNumeric() && to.IsNumeric():
		return numRank(from.Kind) <= numRank(to.Kind)
	case from.Kind == types.KindString && isTemporal(to.Kind):
		return true
	case from.Kind == types.KindArray && to.Kind == types.KindArray:
		return implicit(*from.Elem, *to.Elem)
	case from.Kind == types.KindMap && to.Kind == types.KindMap:
		return implicit(*from.Key, *to.Key) && implicit(*from.Elem, *to.Elem)
	}
	return from.Equal(to)
}

func convNode(e Expr, t types.Type, conv convFunc, text []any) Expr {
	return &node{t: t, sql: text, kids: []Expr{e}, eval: func(row types.Row) (types.Value, error) {
		v, err := e.Eval(row)
		if err != nil || v.IsNull() {
			return types.Value{}, err
		}
		return conv(v)
	}}
}

func identity(v types.Value) (types.Value, error) { return v, nil }

// castFunc returns the conversion of non-NULL values of type from to
// type to, or an ErrTypeMismatch error when CAST does not allow it.
func castFunc(from, to types.Type) (convFunc, error) {
	bad := func() (convFunc, error) {
		return nil, errorf(ErrTypeMismatch, "cannot cast %s to %s", from, to)
	}
	if from.Kind == types.KindNull {
		return identity, nil
	}
	if from.Equal(to) {
		return identity, nil
	}
	if to.Kind == types.KindString {
		return func(v types.Value) (types.Value, error) { return types.NewString(types.Format(v, from)), nil }, nil
	}
	switch to.Kind {
	case types.KindInt, types.KindBigint:
		bits := 64
		if to.Kind == types.KindInt {
			bits = 32
		}
		mk := func(i int64) types.Value {
			if bits == 32 {
				return types.NewInt(int32(i))
			}
			return types.NewBigint(i)
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if bits == 32 {
			lo, hi = math.MinInt32, math.MaxInt32
		}
		switch from.Kind {
		case types.KindInt, types.KindBigint:
			return func(v types.Value) (types.Value, error) {
				if v.Int() < lo || v.Int() > hi {
					return types.Value{}, errorf(ErrOutOfRange, "%d is out of range for %s", v.Int(), to)
				}
				return mk(v.Int()), nil
			}, nil
		case types.KindDouble:
			return func(v types.Value) (types.Value, error) {
				f := math.Trunc(v.Float())
				if math.IsNaN(f) || f < float64(lo) || f >= -float64(lo) {
					return types.Value{}, errorf(ErrOutOfRange, "%s is out of range for %s", types.FormatDouble(v.Float()), to)
				}
				return mk(int64(f)), nil
			}, nil
		case types.KindDecimal:
			return func(v types.Value) (types.Value, error) {
				u, s := v.Decimal()
				q := new(big.Int).Quo(u, pow10(s)) // truncates toward zero, as Java's intValue
				if !q.IsInt64() || q.Int64() < lo || q.Int64() > hi {
					return types.Value{}, errorf(ErrOutOfRange, "%s is out of range for %s", types.FormatDecimal(u, s), to)
				}
				return mk(q.Int64()), nil
			}, nil
		case types.KindString:
			return func(v types.Value) (types.Value, error) {
				s := strings.TrimSpace(v.Str())
				i, err := strconv.ParseInt(s, 10, bits)
				if err != nil {
					if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
						return types.Value{}, errorf(ErrOutOfRange, "value %q is out of range for %s", v.Str(), to)
					}
					return types.Value{}, errorf(ErrInvalidText, "invalid input syntax for %s: %q", to, v.Str())
				}
				return mk(i), nil
			}, nil
		}
	case types.KindDouble:
		switch from.Kind {
		case types.KindInt, types.KindBigint, types.KindDecimal:
			return func(v types.Value) (types.Value, error) { return types.NewDouble(v.AsFloat()), nil }, nil
		case types.KindString:
			return func(v types.Value) (types.Value, error) {
				s := strings.TrimSpace(v.Str())
				switch s {
				case "NaN":
					return types.NewDouble(math.NaN()), nil
				case "Infinity", "+Infinity":
					return types.NewDouble(math.Inf(1)), nil
				case "-Infinity":
					return types.NewDouble(math.Inf(-1)), nil
				}
				f, err := strconv.ParseFloat(s, 64)
				if err != nil || strings.ContainsAny(s, "xXpP_") || strings.EqualFold(s, "inf") || strings.EqualFold(s, "nan") {
					if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
						return types.Value{}, errorf(ErrOutOfRange, "value %q is out of range for DOUBLE", v.Str())
					}
					return types.Value{}, errorf(ErrInvalidText, "invalid input syntax for DOUBLE: %q", v.Str())
				}
				return types.NewDouble(f), nil
			}, nil
		}
	case types.KindDecimal:
		switch from.Kind {
		case types.KindInt, types.KindBigint, types.KindDouble, types.KindDecimal:
			return func(v types.Value) (types.Value, error) { return toDecimal(v, to) }, nil
		case types.KindString:
			return func(v types.Value) (types.Value, error) {
				r, ok := new(big.Rat).SetString(strings.TrimSpace(v.Str()))
				if !ok || strings.ContainsAny(v.Str(), "/xX_") {
					return types.Value{}, errorf(ErrInvalidText, "invalid input syntax for %s: %q", to, v.Str())
				}
				u := divHalfUp(new(big.Int).Mul(r.Num(), pow10(int32(to.Scale))), r.Denom())
				if !fitsPrecision(u, to.Precision) {
					return types.Value{}, errorf(ErrOutOfRange, "value %q does not fit %s", v.Str(), to)
				}
				return types.NewDecimal(u, int32(to.Scale)), nil
			}, nil
		}
	case types.KindBoolean:
		if from.Kind == types.KindString {
			return func(v types.Value) (types.Value, error) {
				switch strings.ToLower(strings.TrimSpace(v.Str())) {
				case "true", "t", "yes", "y", "1":
					return trueV, nil
				case "false", "f", "no", "n", "0":
					return falseV, nil
				}
				return types.Value{}, errorf(ErrInvalidText, "invalid input syntax for BOOLEAN: %q", v.Str())
			}, nil
		}
	case types.KindTimestamp:
		switch from.Kind {
		case types.KindString:
			return func(v types.Value) (types.Value, error) {
				ms, err := types.ParseTimestamp(v.Str())
				if err != nil {
					return types.Value{}, errorf(ErrInvalidText, "invalid input syntax for TIMESTAMP: %q", v.Str())
				}
				return types.NewTimestamp(ms), nil
			}, nil
		case types.KindDate:
			return func(v types.Value) (types.Value, error) { return types.NewTimestamp(v.Int() * msPerDay), nil }, nil
		}
	case types.KindDate:
		switch from.Kind {
		case types.KindString:
			return func(v types.Value) (types.Value, error) {
				d, err := types.ParseDate(v.Str())
				if err != nil {
					// ksqlDB accepts a full timestamp and keeps its date.
					ms, err2 := types.ParseTimestamp(v.Str())
					if err2 != nil {
						return types.Value{}, errorf(ErrInvalidText, "invalid input syntax for DATE: %q", v.Str())
					}
					d = floorDiv(ms, msPerDay)
				}
				return types.NewDate(d), nil
			}, nil
		case types.KindTimestamp:
			return func(v types.Value) (types.Value, error) { return types.NewDate(floorDiv(v.Int(), msPerDay)), nil }, nil
		}
	case types.KindTime:
		switch from.Kind {
		case types.KindString:
			return func(v types.Value) (types.Value, error) {
				ms, err := types.ParseTime(v.Str())
				if err != nil {
					return types.Value{}, errorf(ErrInvalidText, "invalid input syntax for TIME: %q", v.Str())
				}
				return types.NewTime(ms), nil
			}, nil
		case types.KindTimestamp:
			return func(v types.Value) (types.Value, error) { return types.NewTime(floorMod(v.Int(), msPerDay)), nil }, nil
		}
	case types.KindBytes:
		if from.Kind == types.KindString {
			return func(v types.Value) (types.Value, error) { return types.NewBytes([]byte(v.Str())), nil }, nil
		}
	case types.KindArray:
		if from.Kind == types.KindArray {
			ec, err := castFunc(*from.Elem, *to.Elem)
			if err != nil {
				return nil, err
			}
			return func(v types.Value) (types.Value, error) {
				in := v.List()
				out := make([]types.Value, len(in))
				for i, e := range in {
					if e.IsNull() {
						continue
					}
					var err error
					if out[i], err = ec(e); err != nil {
						return types.Value{}, err
					}
				}
				return types.NewArray(out), nil
			}, nil
		}
	case types.KindMap:
		if from.Kind == types.KindMap {
			kc, err := castFunc(*from.Key, *to.Key)
			if err != nil {
				return nil, err
			}
			vc, err := castFunc(*from.Elem, *to.Elem)
			if err != nil {
				return nil, err
			}
			return func(v types.Value) (types.Value, error) {
				n := v.MapLen()
				ks, vs := make([]types.Value, n), make([]types.Value, n)
				for i := 0; i < n; i++ {
					k, e := v.MapEntry(i)
					var err error
					if !k.IsNull() {
						if ks[i], err = kc(k); err != nil {
							return types.Value{}, err
						}
					}
					if !e.IsNull() {
						if vs[i], err = vc(e); err != nil {
							return types.Value{}, err
						}
					}
				}
				return types.NewMap(ks, vs), nil
			}, nil
		}
	case types.KindStruct:
		if from.Kind == types.KindStruct {
			src := make([]int, len(to.Fields))
			convs := make([]convFunc, len(to.Fields))
			for i, f := range to.Fields {
				src[i] = from.FieldIndex(f.Name)
				if src[i] < 0 {
					continue
				}
				c, err := castFunc(from.Fields[src[i]].Type, f.Type)
				if err != nil {
					return nil, err
				}
				convs[i] = c
			}
			return func(v types.Value) (types.Value, error) {
				in := v.List()
				out := make([]types.Value, len(src))
				for i, j := range src {
					if j < 0 || j >= len(in) || in[j].IsNull() {
						continue
					}
					var err error
					if out[i], err = convs[i](in[j]); err != nil {
						return types.Value{}, err
					}
				}
				return types.NewStruct(out), nil
			}, nil
		}
	}
	return bad()
}

const msPerDay = 86400000

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
