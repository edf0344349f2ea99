package server

import (
	"encoding/binary"
	"math"
	"math/big"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// AppendBinary appends the PostgreSQL binary form of v, a value of a column
// of type t (sent as OID(t)), to dst. json (ARRAY, MAP, STRUCT) has no
// separate binary form: it is the text.
func AppendBinary(dst []byte, t types.Type, v types.Value) ([]byte, error) {
	if t.Kind == types.KindNull {
		// Sent as text, whose binary form is the text itself.
		return AppendText(dst, t, v)
	}
	v, err := coerce(v, t)
	if err != nil {
		return dst, err
	}
	switch v.Kind() {
	case types.KindNull:
		return dst, nil
	case types.KindBoolean:
		if v.Bool() {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case types.KindInt:
		return binary.BigEndian.AppendUint32(dst, uint32(int32(v.Int()))), nil
	case types.KindBigint:
		return binary.BigEndian.AppendUint64(dst, uint64(v.Int())), nil
	case types.KindDouble:
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(v.Float())), nil
	case types.KindDecimal:
		u, s := v.Decimal()
		return appendNumeric(dst, u, s), nil
	case types.KindString, types.KindBytes:
		return append(dst, v.Str()...), nil
	case types.KindTimestamp:
		us := v.Int()*1000 - pgEpochDays*msPerDay*1000
		return binary.BigEndian.AppendUint64(dst, uint64(us)), nil
	case types.KindDate:
		return binary.BigEndian.AppendUint32(dst, uint32(int32(v.Int()-pgEpochDays))), nil
	case types.KindTime:
		return binary.BigEndian.AppendUint64(dst, uint64(v.Int()*1000)), nil
	case types.KindArray, types.KindMap, types.KindStruct:
		return appendJSON(dst, t, v), nil
	}
	return dst, valueError(ErrCannotEncode, "unknown kind %s", v.Kind())
}

// Numeric's binary form: ndigits, weight, sign, dscale (int16 each), then
// ndigits base-10000 digits, the first of weight 10000^weight.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

func appendNumeric(dst []byte, unscaled *big.Int, scale int32) []byte {
	if unscaled == nil {
		unscaled = new(big.Int)
	}
	if scale < 0 {
		unscaled = new(big.Int).Mul(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil))
		scale = 0
	}
	sign := uint16(numericPos)
	if unscaled.Sign() < 0 {
		sign = numericNeg
	}
	digits := new(big.Int).Abs(unscaled).String()
	if pad := int(scale) + 1 - len(digits); pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	intPart, frac := digits[:len(digits)-int(scale)], digits[len(digits)-int(scale):]
	// Align the integer part left and the fraction right on groups of 4.
	if r := len(intPart) % 4; r != 0 {
		intPart = strings.Repeat("0", 4-r) + intPart
	}
	if r := len(frac) % 4; r != 0 {
		frac += strings.Repeat("0", 4-r)
	}
	all := intPart + frac
	groups := make([]uint16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		g := 0
		for _, c := range all[i : i+4] {
			g = g*10 + int(c-'0')
		}
		groups = append(groups, uint16(g))
	}
	weight := len(intPart)/4 - 1
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	if len(groups) == 0 {
		weight = 0
		sign = numericPos
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(groups)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sign)
	dst = binary.BigEndian.AppendUint16(dst, uint16(scale))
	for _, g := range groups {
		dst = binary.BigEndian.AppendUint16(dst, g)
	}
	return dst
}

// parseNumeric reads numeric's binary form as a DECIMAL at its dscale, or
// a DOUBLE for NaN and the infinities.
func parseNumeric(src []byte) (types.Value, error) {
	if len(src) < 8 {
		return types.Value{}, valueError(ErrInvalidBinary, "numeric of %d bytes", len(src))
	}
	n := int(binary.BigEndian.Uint16(src))
	weight := int(int16(binary.BigEndian.Uint16(src[2:])))
	sign := binary.BigEndian.Uint16(src[4:])
	dscale := int(binary.BigEndian.Uint16(src[6:]))
	switch sign {
	case numericNaN:
		return types.NewDouble(math.NaN()), nil
	case numericPInf:
		return types.NewDouble(math.Inf(1)), nil
	case numericNInf:
		return types.NewDouble(math.Inf(-1)), nil
	case numericPos, numericNeg:
	default:
		return types.Value{}, valueError(ErrInvalidBinary, "numeric sign %#x", sign)
	}
	if len(src) != 8+2*n || dscale > 0x3FFF {
		return types.Value{}, valueError(ErrInvalidBinary, "numeric of %d bytes with %d digits", len(src), n)
	}
	acc := new(big.Int)
	tenK := big.NewInt(10000)
	for i := range n {
		d := binary.BigEndian.Uint16(src[8+2*i:])
		if d >= 10000 {
			return types.Value{}, valueError(ErrInvalidBinary, "numeric digit %d", d)
		}
		acc.Mul(acc, tenK).Add(acc, big.NewInt(int64(d)))
	}
	// acc is the value × 10000^(n-1-weight); scale it to 10^dscale.
	e := 4*(weight-n+1) + dscale
	if e > 4*0x7FFF || e < -4*0x7FFF {
		return types.Value{}, valueError(ErrOutOfRange, "numeric exponent %d", e)
	}
	if e >= 0 {
		acc.Mul(acc, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
	} else {
		acc.Quo(acc, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-e)), nil))
	}
	if sign == numericNeg {
		acc.Neg(acc)
	}
	return types.NewDecimal(acc, int32(dscale)), nil
}

// ParseBinary reads a parameter sent in binary form as type oid (what the
// client declared, or OID(t) when it declared nothing) and converts it to
// type t.
func ParseBinary(oid uint32, t types.Type, src []byte) (types.Value, error) {
	fixed := func(n int) error {
		if len(src) != n {
			return valueError(ErrInvalidBinary, "%d bytes for a value of type oid %d", len(src), oid)
		}
		return nil
	}
	var v types.Value
	switch oid {
	case oidBool:
		if err := fixed(1); err != nil {
			return v, err
		}
		v = types.NewBoolean(src[0] != 0)
	case oidInt2:
		if err := fixed(2); err != nil {
			return v, err
		}
		v = types.NewInt(int32(int16(binary.BigEndian.Uint16(src))))
	case oidInt4:
		if err := fixed(4); err != nil {
			return v, err
		}
		v = types.NewInt(int32(binary.BigEndian.Uint32(src)))
	case oidInt8:
		if err := fixed(8); err != nil {
			return v, err
		}
		v = types.NewBigint(int64(binary.BigEndian.Uint64(src)))
	case oidFloat4:
		if err := fixed(4); err != nil {
			return v, err
		}
		v = types.NewDouble(float64(math.Float32frombits(binary.BigEndian.Uint32(src))))
	case oidFloat8:
		if err := fixed(8); err != nil {
			return v, err
		}
		v = types.NewDouble(math.Float64frombits(binary.BigEndian.Uint64(src)))
	case oidNumeric:
		var err error
		if v, err = parseNumeric(src); err != nil {
			return v, err
		}
	case oidBytea:
		v = types.NewBytes(src)
	case oidTimestamp, oidTimestamptz:
		if err := fixed(8); err != nil {
			return v, err
		}
		us := int64(binary.BigEndian.Uint64(src))
		v = types.NewTimestamp(floorDiv(us, 1000) + pgEpochDays*msPerDay)
	case oidDate:
		if err := fixed(4); err != nil {
			return v, err
		}
		v = types.NewDate(int64(int32(binary.BigEndian.Uint32(src))) + pgEpochDays)
	case oidTime:
		if err := fixed(8); err != nil {
			return v, err
		}
		v = types.NewTime(int64(binary.BigEndian.Uint64(src)) / 1000)
	case oidJSONB:
		if len(src) == 0 || src[0] != 1 {
			return v, valueError(ErrInvalidBinary, "jsonb version")
		}
		return ParseText(t, src[1:])
	default:
		// text, varchar, name, json, unknown and anything else: the bytes
		// are the text form.
		return ParseText(t, src)
	}
	if t.Kind == types.KindString && v.Kind() == types.KindBytes {
		return types.NewString(v.Str()), nil
	}
	if t.Kind == types.KindDecimal && v.Kind() == types.KindDecimal && t.Precision > 0 {
		return decimalFromRat(v.AsRat(), t, t.Scale)
	}
	out, err := coerce(v, t)
	if err != nil {
		return out, valueError(ErrInvalidBinary, "%v", err)
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// DecodeParam reads one Bind parameter: format 0 is text, 1 binary; oid is
// the type the client declared in Parse (0 for none); t is the type the
// statement expects. A nil src is NULL.
func DecodeParam(oid uint32, format int16, t types.Type, src []byte) (types.Value, error) {
	if src == nil {
		return types.NullValue, nil
	}
	switch format {
	case 0:
		if t.Kind == types.KindNull && oid != 0 {
			t = typeForOID(oid)
		}
		return ParseText(t, src)
	case 1:
		if oid == 0 || oid == oidUnknown {
			oid = OID(t)
		}
		return ParseBinary(oid, t, src)
	}
	return types.Value{}, valueError(ErrProtocolViolation, "unknown format code %d", format)
}

// typeForOID is the Runnel type a client-declared OID stands for, used
// when the statement does not know a parameter's type.
func typeForOID(oid uint32) types.Type {
	switch oid {
	case oidBool:
		return types.Boolean
	case oidInt2, oidInt4:
		return types.Int
	case oidInt8:
		return types.Bigint
	case oidFloat4, oidFloat8:
		return types.Double
	case oidNumeric:
		return types.Type{Kind: types.KindDecimal}
	case oidBytea:
		return types.Bytes
	case oidTimestamp, oidTimestamptz:
		return types.Timestamp
	case oidDate:
		return types.Date
	case oidTime:
		return types.Time
	}
	return types.String
}
