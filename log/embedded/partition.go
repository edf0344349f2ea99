package embedded

import (
	"sync"
	"time"
)

// partition is the in-memory state of one partition: the offsets handed out
// and the offsets readers may see.
type partition struct {
	mu struct {
		sync.Mutex
		// next is the offset the next reservation starts at.
		next int64
		// visible is the end of what readers may read: every record below
		// it is durable, and so is every record of every earlier
		// reservation. visible <= next.
		visible int64
		// inflight are the reservations not yet published, in offset
		// order.
		inflight []*reservation
		// notify is closed when visible moves, and replaced.
		notify chan struct{}
		// start is the first offset a reader may read: 0 unless a purge
		// moved it (purge.go). purged is the base of the first key the
		// purges left, where the next one's DeleteRange begins.
		// purged <= start <= visible.
		start, purged int64
		// lastPurge is when the last purge was planned, or when the
		// partition's first commit was (Options.PurgeInterval).
		lastPurge time.Time
	}
}

// reservation is a range of offsets handed to one write.
type reservation struct {
	p    *partition
	end  int64 // one past the last offset of the range
	done bool  // the write finished (or failed, leaving a gap)
}

func newPartition(end int64) *partition {
	p := &partition{}
	p.mu.next = end
	p.mu.visible = end
	p.mu.notify = make(chan struct{})
	return p
}

// reserve hands out n consecutive offsets and returns the first.
func (p *partition) reserve(n int) (int64, *reservation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	base := p.mu.next
	p.mu.next += int64(n)
	r := &reservation{p: p, end: p.mu.next}
	p.mu.inflight = append(p.mu.inflight, r)
	return base, r
}

// complete marks r finished and publishes every finished reservation at the
// front of the queue. A reservation whose write failed is completed too: its
// offsets become a gap rather than blocking the partition forever.
//
// Why the queue: writes A (offsets 0-9) and B (10-19) sync in parallel and B
// may finish first. Publishing B then would let a reader at offset 0 skip
// A's records, which are about to appear. B waits in the queue until A is
// done, and A's completion publishes both.
func (r *reservation) complete() {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	r.done = true
	moved := false
	for len(p.mu.inflight) > 0 && p.mu.inflight[0].done {
		p.mu.visible = p.mu.inflight[0].end
		p.mu.inflight[0] = nil
		p.mu.inflight = p.mu.inflight[1:]
		moved = true
	}
	if moved {
		close(p.mu.notify)
		p.mu.notify = make(chan struct{})
	}
}

// state returns the start, the visible end and a channel closed when the
// end next moves.
func (p *partition) state() (start, visible int64, notify <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.start, p.mu.visible, p.mu.notify
}

// start returns the first offset readers may read.
func (p *partition) start() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.start
}

// visible returns the end offset readers may see.
func (p *partition) visible() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.visible
}
