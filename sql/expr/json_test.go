package expr

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// toJSONModel converts a value to encoding/json's model: the oracle
// appendJSON must agree with.
func toJSONModel(v types.Value, t types.Type) any {
	switch v.Kind() {
	case types.KindNull:
		return nil
	case types.KindBoolean:
		return v.Bool()
	case types.KindInt, types.KindBigint:
		return v.Int()
	case types.KindDouble:
		return v.Float()
	case types.KindDecimal:
		u, s := v.Decimal()
		return json.Number(types.FormatDecimal(u, s))
	case types.KindString:
		return v.Str()
	case types.KindArray:
		out := make([]any, len(v.List()))
		for i, e := range v.List() {
			out[i] = toJSONModel(e, *t.Elem)
		}
		return out
	case types.KindStruct:
		m := map[string]any{}
		for i, e := range v.List() {
			m[t.Fields[i].Name] = toJSONModel(e, t.Fields[i].Type)
		}
		return m
	case types.KindMap:
		m := map[string]any{}
		for i := 0; i < v.MapLen(); i++ {
			k, e := v.MapEntry(i)
			m[types.Format(k, valueType(k))] = toJSONModel(e, *t.Elem)
		}
		return m
	}
	return types.Format(v, t)
}

func encodingJSON(v types.Value, t types.Type) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toJSONModel(v, t)); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestAppendJSONMatchesEncodingJSON: TO_JSON_STRING's bounded writer
// renders what encoding/json renders, for random values of every type.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "a", `q"uote`, `back\slash`, "\n\r\t\b\f\x00\x1f\x7f", "é\u2028\u2029", "\xff\xfe", "<&>", "日本"}
	var gen func(t types.Type, depth int) types.Value
	gen = func(t types.Type, depth int) types.Value {
		if rnd.IntN(8) == 0 {
			return types.Value{}
		}
		switch t.Kind {
		case types.KindBoolean:
			return types.NewBoolean(rnd.IntN(2) == 0)
		case types.KindBigint:
			return types.NewBigint(rnd.Int64() - rnd.Int64())
		case types.KindDouble:
			fs := []float64{0, math.Copysign(0, -1), 1, 1.5, 1e-7, 1e21, 123456789e-20, math.MaxFloat64, math.SmallestNonzeroFloat64, rnd.NormFloat64() * 1e10, math.NaN(), math.Inf(1)}
			return types.NewDouble(fs[rnd.IntN(len(fs))])
		case types.KindDecimal:
			return types.NewDecimal(big.NewInt(rnd.Int64N(1e12)-5e11), int32(t.Scale))
		case types.KindString:
			return types.NewString(strs[rnd.IntN(len(strs))] + strs[rnd.IntN(len(strs))])
		case types.KindBytes:
			return types.NewBytes([]byte(strs[rnd.IntN(len(strs))]))
		case types.KindTimestamp:
			return types.NewTimestamp(rnd.Int64N(1 << 42))
		case types.KindArray:
			l := make([]types.Value, rnd.IntN(4))
			for i := range l {
				l[i] = gen(*t.Elem, depth+1)
			}
			return types.NewArray(l)
		case types.KindMap:
			n := rnd.IntN(4)
			ks, vs := make([]types.Value, n), make([]types.Value, n)
			for i := range ks {
				ks[i] = types.NewString(strs[rnd.IntN(3)])
				vs[i] = gen(*t.Elem, depth+1)
			}
			return types.NewMap(ks, vs)
		case types.KindStruct:
			l := make([]types.Value, len(t.Fields))
			for i, f := range t.Fields {
				l[i] = gen(f.Type, depth+1)
			}
			return types.NewStruct(l)
		}
		return types.Value{}
	}
	scalars := []types.Type{types.Boolean, types.Bigint, types.Double, types.Decimal(12, 3), types.String, types.Bytes, types.Timestamp}
	var genType func(depth int) types.Type
	genType = func(depth int) types.Type {
		if depth > 2 || rnd.IntN(2) == 0 {
			return scalars[rnd.IntN(len(scalars))]
		}
		switch rnd.IntN(3) {
		case 0:
			return types.Array(genType(depth + 1))
		case 1:
			return types.Map(types.String, genType(depth+1))
		}
		return types.Struct(types.Field{Name: "b", Type: genType(depth + 1)}, types.Field{Name: "A", Type: genType(depth + 1)}, types.Field{Name: "a\"", Type: genType(depth + 1)})
	}
	for i := 0; i < 5000; i++ {
		typ := genType(0)
		v := gen(typ, 0)
		w := builder{max: 1 << 20}
		got := ""
		if appendJSON(&w, v, typ) {
			got = w.b.String()
		}
		if want := encodingJSON(v, typ); got != want {
			t.Fatalf("%s value %s:\n got %s\nwant %s", typ, types.Format(v, typ), got, want)
		}
	}
}
