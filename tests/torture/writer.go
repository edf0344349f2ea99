package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// writer inserts rows with fresh ids through one connection, reconnecting
// through restarts, and records each INSERT's outcome in the ledger. It
// never sends an id twice: a retry after an unknown outcome could land
// the same row twice, which is what the check must be able to blame on
// the server alone.
type writer struct {
	n int // the writer's number, for messages
	// dsns are the servers to write through: each connection goes to
	// the next one, so a writer whose node was killed moves on to
	// another node of a cluster.
	dsns  []string
	dials int
	users int
	batch int
	// interval is the time one row is worth at the writer's share of the
	// rate; 0 means unpaced.
	interval time.Duration
	timeout  time.Duration
	ledger   *ledger
	rng      *rand.Rand
	stats    *writeStats
	logf     func(string, ...any)
}

// writeStats are counters the writers share, for the report.
type writeStats struct {
	statements atomic.Int64 // INSERTs acknowledged
	stalls     atomic.Int64 // INSERTs unanswered for the statement timeout
	badTags    atomic.Int64 // INSERTs acknowledged with a wrong command tag
	// refusals counts server errors; firstRefusal keeps one to show.
	refusals     atomic.Int64
	firstRefusal atomic.Pointer[string]
}

// run writes until stop is closed (finishing the INSERT in flight) or ctx
// ends (abandoning it, as unknown).
func (w *writer) run(ctx context.Context, stop <-chan struct{}) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	next := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if conn != nil && conn.IsClosed() {
			conn = nil
		}
		if conn == nil {
			c, err := w.connect(ctx, stop)
			if err != nil {
				return // stopped while the server was down
			}
			conn = c
		}
		n := 1
		if w.batch > 1 && w.rng.IntN(2) == 1 {
			n = 2 + w.rng.IntN(w.batch-1)
		}
		simple := w.rng.IntN(2) == 1
		first := w.ledger.allocate(n)
		o, err := w.insert(ctx, conn, first, n, simple)
		w.ledger.settle(first, n, o)
		if o != acked && o != refused {
			// The connection is gone or unusable; a new one will
			// find the restarted server.
			closeConn(conn)
			conn = nil
		}
		if err != nil && o == refused {
			if w.stats.refusals.Add(1) == 1 {
				msg := fmt.Sprintf("writer %d, ids %d..%d: %v", w.n, first, first+int64(n)-1, err)
				w.stats.firstRefusal.Store(&msg)
			}
		}
		if w.interval > 0 {
			next = next.Add(time.Duration(n) * w.interval)
			now := time.Now()
			if d := next.Sub(now); d > 0 {
				select {
				case <-time.After(d):
				case <-stop:
				case <-ctx.Done():
				}
			} else if d < -time.Second {
				next = now // no burst to catch up after a restart
			}
		}
	}
}

// connect dials until the server answers, stop is closed or ctx ends.
func (w *writer) connect(ctx context.Context, stop <-chan struct{}) (*pgx.Conn, error) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		dsn := w.dsns[w.dials%len(w.dsns)]
		w.dials++
		c, err := pgx.Connect(cctx, dsn)
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-stop:
			return nil, errors.New("stopped")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// insert sends ids first..first+n-1 in one INSERT, over the simple or the
// extended protocol, and classifies what the client can know of it.
//
// Every failure but a server's error is unknown. pgconn.SafeToRetry is no
// guide here: when the server dies after a simple-protocol query was
// sent, pgx may report the read as "conn closed", a lock error it marks
// safe to retry; this harness saw such rows land.
func (w *writer) insert(ctx context.Context, conn *pgx.Conn, first int64, n int, simple bool) (outcome, error) {
	var sql strings.Builder
	sql.WriteString("INSERT INTO src (userid, id, amount, region, ROWTIME) VALUES ")
	var args []any
	if simple {
		args = append(args, pgx.QueryExecModeSimpleProtocol)
	}
	for i := range n {
		id := first + int64(i)
		if i > 0 {
			sql.WriteString(", ")
		}
		if simple {
			fmt.Fprintf(&sql, "('%s', %d, %d, '%s', %d)", userOf(id, w.users), id, amountOf(id), regionOf(id), rowtimeOf(id))
			continue
		}
		p := len(args)
		fmt.Fprintf(&sql, "($%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5)
		args = append(args, userOf(id, w.users), id, amountOf(id), regionOf(id), rowtimeOf(id))
	}
	sctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	tag, err := conn.Exec(sctx, sql.String(), args...)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		if !tag.Insert() || tag.RowsAffected() != int64(n) {
			// Acknowledged all the same: the server said the
			// statement completed.
			w.logf("writer %d: INSERT of %d rows answered %q", w.n, n, tag.String())
			w.stats.badTags.Add(1)
		}
		w.stats.statements.Add(1)
		return acked, nil
	case errors.As(err, &pgErr):
		return refused, err
	case ctx.Err() == nil && sctx.Err() != nil:
		w.stats.stalls.Add(1)
		w.logf("writer %d: INSERT of ids %d..%d unanswered after %s", w.n, first, first+int64(n)-1, w.timeout)
		return unknown, err
	default:
		return unknown, err
	}
}

// itoa formats with thousands separators, for progress lines.
func itoa(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + itoa(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
