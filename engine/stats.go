package engine

import (
	"context"
	"fmt"

	"github.com/runnel/runnel/operators/build"
)

// StateStats sums the keys and the bytes (keys plus values, as stored) of
// the state a persistent query keeps, across its stages and partitions:
// its aggregations' stores (keys: their groups) and its joins' stores
// (keys: a stream-table join's table rows, a table-table join's rows, a
// stream-stream join's records in their windows). A query that joins and
// then aggregates (Nexmark's q4) counts both. The stores that only serve
// others (a repartitioned table's last rows, a table's materialization
// for pull queries) are not counted. It scans the stores, so it costs
// time proportional to the state: benchmarks and diagnostics, not hot
// paths.
func (e *Engine) StateStats(ctx context.Context, queryID string) (keys, bytes int64, err error) {
	stores, err := e.countedStores(queryID)
	if err != nil {
		return 0, 0, err
	}
	for _, s := range stores {
		prefix := statePrefix(s.Role)
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		r := e.state.Reader(s.Name)
		err := r.Scan(nil, nil, func(k, v []byte) bool {
			if len(k) > 0 && k[0] == prefix {
				keys++
			}
			bytes += int64(len(k) + len(v))
			return true
		})
		if err != nil {
			return 0, 0, fmt.Errorf("state of %s: %w", s.Name, err)
		}
	}
	return keys, bytes, nil
}

// StateDiskBytes estimates the bytes that the stores StateStats counts
// take on disk (state.Manager.DiskUsage: the memtables flushed first, then
// the tables' share of each store's key range), for the ratio of the
// state on disk to its encoded keys and values. Benchmarks and
// diagnostics only: it flushes the database.
func (e *Engine) StateDiskBytes(ctx context.Context, queryID string) (int64, error) {
	stores, err := e.countedStores(queryID)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(stores))
	for i, s := range stores {
		names[i] = s.Name
	}
	n, err := e.state.DiskUsage(ctx, names)
	if err != nil {
		return 0, fmt.Errorf("state on disk of %s: %w", queryID, err)
	}
	return n, nil
}

// countedStores returns the stores of a running query that StateStats
// and StateDiskBytes count (statePrefix), or an error when it has none.
func (e *Engine) countedStores(queryID string) ([]build.Store, error) {
	var stores []build.Store
	if rq, ok := e.runningQuery(queryID); ok {
		for _, s := range rq.stores {
			if statePrefix(s.Role) != 0 {
				stores = append(stores, s)
			}
		}
	}
	if len(stores) == 0 {
		return nil, fmt.Errorf("query %s is not a running aggregation or join", queryID)
	}
	return stores, nil
}

// statePrefix is the first byte of the keys StateStats counts in a store
// of role, or 0 for a role it leaves out: an aggregation's groups ('a'),
// a join's rows or records ('r'; its other keys are indexes and the
// stream time, whose bytes count all the same).
func statePrefix(role build.StoreRole) byte {
	switch role {
	case build.StoreAggregate:
		return 'a'
	case build.StoreJoin:
		return 'r'
	}
	return 0
}
