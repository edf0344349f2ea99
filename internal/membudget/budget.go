package membudget

import (
	"sync"
	"sync/atomic"
)

// DefaultBytes is the budget's default: 256 MiB. On a machine of a few
// cores and tens of GiB it is a few percent of memory, and it gives each
// of the caches of a query over Nexmark's 4 partitions at least the fixed
// limit it had before the budget (about 200 MiB of limits for the
// largest of them, q4 and q7): Kafka Streams' 10 MiB would starve them.
const DefaultBytes = 256 << 20

// Budget is a bound on the bytes that every share drawn from it holds
// together. It is safe for concurrent use.
type Budget struct {
	total int64
	// weights is the sum of the weights of the shares held: read
	// without the lock by Share.Bytes, written under it.
	weights atomic.Int64
	// used is the sum of what the shares held have published of their
	// use (Share.Use): within a sixteenth of each share of the truth.
	used atomic.Int64
	mu   struct {
		sync.Mutex
		// shares are the shares held, for Used.
		shares map[*Share]struct{}
	}
}

// New returns a budget of total bytes; total <= 0 is DefaultBytes.
func New(total int64) *Budget {
	if total <= 0 {
		total = DefaultBytes
	}
	b := &Budget{total: total}
	b.mu.shares = make(map[*Share]struct{})
	return b
}

// Total is the budget's bound in bytes.
func (b *Budget) Total() int64 { return b.total }

// Used sums what the shares held report holding (Share.Use).
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for s := range b.mu.shares {
		n += s.used.Load()
	}
	return n
}

// Shares counts the shares held.
func (b *Budget) Shares() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mu.shares)
}

// Account opens an account on b: the shares of one query's tasks,
// released together. A nil budget gives a nil account (fixed shares).
func (b *Budget) Account() *Account {
	if b == nil {
		return nil
	}
	return &Account{b: b}
}

// Account is the shares one owner (a persistent query) draws from a
// budget. Its methods are safe for concurrent use (every task of a query
// draws from one account, each from its own goroutine), and those of a
// nil Account too.
type Account struct {
	b  *Budget
	mu struct {
		sync.Mutex
		shares   []*Share
		released bool
	}
}

// Share draws a share of weight bytes (what the cache would hold on its
// own; at least 1) from the account's budget; of a nil or released
// account, a share fixed at weight bytes that the budget does not count.
func (a *Account) Share(weight int) *Share {
	w := int64(max(weight, 1))
	if a == nil {
		return &Share{weight: w}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.released {
		return &Share{weight: w}
	}
	s := &Share{b: a.b, weight: w}
	a.mu.shares = append(a.mu.shares, s)
	a.b.mu.Lock()
	a.b.mu.shares[s] = struct{}{}
	a.b.weights.Add(w)
	a.b.mu.Unlock()
	return s
}

// Release gives back every share of the account; the caches that hold
// them must be unused from here (their tasks have stopped). A share drawn
// later is fixed. Releasing twice is a no-op.
func (a *Account) Release() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.released {
		return
	}
	a.mu.released = true
	a.b.mu.Lock()
	for _, s := range a.mu.shares {
		delete(a.b.mu.shares, s)
		a.b.weights.Add(-s.weight)
		// The share's owner has stopped (Release's contract), so
		// published is read after its last write.
		a.b.used.Add(-s.published)
	}
	a.b.mu.Unlock()
	a.mu.shares = nil
}

// Share is one cache's part of a budget. It belongs to its cache's
// goroutine: Bytes and Use are called from there (Used reads what Use
// stored from any goroutine).
type Share struct {
	// b is nil for a fixed share.
	b      *Budget
	weight int64
	// used is what the cache last reported holding.
	used atomic.Int64
	// published is the part of used added to b.used, moved only when it
	// is a sixteenth of the fair share off, to spare the shared counter
	// a write per call. The owner's only.
	published int64
}

// fair is the share's part of the budget by weight.
func (s *Share) fair() int64 {
	sum := s.b.weights.Load()
	if sum < s.weight {
		// Only while a Release races with this load.
		sum = s.weight
	}
	// In floating point: total times weight can pass 2^63.
	return int64(float64(s.b.total) * float64(s.weight) / float64(sum))
}

// Bytes is what the cache may hold now, or its weight for a fixed share:
// its part of the budget by weight, less what the others hold past
// theirs (a cache of an idle task keeps what it held until its task
// runs again), less a sixteenth for a cache's last entry and for use not
// yet published. It changes as other shares are drawn, released and
// used; a cache over it evicts at its next chance.
func (s *Share) Bytes() int {
	if s.b == nil {
		return int(s.weight)
	}
	fair := s.fair()
	others := s.b.used.Load() - s.published
	n := min(fair, s.b.total-others) - fair/16
	return int(max(n, 0))
}

// Use reports that the cache holds n bytes now.
func (s *Share) Use(n int) {
	s.used.Store(int64(n))
	if s.b == nil {
		return
	}
	d := int64(n) - s.published
	if d != 0 && (n == 0 || max(d, -d) >= s.fair()/32) {
		s.b.used.Add(d)
		s.published = int64(n)
	}
}
