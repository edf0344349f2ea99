package embedded

import "sync"

// writeScratch keeps the per-record working memory of a write for the
// next one: a commit of a task's read batch of 4,096 records made a slice
// of items and a slice of indexes per partition, about 96 bytes a record,
// zeroed and grown at every commit. Writes run concurrently (a task per
// partition), so each takes its own from a pool, which the garbage
// collector empties of what lies idle.
type writeScratch struct {
	itemPool, idxPool sync.Pool
}

// maxScratchRecords bounds what the pool keeps: a write of more records
// than this (a flat map's output of a large batch) uses memory of its
// own, so that one large write does not pin its memory in the pool.
const maxScratchRecords = 1 << 16

// items returns n zeroed items.
func (s *writeScratch) items(n int) []item {
	if p, ok := s.itemPool.Get().(*[]item); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]item, n)
}

// putItems gives back items, which the caller no longer uses. They are
// cleared: they point at the caller's records.
func (s *writeScratch) putItems(items []item) {
	if cap(items) > maxScratchRecords {
		return
	}
	clear(items)
	s.itemPool.Put(&items)
}

// idxs returns n indexes, not zeroed.
func (s *writeScratch) idxs(n int) []int32 {
	if p, ok := s.idxPool.Get().(*[]int32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]int32, n)
}

// putIdxs gives back idxs, which the caller no longer uses.
func (s *writeScratch) putIdxs(idxs []int32) {
	if cap(idxs) > maxScratchRecords {
		return
	}
	s.idxPool.Put(&idxs)
}
