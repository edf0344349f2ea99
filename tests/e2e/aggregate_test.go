package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/runnel/runnel/tests/harness"
)

func TestGroupByCountSum(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	// Every update, with the record cache off: with it on, the updates of
	// a group within a batch are one change (agg_record_cache.slt).
	exec(t, c, `SET 'cache.max.bytes.buffering' = '0'`)
	exec(t, c, `CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='pageviews', partitions=4)`)
	exec(t, c, `CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS views, SUM(viewtime) AS total FROM pageviews GROUP BY userid EMIT CHANGES`)
	exec(t, c, `CREATE TABLE views_per_page AS SELECT pageid, COUNT(*) AS n FROM pageviews GROUP BY pageid`)
	exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('alice', 'home', 10), ('bob', 'home', 20), ('alice', 'about', 30)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	// The changelog of the table: every update, in per-key order.
	got := collect(t, c, `SELECT userid, views, total FROM views_per_user EMIT CHANGES LIMIT 3`)
	if strings.Join(got, ",") != "alice 1 10,bob 1 20,alice 2 40" && strings.Join(got, ",") != "bob 1 20,alice 1 10,alice 2 40" && strings.Join(got, ",") != "alice 1 10,alice 2 40,bob 1 20" {
		t.Fatalf("changes = %q", got)
	}
	got = collect(t, c, `SELECT pageid, n FROM views_per_page EMIT CHANGES LIMIT 3`)
	if len(got) != 3 {
		t.Fatalf("page changes = %q", got)
	}
}

// TestPullQueriesReadYourWrites is the scenario: a pull query
// right after an INSERT already counts it.
func TestPullQueriesReadYourWrites(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='pageviews', partitions=4)`)
	exec(t, c, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', value_format='JSON', partitions=4)`)
	exec(t, c, `CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS views, SUM(viewtime) AS total FROM pageviews GROUP BY userid EMIT CHANGES`)
	exec(t, c, `CREATE TABLE views_per_minute AS SELECT pageid, WINDOWSTART AS ws, WINDOWEND AS we, COUNT(*) AS n
		FROM pageviews WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY pageid EMIT CHANGES`)
	for i := 0; i < 5; i++ {
		exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime, ROWTIME) VALUES ('alice', 'home', 100, 1795428000000)`)
		// Read your writes: no retry, the pull query waits.
		want := []string{"alice " + itoa(i+1) + " " + itoa(100*(i+1))}
		if got := collect(t, c, `SELECT * FROM views_per_user WHERE userid = 'alice'`); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("pull after insert %d = %q, want %q", i+1, got, want)
		}
	}
	exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime, ROWTIME) VALUES ('bob', 'home', 1, 1795428030000), ('bob', 'about', 1, 1795428070000)`)
	got := collect(t, c, `SELECT pageid, ws, n FROM views_per_minute WHERE pageid = 'home' AND WINDOWSTART >= 1795428000000`)
	if strings.Join(got, ",") != "home 1795428000000 6" {
		t.Fatalf("windowed pull = %q", got)
	}
	// The form: window bounds compared with ISO-8601 text.
	got = collect(t, c, `SELECT pageid, n FROM views_per_minute WHERE pageid = 'home' AND WINDOWSTART >= '2026-11-23T10:00:00'`)
	if strings.Join(got, ",") != "home 6" {
		t.Fatalf("windowed pull with an ISO bound = %q", got)
	}
	if got = collect(t, c, `SELECT pageid, n FROM views_per_minute WHERE pageid = 'home' AND WINDOWSTART > '2026-11-23T10:00:00'`); len(got) != 0 {
		t.Fatalf("windowed pull past the window = %q", got)
	}
	got = collect(t, c, `SELECT userid, views FROM views_per_user ORDER BY views DESC LIMIT 1`)
	if strings.Join(got, ",") != "alice 5" {
		t.Fatalf("ORDER BY LIMIT = %q", got)
	}
	exec(t, c, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us'), ('alice', 'apac'), ('carol', 'eu'), ('dave', 'us')`)
	if got := collect(t, c, `SELECT id, region FROM users ORDER BY id`); strings.Join(got, ",") != "alice apac,bob us,carol eu,dave us" {
		t.Fatalf("table pull = %q", got)
	}
	// Key ranges.
	if got := collect(t, c, `SELECT id FROM users WHERE id BETWEEN 'b' AND 'czz' ORDER BY id`); strings.Join(got, ",") != "bob,carol" {
		t.Fatalf("key range = %q", got)
	}
	if got := collect(t, c, `SELECT id, region FROM users WHERE id >= 'c' AND region = 'us'`); strings.Join(got, ",") != "dave us" {
		t.Fatalf("key range with a filter = %q", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestTransientAggregation runs GROUP BY as a push query.
func TestTransientAggregation(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM clicks (userid VARCHAR KEY, page VARCHAR) WITH (kafka_topic='clicks', partitions=1)`)
	exec(t, c, `INSERT INTO clicks (userid, page) VALUES ('a', 'x'), ('b', 'x'), ('a', 'y')`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	got := collect(t, c, `SELECT page, COUNT(*) AS n FROM clicks GROUP BY page EMIT CHANGES LIMIT 3`)
	if strings.Join(got, ",") != "x 1,x 2,y 1" {
		t.Fatalf("transient aggregation = %q", got)
	}
}

// TestExplainAggregation prints the stages of an aggregation.
func TestExplainAggregation(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM pv (userid VARCHAR KEY, pageid VARCHAR) WITH (kafka_topic='pv', partitions=2)`)
	plan := strings.Join(collect(t, c, `EXPLAIN CREATE TABLE per_page AS SELECT pageid, COUNT(*) AS n FROM pv
		WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY pageid HAVING COUNT(*) > 1 EMIT FINAL`), "\n")
	for _, want := range []string{"[ SINK ] | TABLE PER_PAGE", "[ HAVING ] |", "[ AGGREGATE ] | GROUP BY PAGEID | COUNT(1)", "WINDOW TUMBLING (SIZE 1m0s)", "EMIT FINAL", "[ REPARTITION ]", "[ SOURCE ] | STREAM PV"} {
		if !strings.Contains(plan, want) {
			t.Errorf("EXPLAIN lacks %q:\n%s", want, plan)
		}
	}
	plan = strings.Join(collect(t, c, `EXPLAIN SELECT userid, COUNT(*) FROM pv GROUP BY userid EMIT CHANGES`), "\n")
	if strings.Contains(plan, "REPARTITION") {
		t.Errorf("grouping by the key needs no repartition:\n%s", plan)
	}
}

// TestTerminateDropsState: TERMINATE removes an aggregation's internal
// repartition topic.
func TestTerminateDropsState(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM pv (userid VARCHAR KEY, pageid VARCHAR) WITH (kafka_topic='pv', partitions=2)`)
	exec(t, c, `CREATE TABLE per_page AS SELECT pageid, COUNT(*) AS n FROM pv GROUP BY pageid`)
	internal := func() int {
		n := 0
		for _, r := range collect(t, c, `SHOW TOPICS EXTENDED`) {
			if strings.Contains(r, "_repartition") {
				n++
			}
		}
		return n
	}
	if internal() != 1 {
		t.Fatalf("no repartition topic while the query runs")
	}
	exec(t, c, `TERMINATE ALL`)
	if n := internal(); n != 0 {
		t.Fatalf("%d repartition topics left after TERMINATE", n)
	}
}

// TestPrintDecodesDeclaredKeys: PRINT reads keys with the key format of the
// stream or table over the topic, windowed keys included.
func TestPrintDecodesDeclaredKeys(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM ev (id BIGINT KEY, v VARCHAR) WITH (kafka_topic='ev', partitions=1)`)
	exec(t, c, `CREATE TABLE per_minute AS SELECT id, COUNT(*) AS n FROM ev WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY id`)
	exec(t, c, `INSERT INTO ev (id, v, ROWTIME) VALUES (42, 'x', 60000)`)
	got := collect(t, c, `PRINT 'ev' FROM BEGINNING LIMIT 1`)
	if len(got) != 1 || !strings.HasSuffix(got[0], ` 42 {"V":"x"}`) {
		t.Fatalf("PRINT ev = %q", got)
	}
	// A KAFKA DOUBLE key is 8 bytes, like a BIGINT: only the declared
	// type tells them apart.
	exec(t, c, `CREATE STREAM temps (sensor DOUBLE KEY, c INT) WITH (kafka_topic='temps', partitions=1)`)
	exec(t, c, `INSERT INTO temps (sensor, c) VALUES (1.5, 20)`)
	if got := collect(t, c, `PRINT 'temps' FROM BEGINNING LIMIT 1`); len(got) != 1 || !strings.HasSuffix(got[0], ` 1.5 {"C":20}`) {
		t.Fatalf("PRINT temps = %q", got)
	}
	got = collect(t, c, `PRINT 'PER_MINUTE' FROM BEGINNING LIMIT 1`)
	if len(got) != 1 || !strings.HasSuffix(got[0], ` 42@60000/120000 {"N":1}`) {
		t.Fatalf("PRINT of a windowed table = %q", got)
	}
}
