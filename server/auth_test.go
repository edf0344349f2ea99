package server_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/server"
)

func credentials(t *testing.T, lines string) *server.Credentials {
	t.Helper()
	c, err := server.ParseCredentials(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func connectAs(ts *testServer, user, password string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig("postgres://" + ts.addr + "/db?sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password = user, password
	return pgx.ConnectConfig(ctx, cfg)
}

// TestScramAuthentication: with credentials, the right password logs
// in (SCRAM-SHA-256), and a wrong password and an unknown user both get
// FATAL 28P01 with the same words.
func TestScramAuthentication(t *testing.T) {
	v, err := server.NewScramVerifier("s3cret", 4096)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, server.Options{Credentials: credentials(t, "alice:wonderland\nbob:"+v.String()+"\n")})
	for user, pw := range map[string]string{"alice": "wonderland", "bob": "s3cret"} {
		c, err := connectAs(ts, user, pw)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if _, err := c.Exec(context.Background(), "count 1"); err != nil {
			t.Fatal(err)
		}
		c.Close(context.Background())
	}
	for _, tc := range []struct{ user, pw string }{{"alice", "wrong"}, {"alice", ""}, {"mallory", "wonderland"}} {
		_, err := connectAs(ts, tc.user, tc.pw)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" || pgErr.Severity != "FATAL" ||
			pgErr.Message != `password authentication failed for user "`+tc.user+`"` {
			t.Errorf("%s/%q: %v", tc.user, tc.pw, err)
		}
	}
	if ts.fake.openSessions() != 0 {
		t.Errorf("%d sessions open: a failed login got one", ts.fake.openSessions())
	}
}

// TestPsqlPassword: the real psql logs in with a password, and says why
// it cannot with a wrong one.
func TestPsqlPassword(t *testing.T) {
	ts := startServer(t, server.Options{Credentials: credentials(t, "x:pencil\n")})
	host, port, _ := net.SplitHostPort(ts.addr)
	run := func(pw string) (string, error) {
		cmd := exec.Command("psql", "-X", "-A", "-t", "-h", host, "-p", port, "-U", "x", "-d", "db", "-c", "count 2")
		cmd.Env = []string{"PGCONNECT_TIMEOUT=5", "PGPASSWORD=" + pw, "LANG=C.UTF-8", "PGSSLMODE=disable"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("pencil"); err != nil || out != "0\n1\n" {
		t.Fatalf("right password: %v %q", err, out)
	}
	out, err := run("crayon")
	if err == nil || !strings.Contains(out, `password authentication failed for user "x"`) {
		t.Fatalf("wrong password: %v %q", err, out)
	}
}

// TestMaxConnections: past MaxConnections a connection gets FATAL 53300
// before its session starts; a slot comes back when a client leaves.
func TestMaxConnections(t *testing.T) {
	ts := startServer(t, server.Options{MaxConnections: 2})
	a := ts.connect(t)
	ts.connect(t)
	_, err := connectAs(ts, "third", "")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" || pgErr.Severity != "FATAL" {
		t.Fatalf("third connection: %v", err)
	}
	if n := ts.fake.openSessions(); n != 2 {
		t.Fatalf("%d sessions", n)
	}
	// A cancel request needs no slot.
	if err := a.PgConn().CancelRequest(testCtx(t)); err != nil {
		t.Fatalf("cancel at the limit: %v", err)
	}
	a.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := connectAs(ts, "again", "")
		if err == nil {
			c.Close(context.Background())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a client left: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
