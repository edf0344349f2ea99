package e2e

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/tests/harness"
)

// connectMode opens a pgx connection in the given exec mode.
func connectMode(t *testing.T, s *harness.Server, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestPgxExecModes: the same statements with parameters in pgx's modes;
// in the simple protocol pgx sends every parameter as a quoted literal,
// which is read as the column's type (PostgreSQL's unknown literals).
func TestPgxExecModes(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	setup := s.Connect(t)
	exec(t, setup, `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR, price DECIMAL(8, 2), ok BOOLEAN,
		seen TIMESTAMP, raw BYTES, n BIGINT, d DOUBLE) WITH (kafka_topic='items', partitions=2)`)
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for i, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			c := connectMode(t, s, mode)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			id := int32(i + 1)
			if _, err := c.Exec(ctx, `INSERT INTO items (id, name, price, ok, seen, raw, n, d) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				id, "it's", "12.50", true, ts, []byte{0xde, 0xad}, int64(1)<<40, 2.5); err != nil {
				t.Fatal(err)
			}
			var name string
			var ok bool
			var seen time.Time
			var n int64
			// A pull query waits for its table to have read the insert.
			if err := c.QueryRow(ctx, `SELECT name, ok, seen, n FROM items WHERE id = $1`, id).Scan(&name, &ok, &seen, &n); err != nil {
				t.Fatal(err)
			}
			if name != "it's" || !ok || !seen.Equal(ts) || n != 1<<40 {
				t.Fatalf("got %q %v %v %d", name, ok, seen, n)
			}
			// Casts and literals as PostgreSQL reads them.
			var x int32
			var s string
			if err := c.QueryRow(ctx, `SELECT '41'::int + 1, 7::varchar`).Scan(&x, &s); err != nil || x != 42 || s != "7" {
				t.Fatalf("casts: %d %q %v", x, s, err)
			}
		})
	}
	// A quoted literal that is no INT: 22P02.
	requireCode(t, setup, `INSERT INTO items (id, name) VALUES ('seven', 'x')`, "22P02")
}

// TestLibPQ drives the server through database/sql and lib/pq: a
// transaction with BeginTx (which requires ReadyForQuery to say T), a
// rollback, a cursor, and COPY FROM as lib/pq does it (a prepared COPY
// statement fed row by row).
func TestLibPQ(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	host, port, _ := net.SplitHostPort(s.Addr)
	db, err := sql.Open("postgres", "host="+host+" port="+port+" user=runnel dbname=runnel sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, pageviewsDDL); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ($1, $2, $3)`, "alice", "home", 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ($1, $2, $3)`, "bob", "home", 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// COPY FROM, prepared and fed row by row.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `COPY "PAGEVIEWS" ("USERID", "PAGEID", "VIEWTIME") FROM STDIN`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]any{{"carol", "news", 3}, {"dan", "tab\there", 4}} {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stmt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// A cursor in a transaction.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `DECLARE c CURSOR FOR SELECT userid, pageid FROM pageviews`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, `FETCH ALL FROM c`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var u, p string
		if err := rows.Scan(&u, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, u+":"+p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(sortStrings(got), ",") != "alice:home,carol:news,dan:tab\there" {
		t.Fatalf("rows %q", got)
	}
	// An error's SQLSTATE reaches lib/pq.
	_, err = db.ExecContext(ctx, `INSERT INTO pageviews (userid, viewtime) VALUES ('x', 'not a number')`)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "22P02" {
		t.Fatalf("bad literal: %v", err)
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestPasswordAndTLS: with an auth file's credentials and a certificate,
// pgx logs in over TLS (sslmode=require) with SCRAM-SHA-256; a wrong
// password and an unknown user get 28P01.
func TestPasswordAndTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	authFile := filepath.Join(dir, "users")
	if err := os.WriteFile(authFile, []byte("alice:wonderland\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds, err := server.LoadCredentials(authFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := loadTLS(t, certFile, keyFile)
	s := harness.Start(t, harness.Options{Server: func(o *server.Options) {
		o.Credentials, o.TLSConfig = creds, tlsCfg
	}})
	host, port, _ := net.SplitHostPort(s.Addr)
	connect := func(user, pw, sslmode string) (*pgx.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return pgx.Connect(ctx, "postgres://"+user+":"+pw+"@"+host+":"+port+"/db?sslmode="+sslmode)
	}
	c, err := connect("alice", "wonderland", "require")
	if err != nil {
		t.Fatal(err)
	}
	if c.PgConn().Conn() == nil || !isTLS(c.PgConn()) {
		t.Fatal("not TLS")
	}
	exec(t, c, `SHOW STREAMS`)
	c.Close(context.Background())
	for _, tc := range [][2]string{{"alice", "rabbit"}, {"mallory", "wonderland"}} {
		_, err := connect(tc[0], tc[1], "require")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "28P01" {
			t.Errorf("%s/%s: %v", tc[0], tc[1], err)
		}
	}
}
