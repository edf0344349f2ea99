package engine

import (
	"context"
	"fmt"
)

// StateStats sums the keys and the bytes (keys plus values, as stored) of
// a persistent query's aggregation state across its partitions. It scans
// the stores, so it costs time proportional to the state: benchmarks and
// diagnostics, not hot paths.
func (e *Engine) StateStats(ctx context.Context, queryID string) (keys, bytes int64, err error) {
	rq, ok := e.runningQuery(queryID)
	if !ok || rq.plan == nil || !rq.plan.Aggregates() {
		return 0, 0, fmt.Errorf("query %s is not a running aggregation", queryID)
	}
	partitions, err := e.partitionsOf(ctx, rq.plan.Sources()[0].Topic)
	if err != nil {
		return 0, 0, err
	}
	for p := int32(0); p < partitions; p++ {
		r := e.state.Reader(fmt.Sprintf("%s/agg/%d", queryID, p))
		err := r.Scan(nil, nil, func(k, v []byte) bool {
			if len(k) > 0 && k[0] == 'a' {
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
