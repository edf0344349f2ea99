package operators

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
)

// BenchmarkForeignKeyJoinNewLeftRows: Nexmark q7's left side, each left
// record a new row whose foreign key no right row has, in a
// TableJoinStore flushed every mergeBatch records as its task commits.
// Its allocations per record are the number to watch: the CPU seconds
// of a shared machine are noise.
func BenchmarkForeignKeyJoinNewLeftRows(b *testing.B) {
	j := fkJoin(b, false, nil, 1)
	j.Store = &TableJoinStore{Store: state.NewMemStore()}
	extra := strings.Repeat("x", 68) // a bid's extra, on average
	recs := make([]log.Record, b.N)
	for i := range recs {
		recs[i] = log.Record{
			Key:       fmt.Appendf(nil, "%d/%d", i%4, i),
			Value:     fmt.Appendf(nil, `{"FK":"%d/%d","N":%q}`, i/1000*10000, 100+i*7919%100000, extra),
			Timestamp: int64(i),
		}
	}
	emit := func(log.ProduceRecord) {}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := j.ProcessInput(0, &recs[i], emit); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			if err := j.Flush(emit); err != nil {
				b.Fatal(err)
			}
		}
	}
}
