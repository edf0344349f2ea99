package agg

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/runnel/runnel/sql/types"
)

// AVG returns DOUBLE for every numeric input, as ksqlDB does. Its sum is
// exact for INT, BIGINT (128 bits) and DECIMAL (unbounded), so retraction
// and merging lose nothing; DOUBLE sums in float64.

type avgAcc struct {
	kind  types.Kind // the input's kind
	scale int32      // DECIMAL input's scale
	n     int64
	isum  i128
	fsum  float64
	dsum  big.Int
}

var _ Accumulator = (*avgAcc)(nil)

func newAvgFunc(t types.Type) *function {
	kind, scale := t.Kind, int32(t.Scale)
	return &function{
		name: "AVG", result: types.Double, retractable: true,
		newAcc: func() Accumulator { return &avgAcc{kind: kind, scale: scale} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &avgAcc{kind: kind, scale: scale, n: d.nonNeg()}
			switch kind {
			case types.KindDouble:
				a.fsum = d.float()
			case types.KindDecimal:
				d.big(&a.dsum)
			default:
				a.isum = d.i128()
			}
			return a
		},
	}
}

func (a *avgAcc) step(v types.Value, neg bool) {
	switch a.kind {
	case types.KindDouble:
		if neg {
			a.fsum -= v.Float()
		} else {
			a.fsum += v.Float()
		}
	case types.KindDecimal:
		u := unscaledAt(v, a.scale)
		if neg {
			a.dsum.Sub(&a.dsum, u)
		} else {
			a.dsum.Add(&a.dsum, u)
		}
	default:
		if neg {
			a.isum = a.isum.sub64(v.Int())
		} else {
			a.isum = a.isum.add64(v.Int())
		}
	}
}

func (a *avgAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("AVG", 1, len(args))
	}
	if !args[0].IsNull() {
		a.step(args[0], false)
		a.n++
	}
	return nil
}

func (a *avgAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity("AVG", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	if a.n == 0 {
		return errRetractUnknown("AVG")
	}
	a.step(args[0], true)
	a.n--
	if a.n == 0 {
		a.fsum = 0
	}
	return nil
}

func (a *avgAcc) Merge(other Accumulator) error {
	o, ok := other.(*avgAcc)
	if !ok || o.kind != a.kind || o.scale != a.scale {
		return errMerge("AVG", other)
	}
	a.n += o.n
	a.fsum += o.fsum
	a.isum = a.isum.add(o.isum)
	a.dsum.Add(&a.dsum, &o.dsum)
	return nil
}

func (a *avgAcc) Result() types.Value {
	if a.n == 0 {
		return types.NullValue
	}
	switch a.kind {
	case types.KindDouble:
		return types.NewDouble(a.fsum / float64(a.n))
	case types.KindDecimal:
		den := pow10(int(a.scale))
		den.Mul(den, big.NewInt(a.n))
		f, _ := new(big.Rat).SetFrac(&a.dsum, den).Float64()
		return types.NewDouble(f)
	}
	return types.NewDouble(a.isum.quo(a.n))
}

func (a *avgAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendVarint(dst, a.n)
	switch a.kind {
	case types.KindDouble:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.fsum))
	case types.KindDecimal:
		return appendBig(dst, &a.dsum)
	}
	return appendI128(dst, a.isum)
}

// The variances and standard deviations. Over INT and BIGINT they keep
// the exact count, sum and sum of squares (128-bit), so every Add,
// Retract and Merge is exact and the result is rounded once. Over DOUBLE
// and DECIMAL (converted to float64) they keep Welford's running mean and
// sum of squared deviations, with Chan's formula for Merge and Welford's
// inverse step for Retract.

type statKind uint8

const (
	statVarSamp statKind = iota
	statVarPop
	statStddevSamp
	statStddevPop
)

type momentsAcc struct {
	stat  statKind
	exact bool
	n     int64
	s, q  i128    // exact: sum and sum of squares
	mean  float64 // inexact: Welford's mean
	m2    float64 // inexact: sum of squared deviations from the mean
}

var _ Accumulator = (*momentsAcc)(nil)

func newMomentsFunc(name string, stat statKind, t types.Type) *function {
	exact := t.Kind == types.KindInt || t.Kind == types.KindBigint
	return &function{
		name: name, result: types.Double, retractable: true,
		newAcc: func() Accumulator { return &momentsAcc{stat: stat, exact: exact} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &momentsAcc{stat: stat, exact: exact, n: d.nonNeg()}
			if exact {
				a.s, a.q = d.i128(), d.i128()
			} else {
				a.mean, a.m2 = d.float(), d.float()
			}
			return a
		},
	}
}

func (a *momentsAcc) name() string {
	return [...]string{"VAR_SAMP", "VAR_POP", "STDDEV_SAMP", "STDDEV_POP"}[a.stat]
}

func (a *momentsAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name(), 1, len(args))
	}
	v := args[0]
	if v.IsNull() {
		return nil
	}
	a.n++
	if a.exact {
		a.s = a.s.add64(v.Int())
		a.q = a.q.add(square(v.Int()))
		return nil
	}
	x := v.AsFloat()
	delta := x - a.mean
	a.mean += delta / float64(a.n)
	a.m2 += delta * (x - a.mean)
	return nil
}

func (a *momentsAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name(), 1, len(args))
	}
	v := args[0]
	if v.IsNull() {
		return nil
	}
	if a.n == 0 {
		return errRetractUnknown(a.name())
	}
	a.n--
	if a.exact {
		a.s = a.s.sub64(v.Int())
		a.q = a.q.sub(square(v.Int()))
		return nil
	}
	if a.n == 0 {
		a.mean, a.m2 = 0, 0
		return nil
	}
	x := v.AsFloat()
	prev := (a.mean*float64(a.n+1) - x) / float64(a.n)
	a.m2 -= (x - prev) * (x - a.mean)
	a.mean = prev
	if a.m2 < 0 {
		a.m2 = 0
	}
	return nil
}

func (a *momentsAcc) Merge(other Accumulator) error {
	o, ok := other.(*momentsAcc)
	if !ok || o.exact != a.exact || o.stat != a.stat {
		return errMerge(a.name(), other)
	}
	if a.exact {
		a.n += o.n
		a.s, a.q = a.s.add(o.s), a.q.add(o.q)
		return nil
	}
	switch {
	case o.n == 0:
		return nil
	case a.n == 0:
		a.n, a.mean, a.m2 = o.n, o.mean, o.m2
		return nil
	}
	n := a.n + o.n
	delta := o.mean - a.mean
	a.mean += delta * float64(o.n) / float64(n)
	a.m2 += o.m2 + delta*delta*float64(a.n)*float64(o.n)/float64(n)
	a.n = n
	return nil
}

func (a *momentsAcc) Result() types.Value {
	samp := a.stat == statVarSamp || a.stat == statStddevSamp
	if a.n == 0 || samp && a.n < 2 {
		return types.NullValue
	}
	den := float64(a.n)
	if samp {
		den = float64(a.n - 1)
	}
	var v float64
	if a.exact {
		// n·Σx² − (Σx)², divided by n·(n−1) or n².
		n := big.NewInt(a.n)
		num := new(big.Int).Mul(n, a.q.big())
		s := a.s.big()
		num.Sub(num, s.Mul(s, s))
		d := new(big.Int).Mul(n, n)
		if samp {
			d.Mul(n, big.NewInt(a.n-1))
		}
		v, _ = new(big.Rat).SetFrac(num, d).Float64()
	} else {
		v = a.m2 / den
	}
	if a.stat == statStddevSamp || a.stat == statStddevPop {
		v = math.Sqrt(v)
	}
	return types.NewDouble(v)
}

func (a *momentsAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendVarint(dst, a.n)
	if a.exact {
		return appendI128(appendI128(dst, a.s), a.q)
	}
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.mean))
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.m2))
}
