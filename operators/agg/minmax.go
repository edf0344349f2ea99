package agg

import (
	"cmp"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// MIN and MAX keep one value; they are not retractable (ksqlDB applies
// them to streams only). Add does not allocate.

type minMaxAcc struct {
	max bool
	v   types.Value // NULL until the first non-NULL row
}

var _ Accumulator = (*minMaxAcc)(nil)

func newMinMaxFunc(max bool, t types.Type) *function {
	name := "MIN"
	if max {
		name = "MAX"
	}
	return &function{
		name: name, result: t, combines: true,
		newAcc:     func() Accumulator { return &minMaxAcc{max: max} },
		decodeFrom: func(d *decoder) Accumulator { return &minMaxAcc{max: max, v: d.value()} },
	}
}

func (a *minMaxAcc) name() string {
	if a.max {
		return "MAX"
	}
	return "MIN"
}

// compareValues is types.Compare with allocation-free fast paths for two
// values of the same kind (and DECIMALs of the same scale).
func compareValues(a, b types.Value) int {
	if a.Kind() == b.Kind() {
		switch a.Kind() {
		case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime, types.KindBoolean:
			return cmp.Compare(a.Int(), b.Int())
		case types.KindDouble:
			return cmp.Compare(a.Float(), b.Float())
		case types.KindString, types.KindBytes:
			return strings.Compare(a.Str(), b.Str())
		case types.KindDecimal:
			ua, sa := a.Decimal()
			ub, sb := b.Decimal()
			if sa == sb && ua != nil && ub != nil {
				return ua.Cmp(ub)
			}
		}
	}
	return types.Compare(a, b)
}

func (a *minMaxAcc) offer(x types.Value) {
	if x.IsNull() {
		return
	}
	if a.v.IsNull() {
		a.v = x
		return
	}
	c := compareValues(x, a.v)
	if a.max && c > 0 || !a.max && c < 0 {
		a.v = x
	}
}

func (a *minMaxAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name(), 1, len(args))
	}
	a.offer(args[0])
	return nil
}

func (a *minMaxAcc) Retract([]types.Value) error { return errNotRetractable(a.name()) }

func (a *minMaxAcc) Merge(other Accumulator) error {
	o, ok := other.(*minMaxAcc)
	if !ok || o.max != a.max {
		return errMerge(a.name(), other)
	}
	a.offer(o.v)
	return nil
}

// reset implements resetter: NULL, as before the first row.
func (a *minMaxAcc) reset() { a.v = types.NullValue }

func (a *minMaxAcc) decodeInto(b []byte) error {
	d := decoder{b: b}
	a.v = d.value()
	return d.finish()
}

func (a *minMaxAcc) Result() types.Value { return a.v }

func (a *minMaxAcc) AppendEncode(dst []byte) []byte { return AppendValue(dst, a.v) }
