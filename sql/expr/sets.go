package expr

import (
	"sort"

	"github.com/runnel/runnel/sql/types"
)

// Set operations on values, equal as types.Equal has it, in O(n log n):
// arrays and maps come from records and from SPLIT, and may hold
// hundreds of thousands of elements, where comparing every pair would
// take minutes per row. Below smallSet elements the pairwise loops are
// faster and allocate nothing.

const smallSet = 16

// sortedOrder returns the indexes of l ordered by value, equal values in
// their original order.
func sortedOrder(l []types.Value) []int {
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return types.Compare(l[idx[a]], l[idx[b]]) < 0 })
	return idx
}

// distinct keeps the first of equal elements (NULLs included once), in
// their original order.
func distinct(l []types.Value) []types.Value {
	if len(l) <= smallSet {
		out := make([]types.Value, 0, len(l))
		for _, v := range l {
			if indexOfKey(out, v) < 0 {
				out = append(out, v)
			}
		}
		return out
	}
	idx := sortedOrder(l)
	keep := make([]bool, len(l))
	for i := 0; i < len(idx); {
		// The run of values equal to l[idx[i]]; the sort is stable, so
		// idx[i] is the first of them in l.
		j := i + 1
		for j < len(idx) && types.Compare(l[idx[i]], l[idx[j]]) == 0 {
			j++
		}
		keep[idx[i]] = true
		i = j
	}
	out := make([]types.Value, 0, len(l))
	for i, v := range l {
		if keep[i] {
			out = append(out, v)
		}
	}
	return out
}

// valueSet answers membership in a list of values.
type valueSet struct {
	small  []types.Value // the list itself, when short
	sorted []types.Value // else a sorted copy
}

func newValueSet(l []types.Value) valueSet {
	if len(l) <= smallSet {
		return valueSet{small: l}
	}
	sorted := append([]types.Value(nil), l...)
	sort.Slice(sorted, func(a, b int) bool { return types.Compare(sorted[a], sorted[b]) < 0 })
	return valueSet{sorted: sorted}
}

func (s valueSet) contains(v types.Value) bool {
	if s.sorted == nil {
		return indexOfKey(s.small, v) >= 0
	}
	i := sort.Search(len(s.sorted), func(i int) bool { return types.Compare(s.sorted[i], v) >= 0 })
	return i < len(s.sorted) && types.Compare(s.sorted[i], v) == 0
}

func contains(l []types.Value, v types.Value) bool { return indexOfKey(l, v) >= 0 }

// dedupKeys makes map entries from parallel keys and values: one entry
// per distinct key, where the key was first seen, with the value of its
// last occurrence (a later duplicate key wins).
func dedupKeys(ks, vs []types.Value) ([]types.Value, []types.Value) {
	if len(ks) <= smallSet {
		var oks, ovs []types.Value
		for i, k := range ks {
			if j := indexOfKey(oks, k); j >= 0 {
				ovs[j] = vs[i]
				continue
			}
			oks, ovs = append(oks, k), append(ovs, vs[i])
		}
		return oks, ovs
	}
	idx := sortedOrder(ks)
	last := make([]int, len(ks)) // for a key's first index, its last one
	for i := range last {
		last[i] = -1
	}
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && types.Compare(ks[idx[i]], ks[idx[j]]) == 0 {
			j++
		}
		last[idx[i]] = idx[j-1]
		i = j
	}
	oks := make([]types.Value, 0, len(ks))
	ovs := make([]types.Value, 0, len(ks))
	for i, k := range ks {
		if last[i] >= 0 {
			oks, ovs = append(oks, k), append(ovs, vs[last[i]])
		}
	}
	return oks, ovs
}
