package agg

import (
	"encoding/binary"

	"github.com/runnel/runnel/sql/types"
)

// multiset counts distinct values in first-seen order. It backs
// COLLECT_SET, COUNT_DISTINCT, HISTOGRAM and the DISTINCT forms, and makes
// all of them exactly retractable: a value leaves when its count reaches
// zero (and, seen again, goes to the end).
//
// Values are identified by their canonical encoding (see appendValue), so
// -0.0 and 0.0 are one value, as types.Compare has it. The index is
// rebuilt lazily after decoding; it is not part of the encoding.
type multiset struct {
	entries []msEntry
	index   map[string]int // canonical encoding → position in entries
	scratch []byte
}

type msEntry struct {
	v types.Value
	n int64
}

func (m *multiset) key(v types.Value) []byte {
	m.scratch = appendValue(m.scratch[:0], v, true)
	return m.scratch
}

func (m *multiset) ensureIndex() {
	if m.index != nil {
		return
	}
	m.index = make(map[string]int, len(m.entries))
	for i, e := range m.entries {
		m.index[string(m.key(e.v))] = i
	}
}

// add adds n occurrences of v and reports whether v is new.
func (m *multiset) add(v types.Value, n int64) bool {
	m.ensureIndex()
	k := m.key(v)
	if i, ok := m.index[string(k)]; ok {
		m.entries[i].n += n
		return false
	}
	m.index[string(k)] = len(m.entries)
	m.entries = append(m.entries, msEntry{v: v, n: n})
	return true
}

// has reports whether v is in the set.
func (m *multiset) has(v types.Value) bool {
	m.ensureIndex()
	_, ok := m.index[string(m.key(v))]
	return ok
}

// remove removes one occurrence of v and reports whether it was the last.
func (m *multiset) remove(v types.Value) (gone, found bool) {
	m.ensureIndex()
	k := m.key(v)
	i, ok := m.index[string(k)]
	if !ok {
		return false, false
	}
	if m.entries[i].n--; m.entries[i].n > 0 {
		return false, true
	}
	delete(m.index, string(k))
	copy(m.entries[i:], m.entries[i+1:])
	m.entries[len(m.entries)-1] = msEntry{}
	m.entries = m.entries[:len(m.entries)-1]
	for j := i; j < len(m.entries); j++ {
		m.index[string(m.key(m.entries[j].v))] = j
	}
	return true, true
}

func (m *multiset) values() []types.Value {
	vals := make([]types.Value, len(m.entries))
	for i, e := range m.entries {
		vals[i] = e.v
	}
	return vals
}

func (m *multiset) appendEncode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m.entries)))
	for _, e := range m.entries {
		dst = AppendValue(dst, e.v)
		dst = binary.AppendVarint(dst, e.n)
	}
	return dst
}

func (d *decoder) multiset(m *multiset) {
	n := d.count(2)
	m.entries = make([]msEntry, 0, n)
	m.ensureIndex()
	for i := 0; i < n && d.err == nil; i++ {
		v := d.value()
		c := d.varint()
		if c <= 0 {
			d.fail("multiset count not positive")
			return
		}
		if !m.add(v, c) {
			d.fail("duplicate multiset value")
			return
		}
	}
}

// setAcc is COLLECT_SET (an ARRAY of the distinct values, first-seen
// order), COUNT_DISTINCT (how many; exact, where ksqlDB estimates with
// HyperLogLog) and HISTOGRAM (a MAP from each value to its count). All
// three are retractable.
//
// COLLECT_SET and HISTOGRAM are capped as ksqlDB caps them
// (ksql.functions.collect_set.limit; HISTOGRAM's 1000 distinct values): a
// new distinct value past CollectLimit values or CollectMaxBytes bytes is
// ignored silently, and retracting a value the set does not hold is then
// ignored too (the cap may have dropped it).
type setAcc struct {
	name   string
	capped bool
	set    multiset
	bytes  int64 // the Size of the distinct values, when capped
}

var _ Accumulator = (*setAcc)(nil)

func newSetFunc(name string, result types.Type) *function {
	capped := name == "COLLECT_SET" || name == "HISTOGRAM"
	var inner *function
	if name == "COUNT_DISTINCT" {
		inner = newCountFunc(false)
	}
	return &function{
		name: name, result: result, retractable: true, inner: inner,
		newAcc: func() Accumulator { return &setAcc{name: name, capped: capped} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &setAcc{name: name, capped: capped}
			d.multiset(&a.set)
			for _, e := range a.set.entries {
				a.bytes += e.v.Size()
			}
			return a
		},
	}
}

// offer adds n occurrences of v, unless v is a new value past the caps.
func (a *setAcc) offer(v types.Value, n int64) {
	if a.capped && (len(a.set.entries) >= CollectLimit || a.bytes+v.Size() > CollectMaxBytes) {
		if !a.set.has(v) {
			return
		}
	}
	if a.set.add(v, n) {
		a.bytes += v.Size()
	}
}

func (a *setAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name, 1, len(args))
	}
	if !args[0].IsNull() {
		a.offer(args[0], 1)
	}
	return nil
}

func (a *setAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name, 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	gone, found := a.set.remove(args[0])
	switch {
	case !found && a.capped:
		return nil // never held: the cap ignored it
	case !found:
		return errRetractUnknown(a.name)
	case gone:
		a.bytes -= args[0].Size()
	}
	return nil
}

func (a *setAcc) Merge(other Accumulator) error {
	o, ok := other.(*setAcc)
	if !ok || o.name != a.name {
		return errMerge(a.name, other)
	}
	for _, e := range o.set.entries {
		a.offer(e.v, e.n)
	}
	return nil
}

func (a *setAcc) Result() types.Value {
	switch a.name {
	case "COUNT_DISTINCT":
		return types.NewBigint(int64(len(a.set.entries)))
	case "HISTOGRAM":
		keys := a.set.values()
		counts := make([]types.Value, len(keys))
		for i, e := range a.set.entries {
			counts[i] = types.NewBigint(e.n)
		}
		return types.NewMap(keys, counts)
	}
	return types.NewArray(a.set.values())
}

func (a *setAcc) AppendEncode(dst []byte) []byte { return a.set.appendEncode(dst) }

// distinctAcc is the DISTINCT form of an aggregate, e.g. SUM(DISTINCT x):
// the inner accumulator sees each distinct value once, when it first
// appears, and has it retracted when its last occurrence is.
type distinctAcc struct {
	name  string
	set   multiset
	inner Accumulator
}

var _ Accumulator = (*distinctAcc)(nil)

func newDistinctFunc(inner *function) *function {
	return &function{
		name: inner.name, result: inner.result, retractable: inner.retractable, fallible: inner.fallible, inner: inner,
		newAcc: func() Accumulator { return &distinctAcc{name: inner.name, inner: inner.newAcc()} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &distinctAcc{name: inner.name}
			d.multiset(&a.set)
			a.inner = inner.decodeFrom(d)
			return a
		},
	}
}

func (a *distinctAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name, 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	if a.set.add(args[0], 1) {
		if err := a.inner.Add(args); err != nil {
			a.set.remove(args[0])
			return err
		}
	}
	return nil
}

func (a *distinctAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name, 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	gone, found := a.set.remove(args[0])
	if !found {
		return errRetractUnknown(a.name)
	}
	if gone {
		if err := a.inner.Retract(args); err != nil {
			a.set.add(args[0], 1)
			return err
		}
	}
	return nil
}

func (a *distinctAcc) Merge(other Accumulator) error {
	o, ok := other.(*distinctAcc)
	if !ok || o.name != a.name {
		return errMerge(a.name, other)
	}
	for _, e := range o.set.entries {
		if a.set.add(e.v, e.n) {
			if err := a.inner.Add([]types.Value{e.v}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *distinctAcc) Result() types.Value { return a.inner.Result() }

func (a *distinctAcc) AppendEncode(dst []byte) []byte {
	return a.inner.AppendEncode(a.set.appendEncode(dst))
}
