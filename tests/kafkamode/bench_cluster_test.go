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

// BenchmarkClusterGroupBy measures a GROUP BY count over a topic of b.N
// events (6 partitions, 10,000 keys) on 1, 2 and 3 nodes of one kfake
// cluster. The query starts first, on the empty topic, and its tasks
// spread evenly over the nodes (the rebalances are not timed); then the
// events are written in one transaction, so that the tasks find them all
// at once, as in a preloaded topic; the clock runs from that commit until
// a pull query (read-your-writes across the nodes) counts every event.
// The nodes and kfake all run in the benchmark's one process and share
// its cores: the figure shows what spreading the tasks costs and gains on
// one machine, not a cluster of machines. It prints its rate as it goes.
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
		// The query reads the preloaded events.
		`SET 'auto.offset.reset'='earliest'`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE out AS SELECT userid, COUNT(*) AS n FROM pageviews GROUP BY userid`); err != nil {
		b.Fatal(err)
	}
	id := ""
	for _, q := range harness.Rows(b, conn, `SHOW QUERIES`) {
		if f := strings.Fields(q); len(f) > 0 && strings.HasPrefix(f[0], "CTAS_OUT") {
			id = f[0]
		}
	}
	// The group forms first, on the empty topic: each node joins the
	// query's consumer group as it learns of the query, each join a
	// rebalance of seconds, which would swamp the measure.
	placed := awaitShares(b, id, servers)

	// The events are written in one transaction: the query's tasks read
	// committed records only, so they find all b.N at once, as in a topic
	// loaded before the query started.
	const keys = 10000
	l := servers[0].Engine.Log()
	txn := log.Txn{Records: make([]log.ProduceRecord, 0, b.N)}
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf(`{"PAGEID":"page_%d","VIEWTIME":%d}`, i%100, i%10000)
		txn.Records = append(txn.Records, log.ProduceRecord{Topic: "pageviews",
			Record: log.Record{Key: []byte(fmt.Sprintf("user_%d", i%keys)), Value: []byte(v), Partition: -1}})
	}
	t0 := time.Now()
	if err := l.Commit(ctx, txn); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(t0)
	txn.Records = nil

	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		progress(ctx, b, l, done, start)
	}()
	// The pull waits until every task, on whichever node, has counted
	// every event appended before it.
	total := sumColumn(ctx, b, conn)
	end := time.Now()
	b.StopTimer()
	close(done)
	<-stopped
	elapsed := end.Sub(start)
	if total != int64(b.N) {
		b.Fatalf("the table counts %d events, want %d", total, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	var tasks []string
	for _, s := range servers {
		t, _ := s.Engine.LocalTasks(id)
		tasks = append(tasks, fmt.Sprint(len(t)))
	}
	fmt.Fprintf(os.Stderr, "  %s: %d events (loaded in one transaction in %s) counted in %s: %.0f records/s; tasks per node %s before, %s after\n",
		b.Name(), b.N, loaded.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(b.N)/elapsed.Seconds(), placed, strings.Join(tasks, ", "))
}

// awaitShares waits until the nodes run every task of query id once
// between them, each node an even share, and returns the shares.
func awaitShares(b *testing.B, id string, servers []*harness.Server) string {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var shares []string
		total, even := 0, true
		for _, s := range servers {
			t, _ := s.Engine.LocalTasks(id)
			total += len(t)
			even = even && len(t) == benchPartitions/len(servers)
			shares = append(shares, fmt.Sprint(len(t)))
		}
		if total == benchPartitions && even {
			return strings.Join(shares, ", ")
		}
		if time.Now().After(deadline) {
			b.Fatalf("the tasks of %s never spread evenly: %v", id, shares)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
