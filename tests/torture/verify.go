package torture

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// verify waits until the persistent queries have caught up, reads the
// tables with pull queries and the streams with scans, and checks them
// against the ledger. No writer may be running: the topics must not move.
// tableTopic, when it returns a map, is per_user as its topic holds it
// (read straight from Kafka, in a cluster), which must equal the
// recomputation too.
func verify(ctx context.Context, dsn string, outcomes []outcome, users int, timeout time.Duration, logf func(string, ...any),
	tableTopic func(context.Context) (map[string]agg, error)) (tallies, *violations, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return tallies{}, nil, fmt.Errorf("connect for the checks: %w", err)
	}
	defer closeConn(conn)
	setup := []string{
		// A pull query waits until the queries feeding its table have
		// consumed their inputs to where they ended when it began; on a
		// loaded machine after a crash that can exceed the default 10s.
		fmt.Sprintf("SET 'runnel.pull.timeout.ms' = '%d'", timeout.Milliseconds()),
		// Scans read from the start of the topic; this says so for any
		// reader of the checks that expects ksqlDB's push semantics.
		"SET 'auto.offset.reset' = 'earliest'",
	}
	for _, s := range setup {
		if _, err := conn.Exec(ctx, s); err != nil {
			return tallies{}, nil, fmt.Errorf("%s: %w", s, err)
		}
	}

	// per_region_10s reads the sink, so its pull waits for the sink's
	// query and its own; per_user's waits for its query. After both,
	// every query has consumed everything the source holds.
	perRegion := map[winKey]agg{}
	err = readRows(ctx, conn, "SELECT region, ws, n, total FROM per_region_10s", func(r pgx.Rows) error {
		var k winKey
		var a agg
		if err := r.Scan(&k.Region, &k.Start, &a.N, &a.Total); err != nil {
			return err
		}
		if _, dup := perRegion[k]; dup {
			return fmt.Errorf("pull query returned window %v twice", k)
		}
		perRegion[k] = a
		return nil
	})
	if err != nil {
		return tallies{}, nil, err
	}
	perUser := map[string]agg{}
	err = readRows(ctx, conn, "SELECT userid, n, total FROM per_user", func(r pgx.Rows) error {
		var u string
		var a agg
		if err := r.Scan(&u, &a.N, &a.Total); err != nil {
			return err
		}
		if _, dup := perUser[u]; dup {
			return fmt.Errorf("pull query returned user %s twice", u)
		}
		perUser[u] = a
		return nil
	})
	if err != nil {
		return tallies{}, nil, err
	}

	logf("torture: the queries caught up and the tables were read in %s", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()

	c := newChecker(outcomes, users)
	err = readRows(ctx, conn, "SELECT id, userid, amount, region, ROWTIME FROM src", func(r pgx.Rows) error {
		var s sourceRow
		if err := r.Scan(&s.ID, &s.User, &s.Amount, &s.Region, &s.Rowtime); err != nil {
			return err
		}
		c.addSource(s)
		return nil
	})
	if err != nil {
		return tallies{}, nil, err
	}
	err = readRows(ctx, conn, "SELECT id, userid, dbl, region, ROWTIME FROM sink", func(r pgx.Rows) error {
		var s sinkRow
		if err := r.Scan(&s.ID, &s.User, &s.Dbl, &s.Region, &s.Rowtime); err != nil {
			return err
		}
		c.addSink(s)
		return nil
	})
	if err != nil {
		return tallies{}, nil, err
	}
	t := c.finish(perUser, perRegion)
	if tableTopic != nil {
		topic, err := tableTopic(ctx)
		if err != nil {
			return tallies{}, nil, err
		}
		if topic != nil {
			compareGroups(&c.v, vPerUserTopic, c.perUser, topic)
		}
	}
	logf("torture: scanned %s source and %s sink rows in %s", itoa(t.SourceRows), itoa(t.SinkRows), time.Since(t0).Round(time.Millisecond))
	return t, &c.v, nil
}

// readRows runs a query and hands each row to fn as it arrives, so a scan
// of the whole topic is never held in memory.
func readRows(ctx context.Context, conn *pgx.Conn, sql string, fn func(pgx.Rows) error) error {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}
