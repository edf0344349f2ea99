package torture

import "sync"

// outcome is what the client knows about one id's INSERT.
type outcome uint8

const (
	// neverSent: no INSERT carried the id (it was never allocated).
	neverSent outcome = iota
	// pending: the INSERT is in flight.
	pending
	// acked: the server acknowledged the INSERT: the row must be in the
	// source exactly once.
	acked
	// unknown: the connection dropped after the INSERT was sent: the row
	// may have landed, at most once.
	unknown
	// refused: the server answered with an error: like PostgreSQL, a
	// failed statement has no effect, so the row must be absent.
	refused
	numOutcomes
)

func (o outcome) String() string {
	return [...]string{"never sent", "pending", "acknowledged", "unknown", "refused"}[o]
}

// ledger records the outcome of every id the writers allocate. Ids are
// dense from 1, so the ledger is one byte an id: it grows with the input
// and no faster.
type ledger struct {
	mu struct {
		sync.Mutex
		// outcomes[id] is id's outcome; outcomes[0] is unused.
		outcomes []outcome
		// counts[o] is how many ids have outcome o.
		counts [numOutcomes]int64
	}
}

func newLedger() *ledger {
	l := &ledger{}
	l.mu.outcomes = []outcome{neverSent}
	return l
}

// allocate reserves n consecutive new ids, pending, and returns the first.
func (l *ledger) allocate(n int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := int64(len(l.mu.outcomes))
	for range n {
		l.mu.outcomes = append(l.mu.outcomes, pending)
	}
	l.mu.counts[pending] += int64(n)
	return first
}

// settle records the outcome of the n pending ids from first.
func (l *ledger) settle(first int64, n int, o outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := first; id < first+int64(n); id++ {
		l.mu.counts[l.mu.outcomes[id]]--
		l.mu.outcomes[id] = o
		l.mu.counts[o]++
	}
}

// count returns how many ids have outcome o.
func (l *ledger) count(o outcome) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.counts[o]
}

// snapshot returns a copy of the outcomes, indexed by id.
func (l *ledger) snapshot() []outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]outcome(nil), l.mu.outcomes...)
}
