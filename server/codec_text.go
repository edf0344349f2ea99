package server

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/runnel/runnel/sql/types"
)

const (
	msPerDay = 86_400_000
	// pgEpochDays is 2000-01-01, PostgreSQL's epoch, in days since 1970.
	pgEpochDays = 10_957
)

// AppendText appends the PostgreSQL text form of v, a value of a column of
// type t, to dst. NULL has no text form: callers send it as a NULL field.
func AppendText(dst []byte, t types.Type, v types.Value) ([]byte, error) {
	v, err := coerce(v, t)
	if err != nil {
		return dst, err
	}
	switch v.Kind() {
	case types.KindNull:
		return dst, nil
	case types.KindBoolean:
		if v.Bool() {
			return append(dst, 't'), nil
		}
		return append(dst, 'f'), nil
	case types.KindInt, types.KindBigint:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case types.KindDouble:
		return appendFloat(dst, v.Float()), nil
	case types.KindDecimal:
		return types.AppendDecimalValue(dst, v), nil
	case types.KindString:
		return append(dst, v.Str()...), nil
	case types.KindBytes:
		dst = append(dst, `\x`...)
		return hex.AppendEncode(dst, []byte(v.Str())), nil
	case types.KindTimestamp:
		return appendTimestamp(dst, v.Int()), nil
	case types.KindDate:
		return appendDate(dst, v.Int()), nil
	case types.KindTime:
		return appendTime(dst, v.Int()), nil
	case types.KindArray, types.KindMap, types.KindStruct:
		return appendJSON(dst, t, v), nil
	}
	return dst, valueError(ErrCannotEncode, "unknown kind %s", v.Kind())
}

// appendFloat writes f as PostgreSQL 12+ does: the shortest text that
// reads back exactly, in fixed notation when the decimal exponent is in
// [-4, 15), else in exponent notation with at least two exponent digits.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Log10 can be off by one near powers of ten; the 'e' form is exact.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if i := strings.IndexByte(e, 'e'); i >= 0 {
		if x, err := strconv.Atoi(e[i+1:]); err == nil {
			exp = x
		}
	}
	if exp >= -4 && exp < 15 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return append(dst, e...)
}

// splitYear maps a proleptic Gregorian year to PostgreSQL's display: years
// before 1 are shown as 1-y with a " BC" suffix (the caller appends it).
func splitYear(y int) (int, bool) {
	if y <= 0 {
		return 1 - y, true
	}
	return y, false
}

func appendTimestamp(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	y, bc := splitYear(t.Year())
	dst = fmt.Appendf(dst, "%04d-%02d-%02d %02d:%02d:%02d", y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second())
	dst = appendMillis(dst, int(t.Nanosecond()/1e6))
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}

func appendDate(dst []byte, days int64) []byte {
	t := time.UnixMilli(days * msPerDay).UTC()
	y, bc := splitYear(t.Year())
	dst = fmt.Appendf(dst, "%04d-%02d-%02d", y, t.Month(), t.Day())
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}

func appendTime(dst []byte, ms int64) []byte {
	ms = ((ms % msPerDay) + msPerDay) % msPerDay
	dst = fmt.Appendf(dst, "%02d:%02d:%02d", ms/3_600_000, ms/60_000%60, ms/1000%60)
	return appendMillis(dst, int(ms%1000))
}

// appendMillis writes ".fff" without trailing zeros, or nothing for 0.
func appendMillis(dst []byte, ms int) []byte {
	if ms == 0 {
		return dst
	}
	s := fmt.Sprintf(".%03d", ms)
	return append(dst, strings.TrimRight(s, "0")...)
}

// ParseText reads the PostgreSQL text form of a value of type t. A t of
// KindNull (a parameter whose type the engine could not infer) reads the
// text as a STRING.
func ParseText(t types.Type, src []byte) (types.Value, error) {
	s := string(src)
	switch t.Kind {
	case types.KindNull, types.KindString:
		return types.NewString(s), nil
	case types.KindBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "y", "yes", "on", "1":
			return types.NewBoolean(true), nil
		case "f", "false", "n", "no", "off", "0":
			return types.NewBoolean(false), nil
		}
	case types.KindInt:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err == nil {
			return types.NewInt(int32(i)), nil
		}
		if isRange(err) {
			return types.Value{}, valueError(ErrOutOfRange, "value %q is out of range for type integer", s)
		}
	case types.KindBigint:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err == nil {
			return types.NewBigint(i), nil
		}
		if isRange(err) {
			return types.Value{}, valueError(ErrOutOfRange, "value %q is out of range for type bigint", s)
		}
	case types.KindDouble:
		if f, ok := parseFloat(s); ok {
			return types.NewDouble(f), nil
		}
	case types.KindDecimal:
		r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if ok {
			return decimalFromRat(r, t, decimalScale(s))
		}
	case types.KindBytes:
		if strings.HasPrefix(s, `\x`) {
			b, err := hex.DecodeString(s[2:])
			if err == nil {
				return types.NewBytes(b), nil
			}
		} else {
			return types.NewBytes(src), nil
		}
	case types.KindTimestamp:
		if ms, ok := parseTimestamp(s); ok {
			return types.NewTimestamp(ms), nil
		}
	case types.KindDate:
		d := strings.TrimSpace(s)
		bc := strings.HasSuffix(d, " BC")
		if tm, err := time.Parse("2006-01-02", strings.TrimSuffix(d, " BC")); err == nil {
			if bc {
				tm = tm.AddDate(1-2*tm.Year(), 0, 0)
			}
			return types.NewDate(floorDiv(tm.Unix(), 86400)), nil
		}
	case types.KindTime:
		if ms, ok := parseTime(s); ok {
			return types.NewTime(ms), nil
		}
	case types.KindArray, types.KindMap, types.KindStruct:
		return parseJSON(t, src)
	}
	return types.Value{}, valueError(ErrInvalidText, "invalid input syntax for type %s: %q", t, s)
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func parseFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "nan":
		return math.NaN(), true
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), true
	case "-infinity", "-inf":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// decimalScale is the number of digits after the point in a decimal
// literal (0 for exponent forms that have none).
func decimalScale(s string) int {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "eE") {
		return 0
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// decimalFromRat builds a DECIMAL of type t from r: at t's scale when t
// declares a precision, else at the given natural scale (rounding half
// away from zero).
func decimalFromRat(r *big.Rat, t types.Type, natural int) (types.Value, error) {
	scale := natural
	if t.Precision > 0 {
		scale = t.Scale
	}
	num := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		// Round half away from zero: compare 2|m| with the denominator.
		if new(big.Int).Abs(new(big.Int).Lsh(m, 1)).Cmp(r.Denom()) >= 0 {
			if num.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	if t.Precision > 0 && len(new(big.Int).Abs(q).String()) > t.Precision {
		return types.Value{}, valueError(ErrOutOfRange, "numeric field overflow for %s", t)
	}
	return types.NewDecimal(q, int32(scale)), nil
}

var timestampLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTimestamp reads a timestamp, with or without a zone (a zone shifts
// it to UTC), into ms since the epoch.
func parseTimestamp(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	bc := strings.HasSuffix(s, " BC")
	s = strings.TrimSuffix(s, " BC")
	for _, l := range timestampLayouts {
		if tm, err := time.Parse(l, s); err == nil {
			if bc {
				tm = tm.AddDate(1-2*tm.Year(), 0, 0)
			}
			return tm.UnixMilli(), true
		}
	}
	return 0, false
}

func parseTime(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"15:04:05.999999999", "15:04"} {
		if tm, err := time.Parse(l, s); err == nil {
			return int64(tm.Hour())*3_600_000 + int64(tm.Minute())*60_000 +
				int64(tm.Second())*1000 + int64(tm.Nanosecond()/1e6), true
		}
	}
	if s == "24:00:00" {
		return msPerDay, true
	}
	return 0, false
}

// coerce converts v to the kind of type t where the conversion is exact or
// numeric widening/narrowing in range; a NULL or a t of KindNull passes
// unchanged.
func coerce(v types.Value, t types.Type) (types.Value, error) {
	if v.IsNull() || t.Kind == types.KindNull || v.Kind() == t.Kind {
		return v, nil
	}
	switch t.Kind {
	case types.KindInt, types.KindBigint:
		var i int64
		switch v.Kind() {
		case types.KindInt, types.KindBigint:
			i = v.Int()
		case types.KindDecimal:
			r := v.AsRat()
			if !r.IsInt() || !r.Num().IsInt64() {
				return v, valueError(ErrOutOfRange, "%s is not an integer", r.FloatString(6))
			}
			i = r.Num().Int64()
		case types.KindDouble:
			f := v.Float()
			if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
				return v, valueError(ErrOutOfRange, "%v is not an integer", f)
			}
			i = int64(f)
		default:
			return v, valueError(ErrCannotEncode, "%s value as %s", v.Kind(), t)
		}
		if t.Kind == types.KindInt {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return v, valueError(ErrOutOfRange, "integer out of range: %d", i)
			}
			return types.NewInt(int32(i)), nil
		}
		return types.NewBigint(i), nil
	case types.KindDouble:
		switch v.Kind() {
		case types.KindInt, types.KindBigint, types.KindDecimal:
			return types.NewDouble(v.AsFloat()), nil
		}
	case types.KindDecimal:
		switch v.Kind() {
		case types.KindInt, types.KindBigint:
			return types.NewDecimal(big.NewInt(v.Int()), 0), nil
		case types.KindDouble:
			f := v.Float()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return v, valueError(ErrOutOfRange, "%v cannot be a DECIMAL", f)
			}
			s := strconv.FormatFloat(f, 'f', -1, 64)
			r, _ := new(big.Rat).SetString(s)
			return decimalFromRat(r, t, decimalScale(s))
		}
	case types.KindString:
		b, err := AppendText(nil, types.Type{Kind: v.Kind()}, v)
		if err != nil {
			return v, err
		}
		return types.NewString(string(b)), nil
	case types.KindTimestamp:
		if v.Kind() == types.KindDate {
			return types.NewTimestamp(v.Int() * msPerDay), nil
		}
	case types.KindArray, types.KindMap, types.KindStruct:
		if v.Kind() == types.KindString {
			return parseJSON(t, []byte(v.Str()))
		}
	}
	return v, valueError(ErrCannotEncode, "%s value as %s", v.Kind(), t)
}
