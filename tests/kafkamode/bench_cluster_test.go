package kafkamode

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// benchPartitions is the source's partition count: a multiple of 1, 2
// and 3, so that every node count gets an even share of the tasks.
const benchPartitions = 6

// BenchmarkClusterGroupBy measures a GROUP BY count over a preloaded topic
// of b.N events on 1, 2 and 3 nodes of one kfake cluster, end to end: from
// the CREATE TABLE until a pull query (read-your-writes across the nodes)
// counts every event. The nodes and kfake all run in the benchmark's one
// process, so they share its cores: the figure shows what spreading the
// tasks costs and gains on one machine, not a cluster of machines. It
// prints its rate as it goes.
//
//	go test -run '^$' -bench ClusterGroupBy -benchtime 200000x ./tests/kafkamode/
func BenchmarkClusterGroupBy(b *testing.B) {
	for _, nodes := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) { benchClusterGroupBy(b, nodes) })
	}
}

func benchClusterGroupBy(b *testing.B, nodes int) {
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	var servers []*harness.Server
	for i := range nodes {
		id := fmt.Sprintf("n%d", i+1)
		servers = append(servers, harness.Start(b, harness.Options{Kafka: brokers, Engine: func(o *engine.Options) {
			o.NodeID, o.Advertise = id, id+":6543"
			o.ClusterSessionTimeout = 6 * time.Second // kfake's least: quick rebalances
		}}))
	}
	conn := servers[0].Connect(b)
	for _, q := range []string{
		fmt.Sprintf(`CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT)
		  WITH (kafka_topic='pageviews', value_format='JSON', partitions=%d)`, benchPartitions),
		`SET 'runnel.pull.timeout.ms'='3600000'`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	const keys = 10000
	l := servers[0].Engine.Log()
	const batch = 2000
	recs := make([]log.Record, 0, batch)
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf(`{"PAGEID":"page_%d","VIEWTIME":%d}`, i%100, i%10000)
		recs = append(recs, log.Record{Key: []byte(fmt.Sprintf("user_%d", i%keys)), Value: []byte(v), Partition: -1})
		if len(recs) == batch || i == b.N-1 {
			if _, err := l.Append(ctx, "pageviews", recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}

	b.ResetTimer()
	start := time.Now()
	if _, err := conn.Exec(ctx, `CREATE TABLE out AS SELECT userid, COUNT(*) AS n FROM pageviews GROUP BY userid`); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		progress(ctx, b, l, done, start)
	}()
	// The pull waits until every task, on whichever node, has counted
	// every event appended before it.
	var total int64
	err = conn.QueryRow(ctx, `SELECT SUM(n) FROM out`, pgx.QueryExecModeSimpleProtocol).Scan(&total)
	close(done)
	<-stopped
	b.StopTimer()
	elapsed := time.Since(start)
	if err != nil {
		// SUM over a pull query may not be supported: count the rows'
		// n one by one instead.
		total = sumColumn(ctx, b, conn)
	}
	if total != int64(b.N) {
		b.Fatalf("the table counts %d events, want %d", total, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	var tasks []string
	for _, s := range servers {
		id := ""
		for _, q := range harness.Rows(b, conn, `SHOW QUERIES`) {
			if f := strings.Fields(q); len(f) > 0 && strings.HasPrefix(f[0], "CTAS_OUT") {
				id = f[0]
			}
		}
		t, _ := s.Engine.LocalTasks(id)
		tasks = append(tasks, fmt.Sprint(len(t)))
	}
	fmt.Fprintf(os.Stderr, "  %s: %d events in %s, %.0f records/s; tasks per node at the end: %s\n",
		b.Name(), b.N, elapsed.Round(time.Millisecond), float64(b.N)/elapsed.Seconds(), strings.Join(tasks, ", "))
}

// sumColumn adds up the n column of every row of out.
func sumColumn(ctx context.Context, b *testing.B, conn *pgx.Conn) int64 {
	rows, err := conn.Query(ctx, `SELECT n FROM out`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			b.Fatal(err)
		}
		total += n
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return total
}

// progress prints, every second until done, how many updates the table's
// topic holds and the input rate that means so far (each event updates
// its group once, so the topic's records track the events counted).
func progress(ctx context.Context, b *testing.B, l log.Log, done <-chan struct{}, start time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		var n int64
		if ends, err := l.EndOffsets(ctx, "OUT"); err == nil {
			for _, e := range ends {
				n += e
			}
		}
		fmt.Fprintf(os.Stderr, "  %s: %.0fs, the table's topic at %d of about %d updates, %.0f records/s so far\n",
			b.Name(), time.Since(start).Seconds(), n, b.N, float64(n)/time.Since(start).Seconds())
	}
}
