package kafkamode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/internal/peer"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/tests/harness"
)

// authFile lists a client user and the cluster's internal user.
const authFile = "alice:alice-pw\n_runnel_node:node-secret\n"

// securedNode starts a cluster node that requires passwords (SCRAM) and
// logs in to the others as the internal user with clusterPassword.
func securedNode(t *testing.T, brokers []string, id, clusterPassword string) *harness.Server {
	t.Helper()
	creds, err := server.ParseCredentials(strings.NewReader(authFile))
	if err != nil {
		t.Fatal(err)
	}
	return harness.Start(t, harness.Options{Kafka: brokers,
		Engine: func(o *engine.Options) {
			o.NodeID = id
			o.ClusterSessionTimeout = 6 * time.Second
			o.StandbyReplicas = -1
			o.ClusterPassword = clusterPassword
		},
		Server: func(o *server.Options) { o.Credentials = creds }})
}

// connectAs opens a connection as user with password.
func connectAs(t *testing.T, s *harness.Server, user, password string) *pgx.Conn {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s:%s/runnel?sslmode=disable", user, password, host, port))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestClusterForwardingAuthenticated: nodes that require passwords
// forward pull queries to each other as the internal user, with the
// password of their configuration; a node configured with a wrong one
// cannot (the query fails saying why, it does not hang), and a client
// cannot send the nodes' internal requests.
func TestClusterForwardingAuthenticated(t *testing.T) {
	brokers := cluster(t)
	a := securedNode(t, brokers, "a", "node-secret")
	b := securedNode(t, brokers, "b", "node-secret")
	ca, cb := connectAs(t, a, "alice", "alice-pw"), connectAs(t, b, "alice", "alice-pw")
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	awaitCopies(t, "SPEND", 4, 0, []string{"a", "b"}, a, b)
	var load spendLoad
	load.insert(t, ca, 60)
	if got, want := rows(t, cb, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scan on b =\n%q\nwant\n%q", got, want)
	}

	// A client's internal request is refused, whatever it asks.
	req := peer.ScanRequest{Table: "SPEND", Partition: 0, Limit: 10}
	_, err := cb.Exec(context.Background(), req.Text(), pgx.QueryExecModeSimpleProtocol)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("a client's internal request: %v, want SQLSTATE 42501", err)
	}

	// A third node with the wrong cluster password cannot read the
	// others' partitions: its scan fails at once, naming the login.
	c := securedNode(t, brokers, "c", "wrong")
	cc := connectAs(t, c, "alice", "alice-pw")
	awaitCopies(t, "SPEND", 4, 0, []string{"a", "b", "c"}, a, b, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = pullErr(ctx, cc, `SELECT userid, n, total FROM spend`)
	if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, `password authentication failed for user "_runnel_node"`) || pgErr.Code != "08001" {
		t.Fatalf("scan on the node with the wrong password: %v, want SQLSTATE 08001 naming the login that failed", err)
	}
	t.Logf("wrong cluster password: %v", err)
}
