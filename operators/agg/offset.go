package agg

import (
	"encoding/binary"
	"sort"

	"github.com/runnel/runnel/sql/types"
)

// LATEST_BY_OFFSET and EARLIEST_BY_OFFSET, in ksqlDB's four forms:
// (col), (col, ignoreNulls), (col, n), (col, n, ignoreNulls). ignoreNulls
// defaults to true, as in ksqlDB. The n forms return an ARRAY of up to n
// values in offset order (oldest first); the single forms return the
// value itself.
//
// Each kept value carries a sequence number. Add numbers rows 0, 1, 2...
// in arrival order; AddSeq (the Sequenced interface) lets the caller pass
// real positions. Merge orders by sequence when both sides were fed only
// through AddSeq, and otherwise assumes every row of the other
// accumulator came after every row of this one (the order in which
// session windows are merged: earlier window first). Not retractable.

type offsetCfg struct {
	name        string
	latest      bool
	n           int // values kept (1 for the single forms)
	array       bool
	ignoreNulls bool
}

type seqValue struct {
	seq uint64
	v   types.Value
}

type offsetAcc struct {
	cfg *offsetCfg
	// next is one past the largest sequence seen.
	next uint64
	// implicit is set once a row was numbered by Add rather than AddSeq.
	implicit bool
	kept     []seqValue // ascending seq, at most cfg.n
	// one is kept's array in the single forms (n = 1): a group's
	// accumulator is then one allocation, where the value's slice was a
	// second (Nexmark's q7 makes a group of six of them per bid).
	one [1]seqValue
}

// newOffsetAcc returns an accumulator that has seen no row.
func newOffsetAcc(cfg *offsetCfg) *offsetAcc {
	a := &offsetAcc{cfg: cfg}
	if cfg.n == 1 {
		a.kept = a.one[:0]
	}
	return a
}

var (
	_ Accumulator = (*offsetAcc)(nil)
	_ Sequenced   = (*offsetAcc)(nil)
)

func newOffsetFunc(cfg *offsetCfg, t types.Type) *function {
	result := t
	if cfg.array {
		result = types.Array(t)
	}
	return &function{
		name: cfg.name, result: result,
		newAcc: func() Accumulator { return newOffsetAcc(cfg) },
		decodeFrom: func(d *decoder) Accumulator {
			a := newOffsetAcc(cfg)
			a.implicit, a.next = d.bool(), d.uvarint()
			n := d.count(2)
			if n > cfg.n {
				d.fail("more values than n")
				return a
			}
			for i := 0; i < n && d.err == nil; i++ {
				sv := seqValue{seq: d.uvarint(), v: d.value()}
				if sv.seq >= a.next || i > 0 && sv.seq <= a.kept[i-1].seq {
					d.fail("sequences out of order")
				}
				a.kept = append(a.kept, sv)
			}
			return a
		},
	}
}

func (a *offsetAcc) Add(args []types.Value) error {
	a.implicit = true
	return a.AddSeq(a.next, args)
}

func (a *offsetAcc) AddSeq(seq uint64, args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.cfg.name, 1, len(args))
	}
	if seq >= a.next {
		a.next = seq + 1
	}
	if args[0].IsNull() && a.cfg.ignoreNulls {
		return nil
	}
	a.insert(seqValue{seq: seq, v: args[0]})
	return nil
}

// insert places sv by sequence and drops what falls outside the n kept.
func (a *offsetAcc) insert(sv seqValue) {
	n := a.cfg.n
	if n == 1 && len(a.kept) == 1 {
		// The single forms replace their value in place: no append
		// past the inline array.
		if old := a.kept[0].seq; a.cfg.latest && sv.seq > old || !a.cfg.latest && sv.seq < old {
			a.kept[0] = sv
		}
		return
	}
	if len(a.kept) == n {
		// Fast paths that neither grow nor shift more than needed.
		if a.cfg.latest {
			if sv.seq <= a.kept[0].seq {
				return
			}
		} else if sv.seq >= a.kept[n-1].seq {
			return
		}
	}
	i := sort.Search(len(a.kept), func(i int) bool { return a.kept[i].seq >= sv.seq })
	a.kept = append(a.kept, seqValue{})
	copy(a.kept[i+1:], a.kept[i:])
	a.kept[i] = sv
	if len(a.kept) > n {
		if a.cfg.latest {
			copy(a.kept, a.kept[1:])
		}
		a.kept[len(a.kept)-1] = seqValue{}
		a.kept = a.kept[:n]
	}
}

func (a *offsetAcc) Retract([]types.Value) error { return errNotRetractable(a.cfg.name) }

func (a *offsetAcc) Merge(other Accumulator) error {
	o, ok := other.(*offsetAcc)
	if !ok || *o.cfg != *a.cfg {
		return errMerge(a.cfg.name, other)
	}
	var shift uint64
	if a.implicit || o.implicit {
		shift = a.next
		a.implicit = true
	}
	for _, sv := range o.kept {
		a.insert(seqValue{seq: sv.seq + shift, v: sv.v})
	}
	a.next = max(a.next, o.next+shift)
	return nil
}

func (a *offsetAcc) Result() types.Value {
	if !a.cfg.array {
		if len(a.kept) == 0 {
			return types.NullValue
		}
		return a.kept[0].v
	}
	vals := make([]types.Value, len(a.kept))
	for i, sv := range a.kept {
		vals[i] = sv.v
	}
	return types.NewArray(vals)
}

func (a *offsetAcc) AppendEncode(dst []byte) []byte {
	if a.implicit {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, a.next)
	dst = binary.AppendUvarint(dst, uint64(len(a.kept)))
	for _, sv := range a.kept {
		dst = binary.AppendUvarint(dst, sv.seq)
		dst = AppendValue(dst, sv.v)
	}
	return dst
}
