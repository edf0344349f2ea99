package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/harness"
)

// eventually retries a scan until it returns want (persistent queries
// produce their rows asynchronously).
func eventually(t *testing.T, c *pgx.Conn, sql, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := strings.Join(collect(t, c, sql), "\n")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s:\ngot:\n%s\nwant:\n%s", sql, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGroupByCountSum(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
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
