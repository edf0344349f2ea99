package engine

import (
	"context"
	"fmt"

	"github.com/runnel/runnel/operators/build"
)

// StateStats sums the keys and the bytes (keys plus values, as stored) of
// a persistent query's aggregation state — or, for a join without one,
// its join state (a stream-table join's table rows) — across its
// partitions. It scans the stores, so it costs time proportional to the
// state: benchmarks and diagnostics, not hot paths.
func (e *Engine) StateStats(ctx context.Context, queryID string) (keys, bytes int64, err error) {
	rq, ok := e.runningQuery(queryID)
	role, prefix := build.StoreRole(0), byte(0)
	if ok {
		for _, s := range rq.stores {
			switch {
			case s.Role == build.StoreAggregate:
				role, prefix = s.Role, 'a'
			case s.Role == build.StoreJoin && role == 0:
				role, prefix = s.Role, 'r'
			}
		}
	}
	if role == 0 {
		return 0, 0, fmt.Errorf("query %s is not a running aggregation or join", queryID)
	}
	for _, s := range rq.stores {
		if s.Role != role {
			continue
		}
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
			return 0, 0, err
		}
	}
	return keys, bytes, nil
}
