package expr

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

func elemType(i int) func([]types.Type) types.Type {
	return func(a []types.Type) types.Type {
		if a[i].Elem == nil {
			return types.Null
		}
		return *a[i].Elem
	}
}

func arrayOf(f func([]types.Type) types.Type) func([]types.Type) types.Type {
	return func(a []types.Type) types.Type { return types.Array(f(a)) }
}

func keyType(i int) func([]types.Type) types.Type {
	return func(a []types.Type) types.Type {
		if a[i].Key == nil {
			return types.Null
		}
		return *a[i].Key
	}
}

func init() {
	register(
		fn("ARRAY_LENGTH", "ARRAY", "The number of elements of an ARRAY.",
			ov(types.Int, func(a []types.Value) (types.Value, error) { return intV(len(a[0].List())), nil }, pArray)),
		&Function{Name: "ARRAY_CONTAINS", Category: "ARRAY", nullCall: true,
			Description: "Whether an ARRAY contains a value (NULL elements match a NULL value); FALSE for a NULL array.",
			overloads: []overload{ov(types.Boolean, func(a []types.Value) (types.Value, error) {
				return boolV(!a[0].IsNull() && contains(a[0].List(), a[1])), nil
			}, pArray, pAny)}},
		fn("ARRAY_DISTINCT", "ARRAY", "The ARRAY without duplicates, in first-seen order.",
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				return types.NewArray(distinct(a[0].List())), nil
			}, pArray)),
		fn("ARRAY_MAX", "ARRAY", "The largest element, ignoring NULLs; NULL for an empty ARRAY.",
			ovT(elemType(0), "element type", func(a []types.Value) (types.Value, error) { return arrayExtremum(a[0].List(), 1), nil }, pArray)),
		fn("ARRAY_MIN", "ARRAY", "The smallest element, ignoring NULLs; NULL for an empty ARRAY.",
			ovT(elemType(0), "element type", func(a []types.Value) (types.Value, error) { return arrayExtremum(a[0].List(), -1), nil }, pArray)),
		fn("ARRAY_SORT", "ARRAY", "The ARRAY sorted ascending (or 'DESC'); NULLs last.",
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) { return arraySort(a[0].List(), "ASC") }, pArray),
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				return arraySort(a[0].List(), a[1].Str())
			}, pArray, pString)),
		fn("ARRAY_JOIN", "ARRAY", "The elements as text joined by a delimiter (default ','); NULL elements render as null.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return arrayJoin(c, a[0].List(), ",") }, pArray),
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return arrayJoin(c, a[0].List(), a[1].Str()) }, pArray, pString)),
		fn("ARRAY_CONCAT", "ARRAY", "The elements of the first ARRAY followed by those of the second.",
			ovTL(argType(0), "same as argument", func(c *evalCtx, a []types.Value) (types.Value, error) {
				if err := c.check("ARRAY_CONCAT", sizeAdd(a[0].Size(), a[1].Size())); err != nil {
					return null, err
				}
				out := append(append(make([]types.Value, 0, len(a[0].List())+len(a[1].List())), a[0].List()...), a[1].List()...)
				return types.NewArray(out), nil
			}, pArray, pArray)),
		fn("ARRAY_UNION", "ARRAY", "The distinct elements of both ARRAYs.",
			ovTL(argType(0), "same as argument", func(c *evalCtx, a []types.Value) (types.Value, error) {
				// Distinct elements of each first: the union is at most
				// their sum, and usually far less than the inputs.
				l, r := distinct(a[0].List()), distinct(a[1].List())
				if err := c.check("ARRAY_UNION", sizeAdd(types.NewArray(l).Size(), types.NewArray(r).Size())); err != nil {
					return null, err
				}
				return types.NewArray(distinct(append(l, r...))), nil
			}, pArray, pArray)),
		fn("ARRAY_INTERSECT", "ARRAY", "The distinct elements of the first ARRAY that are in the second.",
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				var out []types.Value
				in := newValueSet(a[1].List())
				for _, v := range distinct(a[0].List()) {
					if in.contains(v) {
						out = append(out, v)
					}
				}
				return types.NewArray(out), nil
			}, pArray, pArray)),
		fn("ARRAY_EXCEPT", "ARRAY", "The distinct elements of the first ARRAY that are not in the second.",
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				var out []types.Value
				in := newValueSet(a[1].List())
				for _, v := range distinct(a[0].List()) {
					if !in.contains(v) {
						out = append(out, v)
					}
				}
				return types.NewArray(out), nil
			}, pArray, pArray)),
		&Function{Name: "ARRAY_REMOVE", Category: "ARRAY", nullCall: true,
			Description: "The ARRAY without the elements equal to a value (NULL removes NULLs).",
			overloads: []overload{ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				if a[0].IsNull() {
					return null, nil
				}
				var out []types.Value
				for _, v := range a[0].List() {
					if !types.Equal(v, a[1]) {
						out = append(out, v)
					}
				}
				return types.NewArray(out), nil
			}, pArray, pAny)}},
		fn("SLICE", "ARRAY", "The elements from a 1-based start to an end position, inclusive.",
			ovT(argType(0), "same as argument", func(a []types.Value) (types.Value, error) {
				l := a[0].List()
				from, to := max(a[1].Int(), 1), min(a[2].Int(), int64(len(l)))
				if from > to {
					return types.NewArray(nil), nil
				}
				return types.NewArray(l[from-1 : to]), nil
			}, pArray, pIntegral, pIntegral)),
		fn("MAP_KEYS", "MAP", "The keys of a MAP as an ARRAY.",
			ovT(arrayOf(keyType(0)), "ARRAY of the key type", func(a []types.Value) (types.Value, error) {
				m := a[0]
				out := make([]types.Value, m.MapLen())
				for i := range out {
					out[i], _ = m.MapEntry(i)
				}
				return types.NewArray(out), nil
			}, pMap)),
		fn("MAP_VALUES", "MAP", "The values of a MAP as an ARRAY.",
			ovT(arrayOf(elemType(0)), "ARRAY of the value type", func(a []types.Value) (types.Value, error) {
				m := a[0]
				out := make([]types.Value, m.MapLen())
				for i := range out {
					_, out[i] = m.MapEntry(i)
				}
				return types.NewArray(out), nil
			}, pMap)),
		fn("MAP_UNION", "MAP", "The entries of both MAPs; the second wins on equal keys.",
			ovTL(argType(0), "same as argument", func(c *evalCtx, a []types.Value) (types.Value, error) {
				var ks, vs []types.Value
				for _, m := range a[:2] {
					for i := 0; i < m.MapLen(); i++ {
						k, v := m.MapEntry(i)
						ks, vs = append(ks, k), append(vs, v)
					}
				}
				// Equal keys collapse: the union may be far smaller than
				// the inputs, so it is sized once they are merged.
				ks, vs = dedupKeys(ks, vs)
				if err := c.check("MAP_UNION", entriesSize(ks, vs)); err != nil {
					return null, err
				}
				return types.NewMap(ks, vs), nil
			}, pMap, pMap)),
		fn("AS_MAP", "MAP", "A MAP from an ARRAY of keys and an ARRAY of values (extra keys map to NULL; a later duplicate key wins).",
			ovTL(func(a []types.Type) types.Type {
				return types.Map(elemType(0)(a), elemType(1)(a))
			}, "MAP<key element type, value element type>", func(c *evalCtx, a []types.Value) (types.Value, error) {
				keys, vals := a[0].List(), a[1].List()
				var ks, vs []types.Value
				for i, k := range keys {
					if k.IsNull() {
						continue
					}
					v := null
					if i < len(vals) {
						v = vals[i]
					}
					ks, vs = append(ks, k), append(vs, v)
				}
				// Two arrays each under the limit make a map that may not be.
				ks, vs = dedupKeys(ks, vs)
				if err := c.check("AS_MAP", entriesSize(ks, vs)); err != nil {
					return null, err
				}
				return types.NewMap(ks, vs), nil
			}, pArray, pArray)),
		&Function{Name: "ELT", Category: "STRING", nullCall: true,
			Description: "The n-th (1-based) of the following strings; NULL when n is out of range.",
			overloads: []overload{ovVar(types.String, func(a []types.Value) (types.Value, error) {
				if a[0].IsNull() {
					return null, nil
				}
				n := a[0].Int()
				if n < 1 || n >= int64(len(a)) {
					return null, nil
				}
				return a[n], nil
			}, pIntegral, pString)}},
		&Function{Name: "FIELD", Category: "STRING", nullCall: true,
			Description: "The 1-based position of a string among the following ones; 0 when absent or NULL.",
			overloads: []overload{ovVar(types.Int, func(a []types.Value) (types.Value, error) {
				if a[0].IsNull() {
					return intV(0), nil
				}
				for i, v := range a[1:] {
					if !v.IsNull() && v.Str() == a[0].Str() {
						return intV(i + 1), nil
					}
				}
				return intV(0), nil
			}, pString, pString)}},
		fn("UUID", "STRING", "A random version 4 UUID as a string; UUID(bytes) renders 16 BYTES as a UUID (NULL for any other length).",
			ov(types.String, func([]types.Value) (types.Value, error) { return str(uuid4()), nil }),
			ov(types.String, func(a []types.Value) (types.Value, error) {
				b := a[0].Str()
				if len(b) != 16 {
					return null, nil
				}
				return str(uuidText([]byte(b))), nil
			}, pBytes)),
	)
}

func arrayExtremum(l []types.Value, sign int) types.Value {
	best := null
	for _, v := range l {
		if v.IsNull() {
			continue
		}
		if best.IsNull() || types.Compare(v, best)*sign > 0 {
			best = v
		}
	}
	return best
}

func arraySort(l []types.Value, dir string) (types.Value, error) {
	desc := false
	switch strings.ToUpper(dir) {
	case "ASC":
	case "DESC":
		desc = true
	default:
		return null, errorf(ErrInvalidArgument, "ARRAY_SORT direction must be ASC or DESC, not %q", dir)
	}
	out := append([]types.Value{}, l...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.IsNull() || b.IsNull() {
			return !a.IsNull() && b.IsNull() // NULLs last either way
		}
		if desc {
			return types.Compare(a, b) > 0
		}
		return types.Compare(a, b) < 0
	})
	return types.NewArray(out), nil
}

// entriesSize is the Size of a MAP of these entries.
func entriesSize(ks, vs []types.Value) int64 {
	n := valueOverhead
	for i := range ks {
		n = sizeAdd(n, sizeAdd(ks[i].Size(), vs[i].Size()))
	}
	return n
}

// arrayJoin renders the elements as text between delimiters, sized
// before it is built.
func arrayJoin(c *evalCtx, l []types.Value, delim string) (types.Value, error) {
	var n int64
	for i, v := range l {
		if i > 0 {
			n = sizeAdd(n, int64(len(delim)))
		}
		if v.IsNull() {
			n = sizeAdd(n, int64(len("null")))
		} else {
			n = sizeAdd(n, types.FormatLen(v, valueType(v)))
		}
	}
	if err := c.checkString("ARRAY_JOIN", n); err != nil {
		return null, err
	}
	var b strings.Builder
	b.Grow(int(n))
	for i, v := range l {
		if i > 0 {
			b.WriteString(delim)
		}
		if v.IsNull() {
			b.WriteString("null")
		} else {
			b.WriteString(types.Format(v, valueType(v)))
		}
	}
	return str(b.String()), nil
}

func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuidText(b[:])
}

// uuidText renders 16 bytes as java.util.UUID.toString does.
func uuidText(b []byte) string {
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
