package expr

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

// Cast returns e converted to t as CAST(e AS t) does: between all
// numerics (with range checks; DOUBLE to an integer truncates toward
// zero; DECIMAL rounds half up), from STRING to every scalar (22P02 on bad
// text), from anything to STRING (Format's rendering), between TIMESTAMP,
// DATE and TIME, and element-wise for ARRAY and MAP and by field name for
// STRUCT.
//
// A value the cast would build over DefaultMaxValueBytes is an error
// wrapping ErrValueTooLarge; a Binder's casts use its MaxValueBytes.
func Cast(e Expr, t types.Type) (Expr, error) { return castWith(e, t, defaultCtx) }

// defaultCtx are the limits of what is not bound by a Binder.
var defaultCtx = &evalCtx{maxBytes: DefaultMaxValueBytes}

func castWith(e Expr, t types.Type, c *evalCtx) (Expr, error) {
	conv, err := castFunc(e.Type(), t, c)
	if err != nil {
		return nil, err
	}
	n := convNode(e, t, conv, []any{"CAST(", e, " AS " + t.String() + ")"})
	if from := e.Type().Kind; t.Kind == types.KindString && (from == types.KindInt || from == types.KindBigint) {
		n.text, n.textCtx = textCastInt, c
	}
	return n, nil
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
	conv, err := castFunc(from, t, defaultCtx)
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

func convNode(e Expr, t types.Type, conv convFunc, text []any) *node {
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
// type to, or an ErrTypeMismatch error when CAST does not allow it. A
// conversion that would build a value over c's limit fails with
// ErrValueTooLarge instead.
func castFunc(from, to types.Type, c *evalCtx) (convFunc, error) {
	bad := func() (convFunc, error) {
		return nil, errorf(ErrTypeMismatch, "Cast of %s to %s is not supported", from, to)
	}
	if from.Kind == types.KindNull {
		return identity, nil
	}
	if from.Equal(to) {
		return identity, nil
	}
	if to.Kind == types.KindString && (from.Kind == types.KindInt || from.Kind == types.KindBigint) {
		// An integer's digits fit a small buffer: written once, then
		// sized (where other kinds are sized before they are written).
		return func(v types.Value) (types.Value, error) {
			var buf [24]byte
			b := strconv.AppendInt(buf[:0], v.Int(), 10)
			if err := c.checkString("CAST AS STRING", int64(len(b))); err != nil {
				return types.Value{}, err
			}
			return types.NewString(string(b)), nil
		}, nil
	}
	if to.Kind == types.KindString {
		return func(v types.Value) (types.Value, error) {
			// The text of a value may be longer than the value (BYTES
			// in base64, numbers as digits): size it first.
			if err := c.checkString("CAST AS STRING", types.FormatLen(v, from)); err != nil {
				return types.Value{}, err
			}
			return types.NewString(types.Format(v, from)), nil
		}, nil
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
				text := strings.TrimSpace(v.Str())
				if zero, huge := extremeExponent(text); huge {
					// big.Rat would build 10^exponent first: '1e999999999'
					// is gigabytes. Such a number is out of range, or
					// rounds to zero at any scale a DECIMAL can have.
					if zero {
						return types.NewDecimal(new(big.Int), int32(to.Scale)), nil
					}
					return types.Value{}, errorf(ErrOutOfRange, "value %q does not fit %s", clipText(v.Str()), to)
				}
				if len(text) > maxDecimalText {
					// big.Int reads decimal text in quadratic time: cut
					// what cannot matter first (see shortenDecimal).
					var fits bool
					if text, fits = shortenDecimal(text, to); !fits {
						return types.Value{}, errorf(ErrOutOfRange, "value %q does not fit %s", clipText(v.Str()), to)
					}
				}
				r, ok := new(big.Rat).SetString(text)
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
			return func(v types.Value) (types.Value, error) {
				ms, err := daysToMs(v.Int())
				return types.NewTimestamp(ms), err
			}, nil
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
			ec, err := castFunc(*from.Elem, *to.Elem, c)
			if err != nil {
				return nil, err
			}
			return func(v types.Value) (types.Value, error) {
				in := v.List()
				out := make([]types.Value, len(in))
				size := types.ElementSize(len(in) + 1)
				for i, e := range in {
					if e.IsNull() {
						continue
					}
					var err error
					if out[i], err = ec(e); err != nil {
						return types.Value{}, err
					}
					// Elements may grow (to STRING): count as they come.
					if size = sizeAdd(size, out[i].Size()-valueOverhead); size > c.maxBytes {
						return types.Value{}, c.tooLarge("CAST", size)
					}
				}
				return types.NewArray(out), nil
			}, nil
		}
	case types.KindMap:
		if from.Kind == types.KindMap {
			kc, err := castFunc(*from.Key, *to.Key, c)
			if err != nil {
				return nil, err
			}
			vc, err := castFunc(*from.Elem, *to.Elem, c)
			if err != nil {
				return nil, err
			}
			return func(v types.Value) (types.Value, error) {
				n := v.MapLen()
				ks, vs := make([]types.Value, n), make([]types.Value, n)
				size := types.ElementSize(2*n + 1)
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
					if size = sizeAdd(size, ks[i].Size()+vs[i].Size()-2*valueOverhead); size > c.maxBytes {
						return types.Value{}, c.tooLarge("CAST", size)
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
				fc, err := castFunc(from.Fields[src[i]].Type, f.Type, c)
				if err != nil {
					return nil, err
				}
				convs[i] = fc
			}
			return func(v types.Value) (types.Value, error) {
				in := v.List()
				out := make([]types.Value, len(src))
				size := types.ElementSize(len(src) + 1)
				for i, j := range src {
					if j < 0 || j >= len(in) || in[j].IsNull() {
						continue
					}
					var err error
					if out[i], err = convs[i](in[j]); err != nil {
						return types.Value{}, err
					}
					if size = sizeAdd(size, out[i].Size()-valueOverhead); size > c.maxBytes {
						return types.Value{}, c.tooLarge("CAST", size)
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

// extremeExponent reports whether decimal text has an exponent too large
// to expand (|e| > maxExpandedExponent) and, if so, whether the number is
// tiny (a negative exponent: it rounds to zero) rather than huge. A zero
// mantissa is tiny whatever its exponent.
func extremeExponent(s string) (zero, huge bool) {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return false, false
	}
	exp := strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(s[i+1:], "+"), "-"), "0")
	neg := strings.HasPrefix(s[i+1:], "-")
	if len(exp) <= 6 { // at most 999,999: 10^999,999 is 415 KB, fine to build
		return false, false
	}
	for _, ch := range exp {
		if ch < '0' || ch > '9' {
			return false, false // not a number: SetString will say so
		}
	}
	mantissaZero := strings.Trim(strings.TrimLeft(s[:i], "+-"), "0.") == ""
	return neg || mantissaZero, true
}

// clipText cuts text quoted in an error message.
func clipText(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// maxDecimalText is the length of decimal text read as it is.
const maxDecimalText = 4096

// shortenDecimal cuts long plain decimal text ([sign]digits[.digits], no
// exponent) to what decides its value in DECIMAL(p, s): leading zeros go,
// more than p integer digits cannot fit, and rounding half up looks only at
// the first fractional digit past the scale. Text with an exponent, or not
// a number, is returned as it is.
func shortenDecimal(text string, to types.Type) (string, bool) {
	if strings.ContainsAny(text, "eE") {
		return text, true
	}
	sign := ""
	if text[0] == '+' || text[0] == '-' {
		sign, text = text[:1], text[1:]
	}
	intPart, frac, _ := strings.Cut(text, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > to.Precision {
		for _, ch := range intPart {
			if ch < '0' || ch > '9' {
				return sign + text, true // let SetString refuse it
			}
		}
		return "", false
	}
	if len(frac) > to.Scale+1 {
		frac = frac[:to.Scale+1]
	}
	if intPart == "" {
		intPart = "0"
	}
	if frac == "" {
		return sign + intPart, true
	}
	return sign + intPart + "." + frac, true
}
