package agg

import (
	"encoding/binary"

	"github.com/runnel/runnel/sql/types"
)

// ATTR(x) is x when every row of the group has the same x (NULL counting
// as a value), and NULL otherwise or for an empty group, as ksqlDB 0.29
// has it (attr.json). It keeps each distinct value's count, so it
// retracts exactly and aggregates tables.
//
// Its state is bounded like COLLECT_SET's: at most CollectLimit distinct
// values of at most CollectMaxBytes. Rows of a value past the cap are only
// counted (untracked); while any are, the group has two values or more
// and ATTR is NULL. Retracting a value the set does not hold takes one
// from that count. (So a group that held more than CollectLimit distinct
// values at once, and then lost all but one of the tracked ones, answers
// NULL where its untracked rows share one value.)
type attrAcc struct {
	set       multiset
	bytes     int64
	untracked int64
}

var _ Accumulator = (*attrAcc)(nil)

func newAttrFunc(t types.Type) *function {
	return &function{
		name: "ATTR", result: t, retractable: true,
		newAcc: func() Accumulator { return &attrAcc{} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &attrAcc{}
			d.multiset(&a.set)
			for _, e := range a.set.entries {
				a.bytes += e.v.Size()
			}
			a.untracked = d.nonNeg()
			return a
		},
	}
}

func (a *attrAcc) offer(v types.Value, n int64) {
	if !a.set.has(v) && (len(a.set.entries) >= CollectLimit || a.bytes+v.Size() > CollectMaxBytes) {
		a.untracked += n
		return
	}
	if a.set.add(v, n) {
		a.bytes += v.Size()
	}
}

func (a *attrAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("ATTR", 1, len(args))
	}
	a.offer(args[0], 1)
	return nil
}

func (a *attrAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity("ATTR", 1, len(args))
	}
	gone, found := a.set.remove(args[0])
	switch {
	case !found && a.untracked > 0:
		a.untracked--
	case !found:
		return errRetractUnknown("ATTR")
	case gone:
		a.bytes -= args[0].Size()
	}
	return nil
}

func (a *attrAcc) Merge(other Accumulator) error {
	o, ok := other.(*attrAcc)
	if !ok {
		return errMerge("ATTR", other)
	}
	for _, e := range o.set.entries {
		a.offer(e.v, e.n)
	}
	a.untracked += o.untracked
	return nil
}

func (a *attrAcc) Result() types.Value {
	if len(a.set.entries) != 1 || a.untracked > 0 {
		return types.NullValue
	}
	return a.set.entries[0].v
}

func (a *attrAcc) AppendEncode(dst []byte) []byte {
	return binary.AppendVarint(a.set.appendEncode(dst), a.untracked)
}
