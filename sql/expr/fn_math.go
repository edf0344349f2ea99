package expr

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"

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

// roundingRet(t) is the result type of CEIL and FLOOR (t DOUBLE: INT,
// BIGINT and DOUBLE keep their type) and of ROUND (t BIGINT: INT, BIGINT
// and DOUBLE give BIGINT, as in ksqlDB). DECIMAL(p, s) becomes
// DECIMAL(p-s+1, 0), room for the carry of rounding up.
func roundingRet(toBigint types.Type) func([]types.Type) types.Type {
	return func(a []types.Type) types.Type {
		switch a[0].Kind {
		case types.KindDecimal:
			return integralDecimal(a[0])
		case types.KindDouble:
			return toBigint
		case types.KindInt:
			if toBigint.Kind == types.KindBigint {
				return types.Bigint
			}
		}
		return a[0]
	}
}

// decimalToInt rounds a DECIMAL value to scale 0 with mode: 'c'
// ceiling, 'f' floor, 'h' half toward positive infinity (ksqlDB's ROUND:
// HALF_UP for positive values, HALF_DOWN for the others), 't' toward zero.
func decimalToInt(v types.Value, mode byte) types.Value {
	u, s := v.Decimal()
	if s <= 0 {
		return types.NewDecimal(rescale(u, s, 0), 0)
	}
	d := pow10(s)
	var q *big.Int
	switch mode {
	case 'h':
		q = divHalfCeil(u, d)
	case 't':
		q = new(big.Int).Quo(u, d)
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
		fn("ROUND", "MATHEMATICAL", "Rounds half up (toward positive infinity, as Java's Math.round: -2.5 is -2): ROUND(x) to an integral value (INT, BIGINT and DOUBLE give BIGINT), ROUND(x, d) to d decimal places (negative d rounds left of the point).",
			ovT(roundingRet(types.Bigint), "BIGINT, or DECIMAL with scale 0", func(a []types.Value) (types.Value, error) {
				switch a[0].Kind() {
				case types.KindDouble:
					f := math.Floor(a[0].Float() + 0.5) // Java's Math.round
					if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
						return null, errorf(ErrOutOfRange, "ROUND(%s) is out of range for BIGINT", types.FormatDouble(a[0].Float()))
					}
					return types.NewBigint(int64(f)), nil
				case types.KindInt, types.KindBigint:
					return types.NewBigint(a[0].Int()), nil
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
				base := a[0].AsFloat()
				if base <= 0 || base == 1 {
					return dbl(math.NaN()), nil // ksqlDB's answer for a base that has no logarithm
				}
				return dbl(math.Log(a[1].AsFloat()) / math.Log(base)), nil
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
		unaryDouble("COT", "The cotangent, in radians (±Infinity at 0, with the sign of the argument).", func(x float64) float64 { return 1 / math.Tan(x) }),
		unaryDouble("SINH", "The hyperbolic sine.", math.Sinh),
		unaryDouble("COSH", "The hyperbolic cosine.", math.Cosh),
		unaryDouble("TANH", "The hyperbolic tangent.", math.Tanh),
		fn("TRUNC", "MATHEMATICAL", "Truncates toward zero: TRUNC(x) to an integral value (INT, BIGINT and DOUBLE give BIGINT), TRUNC(x, d) to d decimal places (negative d truncates left of the point).",
			ovT(func(a []types.Type) types.Type {
				if a[0].Kind == types.KindDecimal {
					// No carry: the integral digits are enough, as in ksqlDB.
					return types.Decimal(max(a[0].Precision-a[0].Scale, 1), 0)
				}
				return roundingRet(types.Bigint)(a)
			}, "BIGINT, or DECIMAL with scale 0", func(a []types.Value) (types.Value, error) {
				switch v := a[0]; v.Kind() {
				case types.KindDouble:
					f := math.Trunc(v.Float())
					if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
						return null, errorf(ErrOutOfRange, "TRUNC(%s) is out of range for BIGINT", types.FormatDouble(v.Float()))
					}
					return types.NewBigint(int64(f)), nil
				case types.KindDecimal:
					return roundTo(v, 't'), nil
				}
				return types.NewBigint(a[0].Int()), nil
			}, pNumeric),
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				return truncPlaces(a[0], a[1].Int())
			}, pNumeric, pIntegral)),
		&Function{Name: "GEO_DISTANCE", Category: "OTHER", nullCall: true,
			Description: "The great-circle distance between two (latitude, longitude) points in decimal degrees, by the haversine formula, in kilometers or in the unit given: KM (the default) or MILES (MI, MILE, MILES, KM, KILOMETER(S), KILOMETRE(S), any case).",
			overloads: []overload{
				ov(types.Double, geoDistance, pNumeric, pNumeric, pNumeric, pNumeric),
				ov(types.Double, geoDistance, pNumeric, pNumeric, pNumeric, pNumeric, pString),
			}},
		fn("ATAN2", "MATHEMATICAL", "The arc tangent of y / x, in radians.",
			ov(types.Double, func(a []types.Value) (types.Value, error) {
				return dbl(math.Atan2(a[0].AsFloat(), a[1].AsFloat())), nil
			}, pNumeric, pNumeric)),
		extremum("GREATEST", "The largest argument; NULL arguments are ignored.", 1),
		extremum("LEAST", "The smallest argument; NULL arguments are ignored.", -1),
	)
	register(
		&Function{Name: "COALESCE", Category: "CONDITIONAL", nullCall: true,
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
		&Function{Name: "IFNULL", Category: "CONDITIONAL", nullCall: true,
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
		&Function{Name: "NULLIF", Category: "CONDITIONAL", nullCall: true,
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

// roundTo rounds to an integral value: 'c' ceiling, 'f' floor, 'h' half
// toward positive infinity, 't' toward zero.
func roundTo(v types.Value, mode byte) types.Value {
	switch v.Kind() {
	case types.KindDouble:
		switch mode {
		case 'c':
			return dbl(math.Ceil(v.Float()))
		case 'f':
			return dbl(math.Floor(v.Float()))
		case 't':
			return dbl(math.Trunc(v.Float()))
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
		u := roundRat(r, int32(d), divHalfCeil)
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
		q := divHalfCeil(u, pow10(s-int32(d)))
		return types.NewDecimal(rescale(q, int32(d), s), s), nil
	}
	if d >= 0 {
		return v, nil
	}
	q := divHalfCeil(big.NewInt(v.Int()), pow10(int32(-d)))
	q.Mul(q, pow10(int32(-d)))
	if !q.IsInt64() || v.Kind() == types.KindInt && !int32Range(q.Int64()) {
		return null, errorf(ErrOutOfRange, "ROUND(%d, %d) is out of range", v.Int(), d)
	}
	return sameInt(v, q.Int64()), nil
}

// roundRat returns r rounded to d places by div, unscaled (× 10^d).
func roundRat(r *big.Rat, d int32, div func(num, den *big.Int) *big.Int) *big.Int {
	num, den := new(big.Int).Set(r.Num()), new(big.Int).Set(r.Denom())
	if d >= 0 {
		num.Mul(num, pow10(d))
	} else {
		den.Mul(den, pow10(-d))
	}
	return div(num, den)
}

// divHalfCeil is num/den (den > 0) rounded half toward positive infinity:
// floor(num/den + 1/2), Java's Math.round and ksqlDB's ROUND.
func divHalfCeil(num, den *big.Int) *big.Int {
	n := new(big.Int).Lsh(num, 1)
	n.Add(n, den)
	d := new(big.Int).Lsh(den, 1)
	q, _ := new(big.Int).DivMod(n, d, new(big.Int)) // Euclidean: floor for d > 0
	return q
}

// truncPlaces is TRUNC(x, d): toward zero at d decimal places, keeping
// x's type (a DECIMAL keeps its scale, zero-filled), as ksqlDB's
// BigDecimal.setScale(d, DOWN).
func truncPlaces(v types.Value, d int64) (types.Value, error) {
	d = max(min(d, 30), -30)
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
		u := roundRat(r, int32(d), func(num, den *big.Int) *big.Int { return new(big.Int).Quo(num, den) })
		var out float64
		if d >= 0 {
			out, _ = new(big.Rat).SetFrac(u, pow10(int32(d))).Float64()
		} else {
			out, _ = new(big.Rat).SetInt(new(big.Int).Mul(u, pow10(int32(-d)))).Float64()
		}
		return dbl(out), nil // a BigDecimal has no -0: TRUNC(-0.001, 2) is 0.0
	case types.KindDecimal:
		u, s := v.Decimal()
		if int64(s) <= d {
			return v, nil
		}
		q := new(big.Int).Quo(u, pow10(s-int32(d)))
		return types.NewDecimal(rescale(q, int32(d), s), s), nil
	}
	if d >= 0 {
		return v, nil
	}
	p := pow10(int32(-d))
	q := new(big.Int).Quo(big.NewInt(v.Int()), p)
	return sameInt(v, q.Mul(q, p).Int64()), nil
}

// Earth's radius in the units GEO_DISTANCE gives, ksqlDB's values.
const (
	earthRadiusKM    = 6371
	earthRadiusMiles = 3959
)

// geoDistance is GEO_DISTANCE: the haversine great-circle distance.
// NULL coordinates give NULL; a NULL or blank unit is kilometers.
func geoDistance(a []types.Value) (types.Value, error) {
	for _, v := range a[:4] {
		if v.IsNull() {
			return null, nil
		}
	}
	lat1, lon1, lat2, lon2 := a[0].AsFloat(), a[1].AsFloat(), a[2].AsFloat(), a[3].AsFloat()
	if lat1 < -90 || lat2 < -90 || lat1 > 90 || lat2 > 90 {
		return null, errorf(ErrInvalidArgument, "valid latitude values for GeoDistance function are in the range of -90 to 90 decimal degrees")
	}
	if lon1 < -180 || lon2 < -180 || lon1 > 180 || lon2 > 180 {
		return null, errorf(ErrInvalidArgument, "valid longitude values for GeoDistance function are in the range of -180 to +180 decimal degrees")
	}
	radius := float64(earthRadiusKM)
	if len(a) > 4 && !a[4].IsNull() {
		switch unit := strings.ToLower(strings.TrimSpace(a[4].Str())); unit {
		case "":
		case "mi", "mile", "miles":
			radius = earthRadiusMiles
		case "km", "kilometer", "kilometers", "kilometre", "kilometres":
		default:
			return null, errorf(ErrInvalidArgument, "GeoDistance function units parameter must be one of mi, mile, miles, km, kilometer, kilometers, kilometre or kilometres. Values are case-insensitive.")
		}
	}
	rad := func(deg float64) float64 { return deg * (math.Pi / 180) } // Java's Math.toRadians
	hav := func(x float64) float64 { s := math.Sin(x / 2); return s * s }
	h := hav(rad(lat2-lat1)) + hav(rad(lon2-lon1))*math.Cos(rad(lat1))*math.Cos(rad(lat2))
	return dbl(2 * math.Asin(math.Sqrt(h)) * radius), nil
}
