package engine

import (
	"context"
	"testing"

	"github.com/runnel/runnel/catalog"
)

// TestJoinCombine: an aggregation over a stream-stream join whose
// functions all combine (q4's shape) writes its joined rows' partials,
// one record per group of a batch, into its repartition topic; the same
// query recorded without the property (as one created before partials
// existed) writes a record per joined row. Both give the same table,
// across restarts.
func TestJoinCombine(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM auctions (id INT KEY, cat INT) WITH (kafka_topic='auctions', partitions=1)`)
	run(t, s, `CREATE STREAM bids (auction INT KEY, price INT, bidder VARCHAR) WITH (kafka_topic='bids', partitions=1)`)
	const q = ` AS SELECT A.id AS id, A.cat AS cat, MAX(B.price) AS top, MIN(B.bidder) AS first, COUNT(*) AS n
		FROM auctions A JOIN bids B WITHIN 1 HOUR ON A.id = B.auction GROUP BY A.id, A.cat`
	run(t, s, `CREATE TABLE combined`+q)
	run(t, s, `CREATE TABLE rows_`+q)
	ids := map[string]*catalog.Query{}
	for _, q := range e.cat.Queries() {
		ids[q.Sink] = q
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
	s = e.NewSession(nil)
	run(t, s, `INSERT INTO auctions (id, cat) VALUES (1, 10), (2, 20)`)
	run(t, s, `INSERT INTO bids (auction, price, bidder) VALUES (1, 5, 'x'), (1, 7, 'b'), (2, 3, 'q'), (1, 6, 'c'), (2, 9, 'p'), (3, 1, 'z')`)
	want := "1 | 10 | 7 | b | 3,2 | 20 | 9 | p | 2"
	waitRows(t, e, `SELECT * FROM combined ORDER BY id`, want)
	waitRows(t, e, `SELECT * FROM rows_ ORDER BY id`, want)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	defer e.Close()
	s = e.NewSession(nil)
	run(t, s, `INSERT INTO bids (auction, price, bidder) VALUES (2, 4, 'a'), (1, 8, 'y'), (2, 2, 'o')`)
	want = "1 | 10 | 8 | b | 4,2 | 20 | 9 | a | 4"
	waitRows(t, e, `SELECT * FROM combined ORDER BY id`, want)
	waitRows(t, e, `SELECT * FROM rows_ ORDER BY id`, want)
	records := map[string]int64{}
	for _, sink := range []string{"COMBINED", "ROWS_"} {
		topic := "_runnel_" + ids[sink].ID + "_repartition"
		ends, err := e.log.EndOffsets(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, end := range ends {
			records[sink] += end
		}
	}
	// Each INSERT's bids are read in one batch, or more: its pairs make
	// at most a record each, and never more than the rows'.
	if records["ROWS_"] != 8 || records["COMBINED"] >= 8 {
		t.Errorf("repartition records: %v, want 8 for the rows and fewer combined", records)
	}
	t.Logf("repartition records: %v", records)
}
