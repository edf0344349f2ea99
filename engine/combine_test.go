package engine

import (
	"context"
	"testing"

	"github.com/runnel/runnel/catalog"
)

// TestCombineRecordedInQuery: a new aggregation query records in its
// catalog entry that its first stage writes partials, and does: an INSERT
// of four rows of two groups (one commit, read in one batch) puts two
// records in its repartition topic. A query recorded without the
// property, as one created before partials existed, keeps writing a
// record per row after a restart. Both give the same table.
func TestCombineRecordedInQuery(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, a INT, b VARCHAR) WITH (kafka_topic='src', partitions=1)`)
	run(t, s, `CREATE TABLE combined AS SELECT a, COUNT(*) AS n, MAX(b) AS m, MIN(id) AS lo FROM src GROUP BY a`)
	run(t, s, `CREATE TABLE rows_ AS SELECT a, COUNT(*) AS n, MAX(b) AS m, MIN(id) AS lo FROM src GROUP BY a`)
	ids := map[string]*catalog.Query{}
	for _, q := range e.cat.Queries() {
		ids[q.Sink] = q
	}
	for _, sink := range []string{"COMBINED", "ROWS_"} {
		if q := ids[sink]; q == nil || q.Props[propCombine] != "true" || q.Props[propCombineWindows] != "true" {
			t.Fatalf("query of %s: %+v, want %s and %s recorded", sink, q, propCombine, propCombineWindows)
		}
	}
	// ROWS_'s query as a binary before partials recorded it.
	old := *ids["ROWS_"]
	old.Props = nil
	if err := e.cat.PutQuery(context.Background(), &old); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	defer e.Close()
	s = e.NewSession(nil)
	run(t, s, `INSERT INTO src (id, a, b) VALUES (1, 10, 'x'), (2, 10, 'z'), (3, 20, 'y'), (4, 10, 'y')`)
	want := "10 | 3 | z | 1,20 | 1 | y | 3"
	waitRows(t, e, `SELECT * FROM combined ORDER BY a`, want)
	waitRows(t, e, `SELECT * FROM rows_ ORDER BY a`, want)
	for sink, n := range map[string]int64{"COMBINED": 2, "ROWS_": 4} {
		topic := "_runnel_" + ids[sink].ID + "_repartition"
		ends, err := e.log.EndOffsets(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, end := range ends {
			got += end
		}
		if got != n {
			t.Errorf("%s's repartition topic has %d records, want %d", sink, got, n)
		}
	}
}

func TestWithCombine(t *testing.T) {
	newest := &catalog.Query{Props: map[string]string{propCombine: "true", propCombineWindows: "true"}}
	newer := &catalog.Query{Props: map[string]string{propCombine: "true"}}
	older := &catalog.Query{}
	props := map[string]string{propCacheMaxBytes: "0"}
	for _, tt := range []struct {
		replaced      *catalog.Query
		want, windows string
	}{{nil, "true", "true"}, {newest, "true", "true"}, {newer, "true", ""}, {older, "", ""}} {
		got := withCombine(props, tt.replaced)
		if got[propCombine] != tt.want || got[propCombineWindows] != tt.windows || got[propCacheMaxBytes] != "0" {
			t.Errorf("withCombine(%v, %+v) = %v", props, tt.replaced, got)
		}
	}
	if _, ok := props[propCombine]; ok {
		t.Error("withCombine changed the session's props")
	}
}
