package agg

import (
	"encoding/binary"

	"github.com/runnel/runnel/sql/types"
)

// countAcc is COUNT(*) (star: every row) and COUNT(col) (non-NULL rows).
type countAcc struct {
	n    int64
	star bool
}

var _ Accumulator = (*countAcc)(nil)

func newCountFunc(star bool) *function {
	return &function{
		name:        "COUNT",
		result:      types.Bigint,
		retractable: true,
		combines:    true,
		newAcc:      func() Accumulator { return &countAcc{star: star} },
		decodeFrom:  func(d *decoder) Accumulator { return &countAcc{star: star, n: d.nonNeg()} },
	}
}

func (a *countAcc) counts(args []types.Value) (bool, error) {
	if a.star {
		return true, nil
	}
	if len(args) != 1 {
		return false, errArity("COUNT", 1, len(args))
	}
	return !args[0].IsNull(), nil
}

func (a *countAcc) Add(args []types.Value) error {
	ok, err := a.counts(args)
	if ok {
		a.n++
	}
	return err
}

func (a *countAcc) Retract(args []types.Value) error {
	ok, err := a.counts(args)
	if !ok {
		return err
	}
	if a.n == 0 {
		return errRetractUnknown("COUNT")
	}
	a.n--
	return nil
}

func (a *countAcc) Merge(other Accumulator) error {
	o, ok := other.(*countAcc)
	if !ok || o.star != a.star {
		return errMerge("COUNT", other)
	}
	a.n += o.n
	return nil
}

// reset implements resetter: the count of no rows (star is the function's).
func (a *countAcc) reset() { a.n = 0 }

func (a *countAcc) decodeInto(b []byte) error {
	d := decoder{b: b}
	a.n = d.nonNeg()
	return d.finish()
}

func (a *countAcc) Result() types.Value { return types.NewBigint(a.n) }

func (a *countAcc) AppendEncode(dst []byte) []byte { return binary.AppendVarint(dst, a.n) }
