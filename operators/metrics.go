package operators

import "sync/atomic"

// Metrics count what a query's tasks did. Safe for concurrent use.
type Metrics struct {
	// Consumed counts input records read.
	Consumed atomic.Int64
	// Produced counts output records written (or rows sent).
	Produced atomic.Int64
	// Failed counts input records skipped because they could not be
	// decoded or evaluated.
	Failed atomic.Int64
	// Late counts records dropped because every window they belong to had
	// closed (stream time past the window's end plus its grace period).
	Late atomic.Int64
	// LastError is the most recent failure's message.
	LastError atomic.Pointer[string]
}

func (m *Metrics) fail(err error) {
	m.Failed.Add(1)
	s := err.Error()
	m.LastError.Store(&s)
}
