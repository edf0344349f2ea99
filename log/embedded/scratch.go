package embedded

import "sync"

// writeScratch keeps the per-record working memory of a write for the
// next one: a commit of a task's read batch of 4,096 records made a slice
// of items and a slice of indexes per partition, about 90 bytes a record,
// zeroed and grown at every commit. Writes run concurrently (a task per
// partition), so each takes its own from a pool, which the garbage
// collector empties of what lies idle.
type writeScratch struct {
	items slicePool[item]
	idxs  slicePool[int32]
	// packs are a write's batch values, encoded and packed before its
	// offsets are reserved (startWrite); unpack are the buffers of one
	// batch's entries unpacked: a read's, for the packed batch it walks
	// (readRange), and a write's, for the batch it encodes before
	// packing it (startWrite).
	packs  bytesPool
	unpack bytesPool
}

// maxScratchRecords bounds what the pool keeps: a write of more records
// than this uses memory of its own, so that one outsize write does not
// pin its memory in the pool. It is above what a flat map makes of a
// full read batch: q5's EXPLODE commits about 82,000 records at a time
// (five a bid, up to 163,840 from a batch of 32,768), and under a bound
// of 65,536 each commit made its items afresh, 4 MB of new memory whose
// first touch faulted page by page (41,000 page faults, 0.7 s of q5's
// samples on that one line of startCommit). Kept, the most a pooled
// slice of items holds is 12 MiB, under half of the records of the
// Txn that its caller holds at once.
const maxScratchRecords = 1 << 18

// slicePool is a pool of slices of at most maxScratchRecords elements.
type slicePool[T any] struct{ p sync.Pool }

// get returns n elements: zeroed if every put before was cleared.
func (s *slicePool[T]) get(n int) []T {
	if p, ok := s.p.Get().(*[]T); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]T, n)
}

// put gives back v, which the caller no longer uses, cleared when clean
// is set (items point at the caller's records: a pooled slice must not
// keep them alive).
func (s *slicePool[T]) put(v []T, clean bool) {
	if cap(v) > maxScratchRecords {
		return
	}
	if clean {
		clear(v)
	}
	s.p.Put(&v)
}

// maxScratchBytes bounds the byte buffers the pools keep: about four of
// a task's read batches (Options.ReadBatchBytes' default) packed, or an
// unpacked batch as large as a codec's block may be.
const maxScratchBytes = 8 << 20

// bytesPool is a pool of byte buffers of at most maxScratchBytes.
type bytesPool struct{ p sync.Pool }

// get returns an empty buffer, with what capacity was put last.
func (s *bytesPool) get() []byte {
	if p, ok := s.p.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return nil
}

// put gives back b, which the caller no longer uses (nor anything
// aliasing it).
func (s *bytesPool) put(b []byte) {
	if b == nil || cap(b) > maxScratchBytes {
		return
	}
	s.p.Put(&b)
}
