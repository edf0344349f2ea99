package slt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/slt"
	"github.com/runnel/runnel/tests/slt/pgtest"
)

// TestPostgres runs the runner against a real PostgreSQL server, one
// schema per subtest so that files do not see each other's tables.
func TestPostgres(t *testing.T) {
	began := time.Now()
	srv := pgtest.Start(t)
	t.Logf("PostgreSQL started in %s", time.Since(began))

	// inSchema returns a connect function whose connections work in a new,
	// empty schema of their own.
	schemas := 0
	inSchema := func(t *testing.T) func(ctx context.Context) (*pgx.Conn, error) {
		schemas++
		schema := fmt.Sprintf("s%d", schemas)
		admin, err := srv.Connect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) (*pgx.Conn, error) {
			cfg, err := pgx.ParseConfig(srv.DSN())
			if err != nil {
				return nil, err
			}
			cfg.RuntimeParams["search_path"] = schema
			return pgx.ConnectConfig(ctx, cfg)
		}
	}

	t.Run("pass", func(t *testing.T) {
		r, err := slt.New(slt.Options{Connect: inSchema(t)})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(t.Context(), "testdata/pg/pass.slt")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Failures {
			t.Error(f.Error())
		}
		// 27 statements and queries run; "skipif runnel", "onlyif
		// postgresql" and the one after halt are skipped.
		if res.Passed != 27 || res.Skipped != 3 || res.Failed != 0 {
			t.Errorf("passed %d, skipped %d, failed %d; want 27, 3, 0", res.Passed, res.Skipped, res.Failed)
		}
	})

	t.Run("fail", func(t *testing.T) {
		r, err := slt.New(slt.Options{Connect: inSchema(t), StatementTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(t.Context(), "testdata/pg/fail.slt")
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			line int
			msg  string
		}{
			{6, `unexpected error: ERROR: relation "nope" does not exist (SQLSTATE 42P01)`},
			{10, "expected SQLSTATE 42703, got: ERROR: relation \"nope\" does not exist (SQLSTATE 42P01)"},
			{14, "expected an error, but it succeeded"},
			{18, `error does not match "no such table"`},
			{22, "expected 2 rows affected, got 3"},
			{26, "results differ\n    expected:\n        1\n        2\n        4\n    got:\n        1\n        2\n        3"},
			{34, `type string "II" has 2 columns, the query returned 1`},
			{38, `row 1 column 1: value "abc" is not an integer (type I)`},
			{44, "results differ\n    expected:\n        3 values hashing to 00000000000000000000000000000000\n    got:\n        3 values hashing to c0710d6b4f15dfa88f600b0e6b624077"},
			{52, "got:\n        3 values hashing to c0710d6b4f15dfa88f600b0e6b624077"},
			{69, `results differ from those of the query at line 62 with label "same"`},
			{76, "expected an error, but it succeeded"},
			{80, "timed out after 1s"},
			{89, "expected position 3, got 15"},
		}
		var got []string
		for _, f := range res.Failures {
			got = append(got, f.Error())
		}
		if len(res.Failures) != len(want) {
			t.Fatalf("got %d failures, want %d:\n%s", len(res.Failures), len(want), strings.Join(got, "\n"))
		}
		for i, w := range want {
			f := res.Failures[i]
			if f.File != "testdata/pg/fail.slt" || f.Line != w.line || !strings.Contains(f.Msg, w.msg) {
				t.Errorf("failure %d = %s\nwant line %d containing %q", i+1, f.Error(), w.line, w.msg)
			}
			if !strings.HasPrefix(f.Error(), fmt.Sprintf("testdata/pg/fail.slt:%d: ", w.line)) {
				t.Errorf("failure %d does not start with file:line: %s", i+1, f.Error())
			}
		}
		// CREATE TABLE, the first "same" query and the query after the
		// timeout (on a new connection) pass.
		if res.Passed != 3 || res.Failed != len(want) {
			t.Errorf("passed %d, failed %d; want 3, %d", res.Passed, res.Failed, len(want))
		}
		err = res.Err()
		if !errors.Is(err, slt.ErrRecordsFailed) || !strings.Contains(err.Error(), "fail.slt:80: unexpected error: timed out") {
			t.Errorf("Err() = %v", err)
		}
	})

	t.Run("rewrite", func(t *testing.T) {
		src, err := os.ReadFile("testdata/pg/rewrite.slt")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "rewrite.slt")
		if err := os.WriteFile(path, src, 0o640); err != nil {
			t.Fatal(err)
		}
		r, err := slt.New(slt.Options{Connect: inSchema(t), Rewrite: true, Log: testWriter{t}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rewritten != 5 || res.Failed != 1 || len(res.Failures) != 1 || res.Failures[0].Line != 37 {
			t.Errorf("rewritten %d, failed %d (%v); want 5 and the statement at line 37", res.Rewritten, res.Failed, res.Failures)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/pg/rewrite.slt.want")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("rewritten file:\n%s\nwant:\n%s", got, want)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("mode after rewrite: %v, %v; want 0640", st.Mode(), err)
		}
		// The rewritten file passes as it stands, apart from the statement.
		r, err = slt.New(slt.Options{Connect: inSchema(t)})
		if err != nil {
			t.Fatal(err)
		}
		res, err = r.Run(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != 1 || res.Passed != 8 {
			t.Errorf("rewritten file: passed %d, failed %d (%v); want 8, 1", res.Passed, res.Failed, res.Failures)
		}
	})

	t.Run("retry", func(t *testing.T) {
		connect := inSchema(t)
		conn, err := connect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), "CREATE TABLE events (id INT, name TEXT)"); err != nil {
			t.Fatal(err)
		}
		// Rows arrive over time, as a persistent query's would.
		inserted := make(chan error, 1)
		go func() {
			for i, name := range []string{"a", "b", "c"} {
				time.Sleep(100 * time.Millisecond)
				if _, err := conn.Exec(context.Background(), "INSERT INTO events VALUES ($1, $2)", i+1, name); err != nil {
					inserted <- err
					return
				}
			}
			inserted <- nil
		}()
		r, err := slt.New(slt.Options{Connect: connect, RetryTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		res, err := r.Run(t.Context(), "testdata/pg/retry.slt")
		if err != nil {
			t.Fatal(err)
		}
		if err := <-inserted; err != nil {
			t.Fatal(err)
		}
		if res.Passed != 3 || len(res.Failures) != 1 || res.Failures[0].Line != 18 {
			t.Errorf("passed %d, failures %v; want 3 and the query at line 18", res.Passed, res.Failures)
		}
		if took := time.Since(began); took < time.Second {
			t.Errorf("the never-matching query gave up after %s, before its 1s deadline", took)
		}
	})

	t.Run("RunFiles", func(t *testing.T) {
		slt.RunFiles(t, inSchema(t), "testdata/pg/pass.slt")
	})

	t.Run("RunFile", func(t *testing.T) {
		r, err := slt.New(slt.Options{Connect: inSchema(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.RunFile(t.Context(), "testdata/pg/pass.slt"); err != nil {
			t.Errorf("RunFile(pass.slt) = %v", err)
		}
		err = r.RunFile(t.Context(), "testdata/parser/does-not-exist.slt")
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("RunFile(missing) = %v, want ErrNotExist", err)
		}
	})
}

func TestNewNeedsConnect(t *testing.T) {
	if _, err := slt.New(slt.Options{}); !errors.Is(err, slt.ErrNoConnect) {
		t.Errorf("New(no connect) = %v, want ErrNoConnect", err)
	}
}

// TestRunStopsOnConnectError checks a file whose server is unreachable
// stops with the connection error instead of failing every record.
func TestRunStopsOnConnectError(t *testing.T) {
	boom := errors.New("no server here")
	r, err := slt.New(slt.Options{Connect: func(context.Context) (*pgx.Conn, error) { return nil, boom }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(t.Context(), "testdata/pg/pass.slt")
	if !errors.Is(err, boom) || res.Passed+res.Failed != 0 {
		t.Errorf("Run = %+v, %v; want the connect error and nothing run", res, err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
