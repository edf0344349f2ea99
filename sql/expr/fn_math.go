package expr

import (
	"math"
	"math/big"
	"math/rand/v2"

	"github.com/runnel/runnel/sql/types"
)

func dbl(f float64) types.Value { return types.NewDouble(f) }

// sameNumeric returns a value of the kind of like from an integer result.
func sameInt(like types.Value, i int64) types.Value {
	if like.Kind() == types.KindInt {
		return types.NewInt(int32(i))
	}
	return types.NewBigint(i)
}

func unaryDouble(name, desc string, f func(float64) float64) *Function {
	return fn(name, "MATHEMATICAL", desc,
		ov(types.Double, func(a []types.Value) (types.Value, error) { return dbl(f(a[0].AsFloat())), nil }, pNumeric))
}

// integralDecimal is the DECIMAL type CEIL, FLOOR and ROUND produce from t.
func integralDecimal(t types.Type) types.Type {
	return types.Decimal(max(t.Precision-t.Scale+1, 1), 0)
}

// roundingRet is the result type of CEIL/FLOOR/ROUND(x): INT and BIGINT
// stay, DOUBLE becomes BIGINT for ROUND (as ksqlDB) and stays DOUBLE for
// CEIL/FLOOR, DECIMAL(p, s) becomes DECIMAL(p-s+1, 0).
func roundingRet(doubleTo types.Type) func([]types.Type) types.Type {
	return func(a []types.Type) types.Type {
		switch a[0].Kind {
		case types.KindDouble:
			return doubleTo
		case types.KindDecimal:
			return integralDecimal(a[0])
		}
		return a[0]
	}
}

// decimalTo rounds a DECIMAL value to scale 0 with mode: 'c' ceiling,
// 'f' floor, 'h' half up.
func decimalToInt(v types.Value, mode byte) types.Value {
	u, s := v.Decimal()
	if s <= 0 {
		return types.NewDecimal(rescale(u, s, 0), 0)
	}
	d := pow10(s)
	var q *big.Int
	switch mode {
	case 'h':
		q = divHalfUp(u, d)
	default:
		var m big.Int
		q, _ = new(big.Int).DivMod(u, d, &m) // Euclidean: floor for positive d
		if mode == 'c' && m.Sign() != 0 {
			q.Add(q, big.NewInt(1))
		}
	}
	return types.NewDecimal(q, 0)
}

func init() {
	register(
		fn("ABS", "MATHEMATICAL", "The absolute value.",
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				v := a[0]
				switch v.Kind() {
				case types.KindInt, types.KindBigint:
					if v.Int() >= 0 {
						return v, nil
					}
					if v.Int() == math.MinInt64 || v.Kind() == types.KindInt && v.Int() == math.MinInt32 {
						return null, errorf(ErrOutOfRange, "ABS(%d) is out of range", v.Int())
					}
					return sameInt(v, -v.Int()), nil
				case types.KindDecimal:
					u, s := v.Decimal()
					return types.NewDecimal(new(big.Int).Abs(u), s), nil
				}
				return dbl(math.Abs(v.AsFloat())), nil
			}, pNumeric)),
		fn("CEIL", "MATHEMATICAL", "The smallest integral value not less than the argument.",
			ovT(roundingRet(types.Double), "same as argument (DECIMAL with scale 0)", func(a []types.Value) (types.Value, error) {
				return roundTo(a[0], 'c'), nil
			}, pNumeric)),
		fn("FLOOR", "MATHEMATICAL", "The largest integral value not greater than the argument.",
			ovT(roundingRet(types.Double), "same as argument (DECIMAL with scale 0)", func(a []types.Value) (types.Value, error) {
				return roundTo(a[0], 'f'), nil
			}, pNumeric)),
		fn("ROUND", "MATHEMATICAL", "Rounds half up: ROUND(x) to an integral value (DOUBLE gives BIGINT), ROUND(x, d) to d decimal places (negative d rounds left of the point).",
			ovT(roundingRet(types.Bigint), "BIGINT for DOUBLE, else same as argument", func(a []types.Value) (types.Value, error) {
				if a[0].Kind() == types.KindDouble {
					f := math.Floor(a[0].Float() + 0.5) // Java's Math.round
					if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
						return null, errorf(ErrOutOfRange, "ROUND(%s) is out of range for BIGINT", types.FormatDouble(a[0].Float()))
					}
					return types.NewBigint(int64(f)), nil
				}
				return roundTo(a[0], 'h'), nil
			}, pNumeric),
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				return roundPlaces(a[0], a[1].Int())
			}, pNumeric, pIntegral)),
		unaryDouble("SQRT", "The square root.", math.Sqrt),
		unaryDouble("CBRT", "The cube root.", math.Cbrt),
		unaryDouble("EXP", "e raised to the argument.", math.Exp),
		unaryDouble("LN", "The natural logarithm.", math.Log),
		fn("LOG", "MATHEMATICAL", "LOG(x) is the natural logarithm; LOG(base, x) the logarithm in a base.",
			ov(types.Double, func(a []types.Value) (types.Value, error) { return dbl(math.Log(a[0].AsFloat())), nil }, pNumeric),
			ov(types.Double, func(a []types.Value) (types.Value, error) {
				return dbl(math.Log(a[1].AsFloat()) / math.Log(a[0].AsFloat())), nil
			}, pNumeric, pNumeric)),
		fn("POWER", "MATHEMATICAL", "A base raised to an exponent.",
			ov(types.Double, func(a []types.Value) (types.Value, error) { return dbl(math.Pow(a[0].AsFloat(), a[1].AsFloat())), nil }, pNumeric, pNumeric)),
		fn("SIGN", "MATHEMATICAL", "-1, 0 or 1 as the argument is negative, zero or positive.",
			ov(types.Int, func(a []types.Value) (types.Value, error) {
				switch v := a[0]; v.Kind() {
				case types.KindDecimal:
					u, _ := v.Decimal()
					return intV(u.Sign()), nil
				case types.KindDouble:
					f := v.Float()
					switch {
					case f > 0:
						return intV(1), nil
					case f < 0:
						return intV(-1), nil
					case f == 0:
						return intV(0), nil
					}
					return null, nil // NaN
				default:
					switch {
					case v.Int() > 0:
						return intV(1), nil
					case v.Int() < 0:
						return intV(-1), nil
					}
					return intV(0), nil
				}
			}, pNumeric)),
		fn("RANDOM", "MATHEMATICAL", "A random DOUBLE in [0, 1).",
			ov(types.Double, func([]types.Value) (types.Value, error) { return dbl(rand.Float64()), nil })),
		fn("PI", "MATHEMATICAL", "The constant π.",
			ov(types.Double, func([]types.Value) (types.Value, error) { return dbl(math.Pi), nil })),
		unaryDouble("DEGREES", "Converts radians to degrees.", func(x float64) float64 { return x * 180 / math.Pi }),
		unaryDouble("RADIANS", "Converts degrees to radians.", func(x float64) float64 { return x * math.Pi / 180 }),
		unaryDouble("SIN", "The sine, in radians.", math.Sin),
		unaryDouble("COS", "The cosine, in radians.", math.Cos),
		unaryDouble("TAN", "The tangent, in radians.", math.Tan),
		unaryDouble("ASIN", "The arc sine, in radians (NaN outside [-1, 1]).", math.Asin),
		unaryDouble("ACOS", "The arc cosine, in radians (NaN outside [-1, 1]).", math.Acos),
		unaryDouble("ATAN", "The arc tangent, in radians.", math.Atan),
		fn("ATAN2", "MATHEMATICAL", "The arc tangent of y / x, in radians.",
			ov(types.Double, func(a []types.Value) (types.Value, error) {
				return dbl(math.Atan2(a[0].AsFloat(), a[1].AsFloat())), nil
			}, pNumeric, pNumeric)),
		extremum("GREATEST", "The largest argument; NULL arguments are ignored.", 1),
		extremum("LEAST", "The smallest argument; NULL arguments are ignored.", -1),
	)
	register(
		&Function{Name: "COALESCE", Category: "NULL", nullCall: true,
			Description: "The first argument that is not NULL.",
			customSigs:  []string{"COALESCE(T, T...) -> T"},
			custom: func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error) {
				if len(args) == 0 {
					return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "COALESCE needs at least one argument")
				}
				return unifyArgs(b, "COALESCE", args, func(a []types.Value) (types.Value, error) {
					for _, v := range a {
						if !v.IsNull() {
							return v, nil
						}
					}
					return null, nil
				})
			}},
		&Function{Name: "IFNULL", Category: "NULL", nullCall: true,
			Description: "The first argument, or the second when the first is NULL.",
			customSigs:  []string{"IFNULL(T, T) -> T"},
			custom: func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error) {
				if len(args) != 2 {
					return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "IFNULL takes two arguments, not %d", len(args))
				}
				return unifyArgs(b, "IFNULL", args, func(a []types.Value) (types.Value, error) {
					if a[0].IsNull() {
						return a[1], nil
					}
					return a[0], nil
				})
			}},
		&Function{Name: "NULLIF", Category: "NULL", nullCall: true,
			Description: "NULL when the two arguments are equal, else the first.",
			customSigs:  []string{"NULLIF(T, T) -> T"},
			custom: func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error) {
				if len(args) != 2 {
					return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "NULLIF takes two arguments, not %d", len(args))
				}
				l, r, cf, err := comparer(b, args[0], args[1], "NULLIF")
				if err != nil {
					return nil, types.Type{}, nil, err
				}
				return []Expr{l, r}, l.Type(), func(a []types.Value) (types.Value, error) {
					if !a[0].IsNull() && !a[1].IsNull() && cf(a[0], a[1]) == 0 {
						return null, nil
					}
					return a[0], nil
				}, nil
			}},
	)
}

// unifyArgs coerces args to their common type for COALESCE-like functions.
func unifyArgs(b *Binder, name string, args []Expr, f impl) ([]Expr, types.Type, impl, error) {
	t, err := unify(b, args, name)
	if err != nil {
		return nil, types.Type{}, nil, err
	}
	out := make([]Expr, len(args))
	for i, a := range args {
		if out[i], err = Coerce(a, t); err != nil {
			return nil, types.Type{}, nil, err
		}
	}
	return out, t, f, nil
}

func extremum(name, desc string, sign int) *Function {
	return &Function{Name: name, Category: "MATHEMATICAL", Description: desc, nullCall: true,
		customSigs: []string{name + "(T, T...) -> T"},
		custom: func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error) {
			if len(args) == 0 {
				return nil, types.Type{}, nil, errorf(ErrUnknownFunction, "%s needs at least one argument", name)
			}
			return unifyArgs(b, name, args, func(a []types.Value) (types.Value, error) {
				best := null
				for _, v := range a {
					if v.IsNull() {
						continue
					}
					if best.IsNull() || types.Compare(v, best)*sign > 0 {
						best = v
					}
				}
				return best, nil
			})
		}}
}

// roundTo rounds to an integral value: 'c' ceiling, 'f' floor, 'h' half up.
func roundTo(v types.Value, mode byte) types.Value {
	switch v.Kind() {
	case types.KindDouble:
		switch mode {
		case 'c':
			return dbl(math.Ceil(v.Float()))
		case 'f':
			return dbl(math.Floor(v.Float()))
		}
		return dbl(math.Floor(v.Float() + 0.5))
	case types.KindDecimal:
		return decimalToInt(v, mode)
	}
	return v
}

// roundPlaces is ROUND(x, d): half up to d decimal places, keeping x's
// type (a DECIMAL keeps its scale, zero-filled).
func roundPlaces(v types.Value, d int64) (types.Value, error) {
	if d > 30 {
		d = 30
	}
	if d < -30 {
		d = -30
	}
	switch v.Kind() {
	case types.KindDouble:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return v, nil
		}
		r, _ := new(big.Rat).SetString(types.FormatDouble(f))
		if r == nil {
			return v, nil
		}
		u := roundRat(r, int32(d))
		out, _ := new(big.Rat).SetFrac(u, big.NewInt(1)).Float64()
		if d > 0 {
			out, _ = new(big.Rat).SetFrac(u, pow10(int32(d))).Float64()
		} else if d < 0 {
			out, _ = new(big.Rat).SetInt(new(big.Int).Mul(u, pow10(int32(-d)))).Float64()
		}
		return dbl(out), nil
	case types.KindDecimal:
		u, s := v.Decimal()
		if int64(s) <= d {
			return v, nil
		}
		q := rescale(u, s, int32(d)) // half up
		return types.NewDecimal(rescale(q, int32(d), s), s), nil
	}
	if d >= 0 {
		return v, nil
	}
	q := divHalfUp(big.NewInt(v.Int()), pow10(int32(-d)))
	q.Mul(q, pow10(int32(-d)))
	if !q.IsInt64() || v.Kind() == types.KindInt && !int32Range(q.Int64()) {
		return null, errorf(ErrOutOfRange, "ROUND(%d, %d) is out of range", v.Int(), d)
	}
	return sameInt(v, q.Int64()), nil
}

// roundRat returns r rounded half up to d places, unscaled (× 10^d).
func roundRat(r *big.Rat, d int32) *big.Int {
	num, den := new(big.Int).Set(r.Num()), new(big.Int).Set(r.Denom())
	if d >= 0 {
		num.Mul(num, pow10(d))
	} else {
		den.Mul(den, pow10(-d))
	}
	return divHalfUp(num, den)
}
