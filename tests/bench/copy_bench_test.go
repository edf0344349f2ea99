package bench

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

// BenchmarkCopyFrom measures COPY ... FROM STDIN of b.N three-column rows
// (VARCHAR key, VARCHAR, BIGINT) over loopback into a stream of four
// partitions, in text and CSV: the client's data, the server's decoding,
// encoding and buffering, and the one atomic commit to the embedded log,
// synced. It reports rows/s.
func BenchmarkCopyFrom(b *testing.B) {
	for _, format := range []string{"text", "csv"} {
		b.Run(format, func(b *testing.B) {
			s := harness.Start(b, harness.Options{Engine: func(o *engine.Options) { o.MaxTransactionBytes = 4 << 30 }})
			c := s.Connect(b)
			ctx := context.Background()
			if _, err := c.Exec(ctx, `CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT)
				WITH (kafka_topic='pageviews', partitions=4)`); err != nil {
				b.Fatal(err)
			}
			sep := "\t"
			if format == "csv" {
				sep = ","
			}
			var data bytes.Buffer
			for i := 0; i < b.N; i++ {
				fmt.Fprintf(&data, "user_%d%spage_%d%s%d\n", i%1000, sep, i%100, sep, i%10000)
			}
			b.SetBytes(int64(data.Len() / b.N))
			b.ResetTimer()
			start := time.Now()
			tag, err := c.PgConn().CopyFrom(ctx, &data, "COPY pageviews FROM STDIN WITH (FORMAT "+format+")")
			if err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if tag.RowsAffected() != int64(b.N) {
				b.Fatalf("copied %d rows, want %d", tag.RowsAffected(), b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
		})
	}
}
