package serde

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// decimalText is a number parsed exactly from text: the value is
// ±digits × 10^exp, digits without leading or trailing zeros ("" for 0).
type decimalText struct {
	neg    bool
	digits string
	exp    int64
}

// maxExp bounds exponents so that "1e999999999" cannot make us build a
// billion-digit number; anything past it is out of every range we have.
const maxExp = 1 << 20

// parseDecimalText parses [+-]digits[.digits][(e|E)[+-]digits], with at
// least one digit in the mantissa. It never goes through float64.
func parseDecimalText(s string) (decimalText, bool) {
	var d decimalText
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart := s[intStart:i]
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac = s[fs:i]
	}
	if intPart == "" && frac == "" {
		return d, false
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if exp < 10*maxExp {
				exp = exp*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == es {
			return d, false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return d, false
	}
	// Mantissa digits intPart+frac with the point before frac.
	exp -= int64(len(frac))
	var digits string
	if frac == "" {
		digits = intPart
	} else {
		digits = intPart + frac
	}
	digits = strings.TrimLeft(digits, "0")
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if digits == "" {
		d.neg, exp = false, 0
	}
	d.digits, d.exp = digits, exp
	return d, true
}

// parseIntegral parses s as an integral number of bits bits: plain
// integers fast, and integral-valued forms like "5.0" or "5e2" exactly.
func parseIntegral(s string, bits int) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, bits); err == nil {
		return v, nil
	}
	d, ok := parseDecimalText(s)
	if !ok {
		return 0, failf("%q is not a number", s)
	}
	if d.digits == "" {
		return 0, nil
	}
	if d.exp < 0 {
		return 0, failf("%s is not an integer", s)
	}
	if int64(len(d.digits))+d.exp > 19 {
		return 0, failf("%s is out of range for a %d-bit integer", s, bits)
	}
	text := d.digits + strings.Repeat("0", int(d.exp))
	if d.neg {
		text = "-" + text
	}
	v, err := strconv.ParseInt(text, 10, bits)
	if err != nil {
		return 0, failf("%s is out of range for a %d-bit integer", s, bits)
	}
	return v, nil
}

// parseDouble parses s as a DOUBLE, accepting Java's spellings of the
// special values as ksqlDB does.
func parseDouble(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity", "+Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	if _, ok := parseDecimalText(s); !ok {
		return 0, failf("%q is not a number", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Only a range error is left: ParseFloat returns ±Inf or ±0, as
		// Java's Double.parseDouble does.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, failf("%q is not a number", s)
		}
	}
	return f, nil
}

// parseDecimal parses s exactly into DECIMAL(precision, scale): no
// rounding (a value with more fractional digits than scale is an error,
// as ksqlDB's DecimalUtil.ensureFit says) and at most precision digits.
func parseDecimal(s string, precision, scale int) (*big.Int, error) {
	d, ok := parseDecimalText(s)
	if !ok {
		return nil, failf("%q is not a number", s)
	}
	return d.fit(s, precision, scale)
}

func (d decimalText) fit(s string, precision, scale int) (*big.Int, error) {
	if d.digits == "" {
		return new(big.Int), nil
	}
	shift := d.exp + int64(scale) // unscaled = digits × 10^shift
	if shift < 0 {
		return nil, failf("cannot fit %s into DECIMAL(%d, %d) without rounding", s, precision, scale)
	}
	n := int64(len(d.digits)) + shift
	if (precision > 0 && n > int64(precision)) || n > maxExp {
		return nil, failf("%s does not fit DECIMAL(%d, %d)", s, precision, scale)
	}
	text := d.digits
	if shift > 0 {
		text += strings.Repeat("0", int(shift))
	}
	v, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return nil, failf("%q is not a number", s)
	}
	if d.neg {
		v.Neg(v)
	}
	return v, nil
}
