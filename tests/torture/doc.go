// Package torture is Runnel's crash test: the real binary, kill -9 at
// random moments under load, restarted on the same data directory, N
// times; then a check that nothing acknowledged was lost and nothing was
// repeated, in every sink and every table.
//
//	      writers ──INSERT (pgwire)──▶ runnel ◀──kill -9 / restart── killer
//	         │                           │
//	      ledger                      src ──▶ sink (filter + project)
//	(acked / unknown / refused)         │        └──▶ per_region_10s (tumbling, repartitioned)
//	         │                         └──▶ per_user (GROUP BY count, sum)
//	         └───────────────▶ checker ◀── scans and pull queries, after the run
//
// Each row's content is a pure function of its id (rows.go), so the
// checker needs only the ledger of ids and what the topics and tables
// hold. An INSERT that was acknowledged must be in the source and in the
// sink exactly once; one whose connection dropped after it was sent is
// "unknown" and may be there at most once; one the server refused must be
// absent; an id never sent must never appear. The tables must equal a recomputation from what the source
// topic holds, unknown rows that landed included.
//
// In cluster mode (Options.Nodes > 1) the servers are the nodes of a
// cluster in Kafka mode, on a kfake cluster that runs inside the test's
// process (so a kill -9 of a node leaves the brokers whole): each kill hits
// a node drawn at random while the others go on, a writer whose node died
// reconnects to the next one, the two checks go through different nodes,
// and per_user's topic is also read straight from Kafka and compared with
// the recomputation. TestTortureCluster runs it with 3 nodes.
//
// TestTorture runs it. By default it is short (10 kills, a few seconds of
// writes) and runs in `make test`; `make torture` runs a long one. The
// knobs are flags (go test ./tests/torture -args -torture.kills=200) or
// environment variables (RUNNEL_TORTURE_KILLS=200); a flag wins over its
// variable. The seed is printed first, so a failing schedule of kills and
// batches can be replayed with -torture.seed. On failure the data
// directory and the server's log are kept and their paths printed.
//
// The package drives Runnel only from outside: a process, a port, pgx, and
// in cluster mode franz-go's kfake and client. It imports nothing of
// Runnel's.
package torture
