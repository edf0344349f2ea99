package engine

import (
	"testing"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/planner"
)

// TestCacheMaxBytesAcrossRestart: a persistent query keeps the
// cache.max.bytes.buffering its session had when it was created, after a
// restart too: the query created with 0 emits every update of a batch,
// the one created with the default one change per group, whatever the
// sessions of the restarted engine say.
func TestCacheMaxBytesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM src (id INT KEY, a INT) WITH (kafka_topic='src', partitions=1)`)
	run(t, s, `CREATE TABLE merged AS SELECT id, COUNT(*) AS n FROM src GROUP BY id`)
	run(t, s, `SET 'ksql.streams.cache.max.bytes.buffering' = '0'`)
	run(t, s, `CREATE TABLE every AS SELECT id, COUNT(*) AS n FROM src GROUP BY id`)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	defer e.Close()
	s = e.NewSession(nil)
	// One INSERT is one commit, which a task reads in one batch.
	run(t, s, `INSERT INTO src (id, a) VALUES (1, 10), (1, 20), (2, 5), (1, 30)`)
	waitRows(t, e, `SELECT * FROM merged ORDER BY id`, "1 | 3,2 | 1")
	waitRows(t, e, `SELECT * FROM every ORDER BY id`, "1 | 3,2 | 1")
	if n := len(topicRecords(t, e, "MERGED")); n != 2 {
		t.Errorf("MERGED has %d records, want 2 (one per group)", n)
	}
	if n := len(topicRecords(t, e, "EVERY")); n != 4 {
		t.Errorf("EVERY has %d records, want 4 (one per update)", n)
	}
}

func TestQueryCacheMaxBytes(t *testing.T) {
	for _, tt := range []struct {
		props map[string]string
		want  int64
	}{
		{nil, 0},
		{map[string]string{propCacheMaxBytes: "0"}, planner.NoCache},
		{map[string]string{propCacheMaxBytes: "1024"}, 1024},
		{map[string]string{propCacheMaxBytes: "bad"}, 0},
		{map[string]string{propCacheMaxBytes: "-3"}, 0},
	} {
		if got := queryCacheMaxBytes(&catalog.Query{Props: tt.props}); got != tt.want {
			t.Errorf("queryCacheMaxBytes(%v) = %d, want %d", tt.props, got, tt.want)
		}
	}
}
