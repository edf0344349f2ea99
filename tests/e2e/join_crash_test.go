package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/tests/torture"
)

// TestJoinKilledMidRunIsDeterministic: a stream-table join over inputs
// that are both in the log before the query starts, run by the real
// binary and killed with kill -9 again and again while it works, writes
// exactly what an uninterrupted run writes: the same rows, in the same
// order in every partition of the sink. The stream is keyed otherwise, so
// the join has two stages (the repartition by the join key, and the join);
// the table's rows change over time, so each stream record's match
// depends on the order the inputs are merged in.
//
// The stream has one partition: a repartition topic written by several
// tasks interleaves their records in whatever order they commit, in any
// run, crashed or not (as in ksqlDB), and the join reads it in that
// order. From one partition the repartition topic's order is the
// stream's, and the whole output is a function of the input.
func TestJoinKilledMidRunIsDeterministic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := torture.Build(ctx, t.TempDir(), torture.RaceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	const views, users = 30000, 300
	setup := joinCrashData(views, users)

	calm := startBinary(t, bin)
	calm.run(ctx, setup)
	calm.run(ctx, []string{`SET 'auto.offset.reset' = 'earliest'`, joinCrashQuery})
	want := calm.waitSink(ctx, "enriched", views)
	calm.stop()

	killed := startBinary(t, bin)
	killed.run(ctx, setup)
	killed.run(ctx, []string{`SET 'auto.offset.reset' = 'earliest'`, joinCrashQuery})
	killed.killWhileWorking(ctx, "enriched", views)
	got := killed.waitSink(ctx, "enriched", views)
	killed.stop()
	samePartitions(t, got, want)
}

const joinCrashQuery = `CREATE STREAM enriched AS SELECT v.userid AS userid, v.id, v.n, u.region, u.version
	FROM views v LEFT JOIN users u ON v.userid = u.id EMIT CHANGES`

// joinCrashData declares the inputs and fills them: users rows that
// change every 100 ms of event time, and views that interleave with those
// changes, all with explicit ROWTIMEs in order within each topic.
func joinCrashData(views, users int) []string {
	stmts := []string{
		`CREATE STREAM views (id BIGINT KEY, userid VARCHAR, n INT) WITH (kafka_topic='views', partitions=1)`,
		`CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR, version INT) WITH (kafka_topic='users', partitions=2)`,
	}
	var b strings.Builder
	flush := func(prefix string) {
		if b.Len() > 0 {
			stmts = append(stmts, prefix+b.String())
			b.Reset()
		}
	}
	const versions = 10
	for v := range versions {
		for u := range users {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "('u%d', 'r%d', %d, %d)", u, (u+v)%7, v, 1000+v*100000+u)
		}
		flush(`INSERT INTO users (id, region, version, ROWTIME) VALUES `)
	}
	for i := range views {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		// Every 13th view names a user that has no row.
		user := fmt.Sprintf("u%d", (i*7)%users)
		if i%13 == 0 {
			user = "nobody"
		}
		fmt.Fprintf(&b, "(%d, '%s', %d, %d)", i, user, i, 1000+int64(i)*int64(versions)*100000/int64(views))
		if (i+1)%2000 == 0 {
			flush(`INSERT INTO views (id, userid, n, ROWTIME) VALUES `)
		}
	}
	flush(`INSERT INTO views (id, userid, n, ROWTIME) VALUES `)
	return stmts
}

// TestTableChainKilledMidRunIsDeterministic: a chain of three tables
// (LEFT, then INNER) whose inputs change and are deleted over time, all
// in the log before the query starts, run by the real binary and killed
// with kill -9 again and again while it works, writes exactly what an
// uninterrupted run writes: the same upserts and tombstones, in the same
// order in every partition of the sink. Its two stages commit through
// the internal topic between them (_runnel_<id>_join2_repartition), so a
// crash between them must neither lose nor repeat a change of the first
// join. The tables have two partitions and keys in one format, so each
// task of the first stage writes one partition of the internal topic, and
// the output is a function of the input.
func TestTableChainKilledMidRunIsDeterministic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := torture.Build(ctx, t.TempDir(), torture.RaceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	// Large enough that the race-enabled binary on a fast machine is still
	// working when the first kill comes (1,000 keys finished first once).
	setup := tableChainCrashData(5000, 6)
	query := []string{`SET 'auto.offset.reset' = 'earliest'`,
		`CREATE TABLE contacts AS SELECT u.id AS id, u.name, u.v, p.phone, e.email
		FROM cu u LEFT JOIN cp p ON u.id = p.id JOIN ce e ON u.id = e.id`}

	calm := startBinary(t, bin)
	calm.run(ctx, setup)
	calm.run(ctx, query)
	// A pull query waits until every stage has read its inputs to their
	// ends: the sink is then whole. The race-enabled binary on a loaded
	// machine may take longer than the default wait.
	barrier := []string{`SET 'runnel.pull.timeout.ms'='600000'`, `SELECT * FROM contacts WHERE id = 'k1'`}
	calm.run(ctx, barrier)
	total := calm.sinkRows(ctx, "contacts")
	want := calm.waitSink(ctx, "contacts", total)
	calm.stop()
	t.Logf("the uninterrupted run wrote %d records", total)

	killed := startBinary(t, bin)
	killed.run(ctx, setup)
	killed.run(ctx, query)
	killed.killWhileWorking(ctx, "contacts", total)
	killed.run(ctx, barrier)
	got := killed.waitSink(ctx, "contacts", total)
	killed.stop()
	samePartitions(t, got, want)
}

// tableChainCrashData declares three tables over keys k0..k(keys-1) and
// fills them, all with explicit ROWTIMEs: every version of cu renames
// every key; cp's rows change, and a third of them are deleted (through a
// stream over its topic) and come back in the next version; ce holds an
// email for two keys in three, which change every other version.
func tableChainCrashData(keys, versions int) []string {
	stmts := []string{
		`CREATE TABLE cu (id VARCHAR PRIMARY KEY, name VARCHAR, v INT) WITH (kafka_topic='cu', partitions=2)`,
		`CREATE TABLE cp (id VARCHAR PRIMARY KEY, phone VARCHAR) WITH (kafka_topic='cp', partitions=2)`,
		`CREATE STREAM cp_del (id VARCHAR KEY, phone VARCHAR) WITH (kafka_topic='cp', wrap_single_value=false)`,
		`CREATE TABLE ce (id VARCHAR PRIMARY KEY, email VARCHAR) WITH (kafka_topic='ce', partitions=2)`,
	}
	var b strings.Builder
	flush := func(prefix string) {
		if b.Len() > 0 {
			stmts = append(stmts, prefix+b.String())
			b.Reset()
		}
	}
	rows := 0
	row := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, format, args...)
		rows++
	}
	// Each INSERT holds at most 1,000 rows, well under the statement limit.
	chunk := func(prefix string) {
		if rows%1000 == 0 {
			flush(prefix)
		}
	}
	for v := range versions {
		base := 1000 + v*100000
		for k := range keys {
			row("('k%d', 'n%d-%d', %d, %d)", k, k, v, v, base+k*10)
			chunk(`INSERT INTO cu (id, name, v, ROWTIME) VALUES `)
		}
		flush(`INSERT INTO cu (id, name, v, ROWTIME) VALUES `)
		for k := range keys {
			row("('k%d', 'p%d-%d', %d)", k, k, v, base+k*10+3)
			chunk(`INSERT INTO cp (id, phone, ROWTIME) VALUES `)
		}
		flush(`INSERT INTO cp (id, phone, ROWTIME) VALUES `)
		for k := 0; k < keys; k += 3 {
			row("('k%d', NULL, %d)", k, base+k*10+5)
			chunk(`INSERT INTO cp_del (id, phone, ROWTIME) VALUES `)
		}
		flush(`INSERT INTO cp_del (id, phone, ROWTIME) VALUES `)
		if v%2 == 0 {
			for k := range keys {
				if k%3 != 2 {
					row("('k%d', 'e%d-%d', %d)", k, k, v, base+k*10+7)
					chunk(`INSERT INTO ce (id, email, ROWTIME) VALUES `)
				}
			}
			flush(`INSERT INTO ce (id, email, ROWTIME) VALUES `)
		}
	}
	return stmts
}
