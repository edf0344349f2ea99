package torture

import "fmt"

// A row's content is a pure function of its id, so the checker can tell a
// corrupted row from a good one and recompute every table from ids alone.

// The schema. The sink is a stateless filter and projection; per_user a
// GROUP BY on the source's key (no repartition); the windowed table reads
// the sink and groups by a value column, so it chains two queries and
// goes through a repartition topic. A pull query on it therefore waits for
// the sink's query too, which is how the checker knows both caught up.
func schema(partitions int) []string {
	return []string{fmt.Sprintf(`CREATE STREAM src (userid VARCHAR KEY, id BIGINT, amount BIGINT, region VARCHAR)
	  WITH (kafka_topic='torture_src', value_format='JSON', partitions=%d)`, partitions),
		`CREATE STREAM sink AS SELECT userid, id, amount * 2 AS dbl, region FROM src
	  WHERE amount % 5 <> 0 EMIT CHANGES`,
		`CREATE TABLE per_user AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total FROM src
	  GROUP BY userid EMIT CHANGES`,
		// Event time advances 10ms an id, so a 10-second window holds about
		// 1,000 ids and writers racing each other are never an hour late.
		// RETENTION outlasts any run (a million ids are under three hours).
		`CREATE TABLE per_region_10s AS SELECT region, WINDOWSTART AS ws, COUNT(*) AS n, SUM(dbl) AS total
	  FROM sink WINDOW TUMBLING (SIZE 10 SECONDS, RETENTION 7 DAYS, GRACE PERIOD 1 HOUR)
	  GROUP BY region EMIT CHANGES`,
	}
}

// queries is how many persistent queries the schema starts.
const queries = 3

const (
	// baseTime is the event time of id 0: 2026-11-23T10:00:00Z.
	baseTime = 1795428000000
	// tickMs is the event time between consecutive ids.
	tickMs = 10
	// windowMs is per_region_10s's window size.
	windowMs = 10000
	// regions is the number of distinct regions.
	regions = 5
)

// mix is splitmix64's finalizer: consecutive ids get unrelated users and
// amounts, so every batch spreads over keys and partitions.
func mix(id int64) uint64 {
	z := uint64(id) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func userOf(id int64, users int) string { return fmt.Sprintf("u%03d", mix(id)%uint64(users)) }
func amountOf(id int64) int64           { return int64(mix(id)>>20) % 1000 }
func regionOf(id int64) string          { return fmt.Sprintf("r%d", (mix(id)>>40)%regions) }
func rowtimeOf(id int64) int64          { return baseTime + id*tickMs }

// passes mirrors the sink's WHERE amount % 5 <> 0.
func passes(id int64) bool { return amountOf(id)%5 != 0 }

// windowOf is the start of the tumbling window that holds event time ts.
func windowOf(ts int64) int64 { return ts - ts%windowMs }
