package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/tests/torture"
)

// TestTableAggregationKilledMidRunIsDeterministic: an aggregation of a
// table whose rows are updated within their groups (one repartition
// record each, KIP-904), moved to other groups (a retraction and an
// addition) and deleted, all in the log before the query starts, run by
// the real binary and killed with kill -9 again and again while it works,
// writes exactly what an uninterrupted run writes: one change per update
// within a group, two per move, one per delete, the same records in the
// same order. Its two stages commit through the repartition topic, so a
// crash between them must neither lose nor repeat an update's one record.
// The table has one partition, so the repartition topic's order is the
// table's and the output is a function of the input. The query runs with
// cache.max.bytes.buffering 0, so that every change is emitted.
func TestTableAggregationKilledMidRunIsDeterministic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := torture.Build(ctx, t.TempDir(), torture.RaceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	// Several of the tasks' read batches (32,768 records), so that the
	// sink grows in steps a kill can fall between: about six, so that a
	// machine that works through three before the first look at the sink
	// still gets its kill mid-run.
	setup, total := tableAggCrashData(1000, 160)
	// Every change, with the record cache off (as ksqlDB's QTT runs):
	// with it on, a change is emitted per group and batch, and a crash
	// moves the batch boundaries, so only each group's last value would
	// be the same in both runs.
	query := []string{`SET 'auto.offset.reset' = 'earliest'`, `SET 'cache.max.bytes.buffering' = '0'`,
		`CREATE TABLE acct_sums AS SELECT grp, COUNT(*) AS n, SUM(v) AS s FROM acct GROUP BY grp HAVING COUNT(*) > 0`}
	barrier := []string{`SET 'runnel.pull.timeout.ms'='600000'`, `SELECT * FROM acct_sums WHERE grp = 'g0'`}

	calm := startBinary(t, bin)
	calm.run(ctx, setup)
	calm.run(ctx, query)
	calm.run(ctx, barrier)
	if n := calm.sinkRows(ctx, "acct_sums"); n != total {
		t.Fatalf("the uninterrupted run wrote %d records, want %d: one per update within a group, two per move, one per delete", n, total)
	}
	want := calm.waitSink(ctx, "acct_sums", total)
	calm.stop()

	killed := startBinary(t, bin)
	killed.run(ctx, setup)
	killed.run(ctx, query)
	killed.killWhileWorking(ctx, "acct_sums", total)
	killed.run(ctx, barrier)
	got := killed.waitSink(ctx, "acct_sums", total)
	killed.stop()
	samePartitions(t, got, want)
}

// tableAggCrashData declares a table of keys k0..k(keys-1) in five groups
// and fills it, with explicit ROWTIMEs in order: every version updates
// every key's value, and every fourth version moves each key to the next
// group; then a third of the keys are deleted (through a stream over the
// table's topic). Keys are spread over the groups so that no group ever
// empties. total is how many records the aggregation writes.
func tableAggCrashData(keys, versions int) (stmts []string, total int) {
	stmts = []string{
		`CREATE TABLE acct (id VARCHAR PRIMARY KEY, grp VARCHAR, v INT) WITH (kafka_topic='acct', partitions=1)`,
		`CREATE STREAM acct_del (id VARCHAR KEY, grp VARCHAR) WITH (kafka_topic='acct', wrap_single_value=false)`,
	}
	var b strings.Builder
	flush := func(prefix string) {
		if b.Len() > 0 {
			stmts = append(stmts, prefix+b.String())
			b.Reset()
		}
	}
	row := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, format, args...)
	}
	for v := range versions {
		for k := range keys {
			row("('k%d', 'g%d', %d, %d)", k, (k+v/4)%5, v, 1000+v*100000+k)
			switch {
			case v == 0:
				total++ // a new row
			case v%4 == 0:
				total += 2 // moved: its old group, then its new one
			default:
				total++ // within its group: one change
			}
		}
		flush(`INSERT INTO acct (id, grp, v, ROWTIME) VALUES `)
	}
	for k := 0; k < keys; k += 3 {
		row("('k%d', NULL, %d)", k, 1000+versions*100000+k)
		total++
	}
	flush(`INSERT INTO acct_del (id, grp, ROWTIME) VALUES `)
	return stmts, total
}
