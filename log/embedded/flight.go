package embedded

import (
	"context"
	"sync"
)

// flights tracks the writes in flight, so that CommittedOffsets can wait
// for the ones it must without stopping the others.
//
// A Txn's group offsets are readable as soon as its batch commits, but
// its records become visible only once it and every earlier write to
// their partitions have published: without a wait, a caller could see
// the offsets of a Txn whose output is not yet in EndOffsets, and a pull
// query waiting on both would read too early. CommittedOffsets used to
// take a lock that every write held shared from before it reserved its
// offsets until it published, and so stopped every task's next commit
// for as long as it waited for the ones in flight: polled by a client
// waiting for a query to catch up, it serialized the query's tasks
// (8.4 s of lock waits in an 8.6 s Nexmark q0).
//
// Now each write takes a ticket before it reserves offsets and hands it
// back once it has published, and CommittedOffsets reads the offsets,
// then waits for every ticket taken before the read was over. Any write
// whose offsets it read committed before that, so took its ticket before
// (and so did every earlier write to the same partitions, which reserved
// its offsets before that write did). Writes that start meanwhile are
// neither stopped nor waited for.
type flights struct {
	mu struct {
		sync.Mutex
		// next is the ticket the next write takes.
		next uint64
		// queue are the tickets not yet back, and some that are, in
		// ticket order; low is the first ticket not back (next when
		// none is out).
		queue []*flight
		low   uint64
		// notify is closed when low moves, and replaced.
		notify chan struct{}
	}
}

// flight is one write's ticket.
type flight struct {
	n    uint64
	back bool
}

func newFlights() *flights {
	f := &flights{}
	f.mu.notify = make(chan struct{})
	return f
}

// begin hands out a ticket; the write gives it back with end.
func (f *flights) begin() *flight {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &flight{n: f.mu.next}
	f.mu.next++
	f.mu.queue = append(f.mu.queue, t)
	return t
}

// end gives a ticket back.
func (f *flights) end(t *flight) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.back = true
	moved := false
	for len(f.mu.queue) > 0 && f.mu.queue[0].back {
		f.mu.queue[0] = nil
		f.mu.queue = f.mu.queue[1:]
		moved = true
	}
	if !moved {
		return
	}
	if len(f.mu.queue) > 0 {
		f.mu.low = f.mu.queue[0].n
	} else {
		f.mu.low = f.mu.next
	}
	close(f.mu.notify)
	f.mu.notify = make(chan struct{})
}

// taken is the number of tickets handed out so far.
func (f *flights) taken() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.next
}

// wait returns once every ticket below n is back, or ctx is done.
func (f *flights) wait(ctx context.Context, n uint64) error {
	for {
		f.mu.Lock()
		low, notify := f.mu.low, f.mu.notify
		f.mu.Unlock()
		if low >= n {
			return nil
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
