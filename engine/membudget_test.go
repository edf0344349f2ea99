package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestCacheBudgetTableJoin64Partitions: a table-table join over 64
// partitions runs 64 tasks, each with a read cache and a presence filter
// in front of its store. With a cache budget of 1 MiB, what they hold
// together stays within it once the tables are joined; with a budget
// large enough for the fixed limits every task had before the budget,
// the same data takes several times as much, so the bound is the
// budget's and not the data's. TERMINATE gives the shares back.
func TestCacheBudgetTableJoin64Partitions(t *testing.T) {
	const rows, small = 6000, 1 << 20
	for _, budget := range []int64{small, 64 << 20} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			e, err := Open(context.Background(), Options{DataDir: t.TempDir(), CacheBytes: budget,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			s := e.NewSession(nil)
			run(t, s, `CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR) WITH (kafka_topic='users', partitions=64)`)
			run(t, s, `CREATE TABLE scores (id VARCHAR PRIMARY KEY, score BIGINT, note VARCHAR) WITH (kafka_topic='scores', partitions=64)`)
			// The query reads every column, so that the join's state
			// holds them all (a join stores only the columns read).
			run(t, s, `CREATE TABLE joined AS SELECT u.id AS id, u.name, s.score, s.note FROM users u JOIN scores s ON u.id = s.id`)
			pad := strings.Repeat("x", 100)
			for from := 0; from < rows; from += 500 {
				var us, ss []string
				for i := from; i < from+500; i++ {
					us = append(us, fmt.Sprintf("('u%05d', 'name-%d-%s')", i, i, pad))
					ss = append(ss, fmt.Sprintf("('u%05d', %d, '%s')", i, i, pad))
				}
				run(t, s, `INSERT INTO users (id, name) VALUES `+strings.Join(us, ", "))
				run(t, s, `INSERT INTO scores (id, score, note) VALUES `+strings.Join(ss, ", "))
			}
			// A pull query waits until the join has consumed what was
			// written before it.
			got := rowsOf(t, e, `SELECT id, score FROM joined`)
			if len(got) != rows {
				t.Fatalf("joined has %d rows, want %d", len(got), rows)
			}
			used := e.memory.Used()
			t.Logf("budget %d: %d shares, %d bytes held", budget, e.memory.Shares(), used)
			if shares := e.memory.Shares(); shares < 64 {
				t.Errorf("%d shares drawn, want one at least for each of the 64 join tasks", shares)
			}
			switch {
			case budget == small && used > small:
				t.Errorf("the join's caches hold %d bytes, budget %d", used, small)
			case budget == small && used < small/4:
				t.Errorf("the join's caches hold %d bytes of %d: the test does not fill them", used, small)
			case budget > small && used < 2*small:
				t.Errorf("with a large budget the caches hold %d bytes: the data should need more than twice %d", used, small)
			}
			id := e.cat.Queries()[0].ID
			run(t, s, `TERMINATE `+id)
			if n := e.memory.Shares(); n != 0 {
				t.Errorf("%d shares held after TERMINATE", n)
			}
		})
	}
}
