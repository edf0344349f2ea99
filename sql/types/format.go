package types

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Text rendering and parsing of values and type names.
//
// Format renders values the way ksqlDB's CLI and REST API print them, so
// that the text a client sees (and CAST(x AS STRING)) matches ksqlDB:
//
//	BOOLEAN    true / false
//	DOUBLE     Java's Double.toString: 1.0, 0.001, 1.0E7, 1.5E-4, NaN, Infinity
//	DECIMAL    plain digits with exactly the value's scale: 1.50, -0.07
//	TIMESTAMP  ISO-8601 in UTC with milliseconds: 2026-11-23T10:00:00.000
//	DATE       2026-11-23
//	TIME       10:00:00 (10:00:00.250 when it has milliseconds)
//	BYTES      base64, as ksqlDB prints BYTES
//	ARRAY      [1, 2, null]
//	MAP        {a=1, b=2}
//	STRUCT     Struct{A=1,B=x} (Kafka Connect's Struct.toString: no
//	           spaces, NULL fields left out)
//
// NULL renders as "null" inside containers and as "" at the top level: a
// top-level NULL is the caller's to represent (pgwire sends it as a null,
// not as text).

// Format renders v, a value of type t, as text. t is used only for what
// the value does not carry (nested element types); a NULL value yields "".
func Format(v Value, t Type) string {
	if v.IsNull() {
		return ""
	}
	var b strings.Builder
	appendValue(&b, v, t, false)
	return b.String()
}

func appendValue(b *strings.Builder, v Value, t Type, nested bool) {
	if v.IsNull() {
		if nested {
			b.WriteString("null")
		}
		return
	}
	switch v.Kind() {
	case KindBoolean:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case KindInt, KindBigint:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case KindDouble:
		b.WriteString(FormatDouble(v.Float()))
	case KindDecimal:
		b.Write(AppendDecimalValue(nil, v))
	case KindString:
		b.WriteString(v.Str())
	case KindBytes:
		b.WriteString(encodeBase64(v.Str()))
	case KindTimestamp:
		b.WriteString(FormatTimestamp(v.Int()))
	case KindDate:
		b.WriteString(FormatDate(v.Int()))
	case KindTime:
		b.WriteString(FormatTime(v.Int()))
	case KindArray:
		elem := elemOf(t)
		b.WriteByte('[')
		for i, e := range v.List() {
			if i > 0 {
				b.WriteString(", ")
			}
			appendValue(b, e, elem, true)
		}
		b.WriteByte(']')
	case KindMap:
		key, elem := keyOf(t), elemOf(t)
		b.WriteByte('{')
		for i := 0; i < v.MapLen(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			k, e := v.MapEntry(i)
			appendValue(b, k, key, true)
			b.WriteByte('=')
			appendValue(b, e, elem, true)
		}
		b.WriteByte('}')
	case KindStruct:
		// Kafka Connect's Struct.toString, which ksqlDB's CAST AS
		// STRING gives: NULL fields are left out.
		b.WriteString("Struct{")
		first := true
		for i, e := range v.List() {
			if e.IsNull() {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			ft := Null
			if i < len(t.Fields) {
				b.WriteString(t.Fields[i].Name)
				ft = t.Fields[i].Type
			} else {
				b.WriteString(strconv.Itoa(i))
			}
			b.WriteByte('=')
			appendValue(b, e, ft, true)
		}
		b.WriteByte('}')
	}
}

// FormatLen is len(Format(v, t)), computed without building the text, so
// that a caller can refuse a text over a limit before it exists.
func FormatLen(v Value, t Type) int64 {
	return formatLen(v, t, false)
}

func formatLen(v Value, t Type, nested bool) int64 {
	if v.IsNull() {
		if nested {
			return int64(len("null"))
		}
		return 0
	}
	switch v.Kind() {
	case KindBoolean:
		return int64(len(strconv.FormatBool(v.Bool())))
	case KindInt, KindBigint:
		var buf [24]byte
		return int64(len(strconv.AppendInt(buf[:0], v.Int(), 10)))
	case KindDouble:
		return int64(len(FormatDouble(v.Float())))
	case KindDecimal:
		var buf [32]byte
		return int64(len(AppendDecimalValue(buf[:0], v)))
	case KindString:
		return int64(len(v.Str()))
	case KindBytes:
		return int64(base64.StdEncoding.EncodedLen(len(v.Str())))
	case KindTimestamp:
		return int64(len(FormatTimestamp(v.Int())))
	case KindDate:
		return int64(len(FormatDate(v.Int())))
	case KindTime:
		return int64(len(FormatTime(v.Int())))
	case KindArray:
		elem := elemOf(t)
		n := int64(2) // [ ]
		for i, e := range v.List() {
			if i > 0 {
				n += 2
			}
			n += formatLen(e, elem, true)
		}
		return n
	case KindMap:
		key, elem := keyOf(t), elemOf(t)
		n := int64(2)
		for i := 0; i < v.MapLen(); i++ {
			if i > 0 {
				n += 2
			}
			k, e := v.MapEntry(i)
			n += formatLen(k, key, true) + 1 + formatLen(e, elem, true)
		}
		return n
	case KindStruct:
		n := int64(len("Struct{}"))
		first := true
		for i, e := range v.List() {
			if e.IsNull() {
				continue
			}
			if !first {
				n++
			}
			first = false
			ft := Null
			if i < len(t.Fields) {
				n += int64(len(t.Fields[i].Name))
				ft = t.Fields[i].Type
			} else {
				n += int64(len(strconv.Itoa(i)))
			}
			n += 1 + formatLen(e, ft, true)
		}
		return n
	}
	return 0
}

func elemOf(t Type) Type {
	if t.Elem != nil {
		return *t.Elem
	}
	return Null
}

func keyOf(t Type) Type {
	if t.Key != nil {
		return *t.Key
	}
	return Null
}

// FormatDouble renders f as Java's Double.toString does; see AppendDouble.
func FormatDouble(f float64) string {
	var buf [32]byte
	return string(AppendDouble(buf[:0], f))
}

// AppendDouble appends f as Java's Double.toString writes it (and so
// Jackson, and so ksqlDB's JSON, DELIMITED and CLI output): the shortest
// decimal that reads back to f, in plain notation with at least one
// fractional digit for 10^-3 <= |f| < 10^7 ("1.0", "0.001", "1234567.0")
// and in computerized scientific notation otherwise ("1.0E7", "1.0E-4",
// "1.234E-5"); "NaN", "Infinity", "-Infinity", "0.0" and "-0.0".
//
// Where one digit would do, Java (JDK 19 and later, and earlier JDKs in
// effect) picks among the decimals of one or two digits that read back to
// f the one closest to f, so Double.MIN_VALUE is "4.9E-324", not the
// shortest "5.0E-324"; 1.0E23 stays "1.0E23".
func AppendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d[.ddd]e±XX
	if e[1] == 'e' && f < 0x1p-1022 {
		// One digit reads back: the two-digit decimal nearest f may be
		// closer. Only a subnormal is far enough from its one-digit form
		// for that (a normal double is within 2^-53 of it, far less than
		// the 10^-1 between two-digit decimals), so only a subnormal pays
		// for the check.
		var tmp2 [32]byte
		e2 := strconv.AppendFloat(tmp2[:0], f, 'e', 1, 64) // d.de±XX
		if e2[2] != '0' {
			if g, err := strconv.ParseFloat(string(e2), 64); err == nil && g == f {
				e = append(tmp[:0], e2...)
			}
		}
	}
	epos := 0
	for e[epos] != 'e' {
		epos++
	}
	var digs [24]byte
	digits := digs[:0]
	for _, c := range e[:epos] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	exp := 0
	for _, c := range e[epos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[epos+1] == '-' {
		exp = -exp
	}
	// f = d1.d2d3... × 10^exp.
	if exp >= -3 && exp < 7 {
		if exp < 0 {
			dst = append(dst, '0', '.')
			for i := 0; i < -exp-1; i++ {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
		intLen := exp + 1
		if len(digits) <= intLen {
			dst = append(dst, digits...)
			for i := len(digits); i < intLen; i++ {
				dst = append(dst, '0')
			}
			return append(dst, '.', '0')
		}
		dst = append(dst, digits[:intLen]...)
		dst = append(dst, '.')
		return append(dst, digits[intLen:]...)
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// AppendDecimalValue is AppendDecimal of a DECIMAL value, without a
// big.Int when its unscaled value fits an int64 (a value that DECIMAL
// arithmetic built with NewDecimal64 has none).
func AppendDecimalValue(dst []byte, v Value) []byte {
	if u, s, ok := v.Decimal64(); ok {
		return AppendDecimal64(dst, u, s)
	}
	u, s := v.Decimal()
	return AppendDecimal(dst, u, s)
}

// FormatDecimal renders unscaled × 10^-scale; see AppendDecimal.
func FormatDecimal(unscaled *big.Int, scale int32) string {
	return string(AppendDecimal(nil, unscaled, scale))
}

// AppendDecimal appends unscaled × 10^-scale in plain notation with
// exactly scale fractional digits ("1.50", "-0.05", "12"), as Java's
// BigDecimal.toPlainString writes it and ksqlDB shows a DECIMAL. A
// negative scale appends zeros ("1200" for 12 at scale -2); a nil
// unscaled is 0.
func AppendDecimal(dst []byte, unscaled *big.Int, scale int32) []byte {
	if unscaled == nil {
		unscaled = new(big.Int)
	}
	if unscaled.IsInt64() {
		return AppendDecimal64(dst, unscaled.Int64(), scale)
	}
	if unscaled.Sign() < 0 {
		dst = append(dst, '-')
	}
	return appendPlain(dst, new(big.Int).Abs(unscaled).Append(nil, 10), scale)
}

// AppendDecimal64 is AppendDecimal of an unscaled value that fits an
// int64 (a DECIMAL's Decimal64), without math/big.
func AppendDecimal64(dst []byte, unscaled int64, scale int32) []byte {
	m := uint64(unscaled)
	if unscaled < 0 {
		dst = append(dst, '-')
		m = -m // MinInt64's magnitude, 2^63, is right as a uint64
	}
	var tmp [24]byte
	return appendPlain(dst, strconv.AppendUint(tmp[:0], m, 10), scale)
}

// appendPlain appends the decimal digits of a magnitude (without a sign)
// with scale fractional digits.
func appendPlain(dst, digits []byte, scale int32) []byte {
	if scale <= 0 {
		dst = append(dst, digits...)
		if len(digits) != 1 || digits[0] != '0' {
			for i := int32(0); i < -scale; i++ {
				dst = append(dst, '0')
			}
		}
		return dst
	}
	sc := int(scale)
	if len(digits) <= sc {
		dst = append(dst, '0', '.')
		for i := len(digits); i < sc; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-sc]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-sc:]...)
}

// FormatTimestamp renders ms since the epoch as ISO-8601 in UTC with
// milliseconds, e.g. "2026-11-23T10:00:00.000".
func FormatTimestamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000")
}

// FormatDate renders days since the epoch as "2026-11-23".
func FormatDate(days int64) string {
	return time.Unix(days*86400, 0).UTC().Format("2006-01-02")
}

// FormatTime renders ms since midnight as "10:00:00", or "10:00:00.250"
// when there are milliseconds.
func FormatTime(ms int64) string {
	h, m, s, frac := ms/3600000, ms/60000%60, ms/1000%60, ms%1000
	if frac != 0 {
		return fmt.Sprintf("%02d:%02d:%02d.%03d", h, m, s, frac)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

// errBadTime is wrapped by the parse errors of ParseTimestamp, ParseDate
// and ParseTime.
var errBadTime = errors.New("invalid date/time text")

// ParseTimestamp parses the ISO-8601 forms ksqlDB accepts for TIMESTAMP
// literals and comparisons, returning ms since the epoch:
//
//	2026-11-23                     midnight
//	2026-11-23T10                  partial times are padded with zeros
//	2026-11-23T10:15
//	2026-11-23T10:15:30
//	2026-11-23T10:15:30.123        1 to 9 fractional digits (truncated to ms)
//	... followed by Z, +01:00, +0100 or +01 for an offset (UTC when absent)
//
// A space may replace the T. Year-only and year-month forms ("2026",
// "2026-11") are accepted too, as ksqlDB accepts them.
func ParseTimestamp(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := func() (int64, error) {
		return 0, fmt.Errorf("%w: %q is not an ISO-8601 timestamp", errBadTime, orig)
	}
	year, rest, ok := digitsN(s, 4)
	if !ok {
		return bad()
	}
	month, day := 1, 1
	if strings.HasPrefix(rest, "-") {
		if month, rest, ok = digitsN(rest[1:], 2); !ok {
			return bad()
		}
		if strings.HasPrefix(rest, "-") {
			if day, rest, ok = digitsN(rest[1:], 2); !ok {
				return bad()
			}
		}
	}
	var hh, mm, ss, nanos int
	if len(rest) > 0 && (rest[0] == 'T' || rest[0] == ' ') {
		if hh, rest, ok = digitsN(rest[1:], 2); !ok {
			return bad()
		}
		if strings.HasPrefix(rest, ":") {
			if mm, rest, ok = digitsN(rest[1:], 2); !ok {
				return bad()
			}
			if strings.HasPrefix(rest, ":") {
				if ss, rest, ok = digitsN(rest[1:], 2); !ok {
					return bad()
				}
				if strings.HasPrefix(rest, ".") {
					rest = rest[1:]
					n := 0
					for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
						n++
					}
					if n == 0 || n > 9 {
						return bad()
					}
					frac := rest[:n] + strings.Repeat("0", 9-n)
					nanos, _ = strconv.Atoi(frac)
					rest = rest[n:]
				}
			}
		}
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z" || rest == "z":
	case rest[0] == '+' || rest[0] == '-':
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		oh, r, ok := digitsN(rest[1:], 2)
		if !ok {
			return bad()
		}
		om := 0
		r = strings.TrimPrefix(r, ":")
		if r != "" {
			if om, r, ok = digitsN(r, 2); !ok || r != "" {
				return bad()
			}
		}
		offset = sign * (oh*3600 + om*60)
	default:
		return bad()
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 59 {
		return bad()
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, nanos, time.UTC)
	if t.Day() != day {
		return bad() // e.g. February 30th
	}
	return t.UnixMilli() - int64(offset)*1000, nil
}

// ParseDate parses "2026-11-23" into days since the epoch.
func ParseDate(s string) (int64, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a date (yyyy-MM-dd)", errBadTime, s)
	}
	return floorDiv(t.Unix(), 86400), nil
}

// ParseTime parses "10:15", "10:15:30" or "10:15:30.123" into ms since
// midnight.
func ParseTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%w: %q is not a time (HH:mm:ss)", errBadTime, s)
	hh, rest, ok := digitsN(s, 2)
	if !ok || !strings.HasPrefix(rest, ":") {
		return 0, bad
	}
	mm, rest, ok := digitsN(rest[1:], 2)
	if !ok {
		return 0, bad
	}
	ss, ms := 0, 0
	if strings.HasPrefix(rest, ":") {
		if ss, rest, ok = digitsN(rest[1:], 2); !ok {
			return 0, bad
		}
		if strings.HasPrefix(rest, ".") {
			f := rest[1:]
			if f == "" || len(f) > 9 {
				return 0, bad
			}
			for _, c := range f {
				if c < '0' || c > '9' {
					return 0, bad
				}
			}
			f = (f + "00")[:3]
			ms, _ = strconv.Atoi(f)
			rest = ""
		}
	}
	if rest != "" || hh > 23 || mm > 59 || ss > 59 {
		return 0, bad
	}
	return int64(hh)*3600000 + int64(mm)*60000 + int64(ss)*1000 + int64(ms), nil
}

// IsTimeTextError reports whether err came from ParseTimestamp, ParseDate
// or ParseTime rejecting its input.
func IsTimeTextError(err error) bool { return errors.Is(err, errBadTime) }

func digitsN(s string, n int) (int, string, bool) {
	if len(s) < n {
		return 0, s, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, s, false
		}
		v = v*10 + int(c-'0')
	}
	return v, s[n:], true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
