#!/usr/bin/env bash
# End-to-end with the real binary and the real psql: the README quickstart,
# kill -9 in the middle of it, a restart, and garbage on the socket.
# Usage: tests/e2e/psql_e2e.sh path/to/runnel
set -uo pipefail
BIN=${1:-bin/runnel}
[ -x "$BIN" ] || { echo "psql_e2e: no binary at $BIN (run make build)"; exit 1; }
command -v psql >/dev/null || { echo "psql_e2e: psql is not installed"; exit 1; }

WORK=$(mktemp -d)
DATA="$WORK/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PID=""
passed=0
failed=0

cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

start() {
  "$BIN" --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn >>"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    if psql -X -q -h 127.0.0.1 -p "$PORT" -U runnel -c 'SHOW STREAMS' >/dev/null 2>&1; then return 0; fi
    sleep 0.01
  done
  echo "psql_e2e: server did not start"; cat "$WORK/server.log"; exit 1
}

# q runs SQL through psql, unaligned and tuples-only, stopping on errors.
q() { timeout 20 psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U runnel "$@"; }

check() { # name, expected, actual
  if [ "$2" == "$3" ]; then
    passed=$((passed + 1)); echo "ok   $1"
  else
    failed=$((failed + 1)); echo "FAIL $1"; echo "  want: $(printf %q "$2")"; echo "  got:  $(printf %q "$3")"
  fi
}

help=$("$BIN" --help 2>&1)
for f in --listen --data-dir --kafka --log-level --auth-file --tls-cert --tls-key --insecure --max-connections --max-transaction-bytes; do
  check "--help lists $f" yes "$(grep -q -- "$f" <<<"$help" && echo yes || echo no)"
done

start
check "create stream" "" "$(q -c "CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='pageviews', value_format='JSON', partitions=4);" 2>&1)"
check "create stream as select" "" "$(q -c "CREATE STREAM long_views AS SELECT userid, pageid, viewtime / 1000 AS secs FROM pageviews WHERE viewtime > 5000 EMIT CHANGES;" 2>&1 | grep -v '^NOTICE')"
check "insert" "" "$(q -c "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('alice', 'home', 9000);" 2>&1)"
check "push query sees the insert" "alice|home|9" "$(q -c "SET 'auto.offset.reset' = 'earliest';" -c "SELECT * FROM long_views EMIT CHANGES LIMIT 1;" 2>&1)"
check "filtered rows stay out" "" "$(q -c "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('bob', 'home', 10);" 2>&1)"

# The psql session of the README, with its real aligned output.
table=$(psql -X -h 127.0.0.1 -p "$PORT" -U runnel -c "SET 'auto.offset.reset' = 'earliest';" -c "SELECT userid, secs FROM long_views EMIT CHANGES LIMIT 1;" 2>&1)
check "aligned output" " USERID | SECS 
--------+------
 alice  |    9
(1 row)" "$(sed -n '/USERID/,$p' <<<"$table")"

kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
start
check "queries restarted after kill -9" "RUNNING" "$(q -c "SHOW QUERIES;" | cut -d'|' -f2 | sort -u)"
q -c "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('carol', 'about', 12000);" >/dev/null
check "every row exactly once after restart" "alice|9
carol|12" "$(q -c "SET 'auto.offset.reset' = 'earliest';" -c "SELECT userid, secs FROM long_views EMIT CHANGES LIMIT 2;" | sort)"

# Per-user counts: a table, a pull query that sees the insert just made,
# and the README's aligned output.
q -c "CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS views FROM pageviews GROUP BY userid EMIT CHANGES;" >/dev/null 2>&1
q -c "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('alice', 'news', 50);" >/dev/null
check "pull query reads its writes" "alice|1" "$(q -c "SELECT * FROM views_per_user WHERE userid = 'alice';")"
q -c "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('alice', 'home', 200), ('bob', 'home', 300);" >/dev/null
table=$(psql -X -h 127.0.0.1 -p "$PORT" -U runnel -c "SELECT * FROM views_per_user ORDER BY userid;" 2>&1)
check "per-user counts, aligned" " USERID | VIEWS 
--------+-------
 alice  |     2
 bob    |     1
(2 rows)" "$table"

# Enrichment: each page view meets its user's row as it stood at the
# view's event time (a LEFT JOIN keeps views of unknown users).
q -c "CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', value_format='JSON', partitions=4);" >/dev/null
q -c "INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us');" >/dev/null
q -c "CREATE STREAM enriched AS SELECT p.userid AS userid, p.pageid, u.region FROM pageviews p LEFT JOIN users u ON p.userid = u.id EMIT CHANGES;" >/dev/null 2>&1
q -c "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('alice', 'cart', 70), ('dave', 'home', 80);" >/dev/null
table=$(psql -X -h 127.0.0.1 -p "$PORT" -U runnel -c "SET 'auto.offset.reset' = 'earliest';" -c "SELECT * FROM enriched EMIT CHANGES LIMIT 2;" 2>&1)
# The two rows come from different partitions, in either order.
check "enrichment join, aligned" "$(sort <<<" USERID | PAGEID | REGION 
--------+--------+--------
 alice  | cart   | eu
 dave   | home   | 
(2 rows)")" "$(sed -n '/USERID/,$p' <<<"$table" | sed '/^$/d' | sort)"
check "transient push join" "alice|cart|eu" "$(q -c "SET 'auto.offset.reset' = 'earliest';" -c "SELECT p.userid, p.pageid, u.region FROM pageviews p JOIN users u ON p.userid = u.id WHERE p.pageid = 'cart' EMIT CHANGES LIMIT 1;")"
err=$(q -c "SELECT * FROM users u JOIN pageviews p ON u.id = p.userid EMIT CHANGES;" 2>&1)
check "a table on the left of a stream is refused" yes "$(grep -qi 'join' <<<"$err" && echo yes || echo no)"

# Kill in the middle of a burst of inserts: after restart the sink holds
# each acknowledged long view exactly once.
for i in $(seq 1 40); do echo "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('u$i', 'p', 6000);"; done > "$WORK/burst.sql"
q -f "$WORK/burst.sql" >/dev/null
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
start
q -c "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('zed', 'p', 7000);" >/dev/null
rows=$(q -c "SET 'auto.offset.reset' = 'earliest';" -c "SELECT userid FROM long_views EMIT CHANGES LIMIT 43;")
check "burst across kill -9: 43 rows" 43 "$(wc -l <<<"$rows" | tr -d ' ')"
check "burst across kill -9: no duplicates" 43 "$(sort -u <<<"$rows" | wc -l | tr -d ' ')"

# Errors carry SQLSTATE and leave the server up.
err=$(q -c "SELECT * FROM nope EMIT CHANGES;" 2>&1)
check "unknown stream error" yes "$(grep -qi 'nope.*does not exist' <<<"$err" && echo yes || echo no)"
printf 'this is not the postgres protocol\x00\x01\x02' | timeout 5 python3 -c '
import socket,sys
s=socket.create_connection(("127.0.0.1",'"$PORT"')); s.sendall(sys.stdin.buffer.read())
s.settimeout(3)
try: s.recv(100)
except Exception: pass' 2>/dev/null
check "server survives garbage" "RUNNING" "$(q -c "SHOW QUERIES;" | cut -d'|' -f2 | sort -u)"

# The PostgreSQL front end with the real psql: transactions, FETCH_COUNT
# streaming a push query batch by batch until Ctrl-C, \copy in and out,
# COPY TO STDOUT streaming a push query, casts and quoted literals.
q -c "CREATE STREAM clicks (id INT KEY, url VARCHAR) WITH (kafka_topic='clicks', partitions=1);" >/dev/null
check "rolled-back transaction writes nothing" "" "$(q -c "BEGIN" -c "INSERT INTO clicks (id, url) VALUES (1, 'rolled back')" -c "ROLLBACK" -c "SELECT url FROM clicks")"
check "committed transaction" "committed" "$(q -c "BEGIN" -c "INSERT INTO clicks (id, url) VALUES ('2', 'committed')" -c "COMMIT" -c "SELECT url FROM clicks")"
err=$(timeout 20 psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U runnel -c "BEGIN" -c "SELECT * FROM nope" -c "SELECT 1" -c "ROLLBACK" -c "SELECT 2" 2>&1)
check "an error aborts the block until ROLLBACK" yes "$(grep -q 'current transaction is aborted' <<<"$err" && tail -1 <<<"$err" | grep -qx 2 && echo yes || echo no)"
check "casts and quoted literals" "42|7" "$(q -c "SELECT '41'::int + 1 AS a, 7::varchar AS b")"

# FETCH_COUNT: psql declares a cursor and fetches 2 rows at a time; each
# batch is printed once its 2 rows have arrived, and Ctrl-C (a cancel
# request) ends the push query.
timeout 30 stdbuf -oL psql -X -A -t -h 127.0.0.1 -p "$PORT" -U runnel -c '\set FETCH_COUNT 2' \
  -c "SELECT id, url FROM clicks WHERE id >= 10 EMIT CHANGES" >"$WORK/fetch.out" 2>&1 &
FPID=$!
sleep 1
q -c "INSERT INTO clicks (id, url) VALUES (10, 'a'), (11, 'b'), (12, 'c')" >/dev/null
for _ in $(seq 1 100); do grep -q '^11|b' "$WORK/fetch.out" && break; sleep 0.05; done
check "FETCH_COUNT prints the first batch as it comes" "10|a
11|b" "$(cat "$WORK/fetch.out")"
kill -INT "$FPID"; wait "$FPID"; code=$?
check "Ctrl-C ends the FETCH_COUNT push query" yes "$(grep -q 'canceling statement due to user request' "$WORK/fetch.out" && [ "$code" -ne 124 ] && echo yes || echo no)"

# COPY TO STDOUT streams a push query's rows as they happen.
timeout 30 stdbuf -oL psql -X -h 127.0.0.1 -p "$PORT" -U runnel \
  -c "COPY (SELECT id, url FROM clicks WHERE id >= 30 EMIT CHANGES) TO STDOUT WITH (FORMAT csv)" >"$WORK/copy.out" 2>&1 &
FPID=$!
sleep 1
q -c "INSERT INTO clicks (id, url) VALUES (30, 'x,y')" >/dev/null
for _ in $(seq 1 100); do grep -q '^30' "$WORK/copy.out" && break; sleep 0.05; done
check "COPY TO STDOUT streams a push query" '30,"x,y"' "$(cat "$WORK/copy.out")"
kill -INT "$FPID"; wait "$FPID"
check "Ctrl-C ends COPY TO STDOUT" yes "$(grep -q 'canceling statement due to user request' "$WORK/copy.out" && echo yes || echo no)"

# \copy in (CSV with a header) and out; a bad row fails the whole COPY
# with PostgreSQL's CONTEXT line.
printf 'id,url\n20,"a, b"\n21,plain\n' >"$WORK/clicks.csv"
check "\\copy in" "COPY 2" "$(psql -X -h 127.0.0.1 -p "$PORT" -U runnel -c "\\copy clicks FROM '$WORK/clicks.csv' WITH (FORMAT csv, HEADER)" 2>&1)"
check "\\copy out" '20,"a, b"
21,plain' "$(q -c "\\copy (SELECT id, url FROM clicks WHERE id >= 20 AND id < 30) TO STDOUT WITH (FORMAT csv)" | sort)"
printf 'id,url\n22,fine\nnope,bad\n' >"$WORK/bad.csv"
err=$(psql -X -h 127.0.0.1 -p "$PORT" -U runnel -c "\\copy clicks FROM '$WORK/bad.csv' WITH (FORMAT csv, HEADER)" 2>&1)
check "\\copy of a bad row names its line and column" yes "$(grep -q 'CONTEXT:  COPY CLICKS, line 3, column ID: "nope"' <<<"$err" && echo yes || echo no)"
check "\\copy of a bad row writes nothing" 0 "$(q -c "SELECT id FROM clicks WHERE id = 22" | wc -l | tr -d ' ')"

# The catalog as psql's backslash commands read it: streams and tables
# are relations in schema public, with their columns' PostgreSQL types.
check "\\dt lists streams and tables" "public|clicks|table|runnel
public|enriched|table|runnel
public|long_views|table|runnel
public|pageviews|table|runnel
public|runnel_processing_log|table|runnel
public|users|table|runnel
public|views_per_user|table|runnel" "$(q -c '\dt')"
check "\\d lists relations" "$(q -c '\dt')" "$(q -c '\d')"
table=$(psql -X -h 127.0.0.1 -p "$PORT" -U runnel -c '\d pageviews' 2>&1)
check "\\d pageviews" '              Table "public.pageviews"
  Column  |  Type  | Collation | Nullable | Default 
----------+--------+-----------+----------+---------
 userid   | text   |           |          | 
 pageid   | text   |           |          | 
 viewtime | bigint |           |          | ' "$table"
table=$(psql -X -h 127.0.0.1 -p "$PORT" -U runnel -c '\d views_per_user' 2>&1)
check "\\d of a table shows its primary key" '          Table "public.views_per_user"
 Column |  Type  | Collation | Nullable | Default 
--------+--------+-----------+----------+---------
 userid | text   |           | not null | 
 views  | bigint |           |          | 
Indexes:
    "views_per_user_pkey" PRIMARY KEY, btree (userid)' "$table"
check "\\l" "runnel|runnel|UTF8|C|C||libc|" "$(q -c '\l')"
check "\\dn" "public|runnel" "$(q -c '\dn')"
check "\\du" "runnel|Superuser, Create role, Create DB|{}" "$(q -c '\du')"
check "\\df (no user-defined functions)" "" "$(q -c '\df')"
check "session functions" "runnel|runnel|public|t" "$(q -c "SELECT current_database(), current_user, current_schema, version() LIKE 'PostgreSQL 15%'")"

kill -TERM "$PID"; wait "$PID"; code=$?; PID=""
check "graceful shutdown on SIGTERM" 0 "$code"

# Authentication and TLS: a second server with an auth file and a
# certificate; psql logs in with the password (SCRAM-SHA-256) over TLS,
# and a wrong password gets 28P01. Without an auth file, listening beyond
# loopback is refused.
printf 'alice:wonderland\n' >"$WORK/users"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
"$BIN" --listen "127.0.0.1:$PORT" --data-dir "$WORK/authdata" --log-level warn --auth-file "$WORK/users" \
  --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" >>"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  PGPASSWORD=wonderland psql -X -q -h 127.0.0.1 -p "$PORT" -U alice -c 'SHOW STREAMS' >/dev/null 2>&1 && break
  sleep 0.02
done
check "password over TLS" "on" "$(PGPASSWORD=wonderland PGSSLMODE=require timeout 20 psql -X -A -t -h 127.0.0.1 -p "$PORT" -U alice \
  -c "SELECT 'on' AS tls" 2>&1)"
err=$(PGPASSWORD=rabbit timeout 20 psql -X -h 127.0.0.1 -p "$PORT" -U alice -c 'SHOW STREAMS' 2>&1)
check "wrong password" yes "$(grep -q 'password authentication failed for user "alice"' <<<"$err" && echo yes || echo no)"
kill -TERM "$PID"; wait "$PID"; PID=""
err=$("$BIN" --listen "0.0.0.0:$PORT" --data-dir "$WORK/open" 2>&1)
check "no auth file beyond loopback is refused" yes "$(grep -q 'refusing to serve beyond loopback' <<<"$err" && echo yes || echo no)"

# Determinism: the same input aggregated with and without a kill -9 in the
# middle gives the same tables. 800,000 pageviews of 50 users on 20 pages
# over 10 minutes of event time (within the windows' grace, so that no
# record is late whatever the order the partitions are read in), loaded
# with \copy in four parts (each under --max-transaction-bytes), and two
# aggregations started from the earliest offset. The steady run loads all
# four parts first. The crashed run loads two, kills the server as soon as
# per_user has consumed part of them, restarts it and loads the other
# two: the kill lands with at most half the input read whatever the
# machine's speed (a fast machine once read all 800,000 records before the
# first look at the counters, which move a read batch at a time).
VIEWS=800000
python3 - "$WORK" "$VIEWS" <<'PY'
import sys
n = int(sys.argv[2])
for part in range(4):
    with open("%s/views%d.csv" % (sys.argv[1], part), "w") as f:
        f.write("userid,pageid,viewtime,ROWTIME\n")
        for i in range(part * n // 4, (part + 1) * n // 4):
            f.write("u%d,p%d,%d,%d\n" % (i % 50, (i * 7) % 20, i % 1000, 1795428000000 + i * 3 // 4))
PY
aggregate_run() { # $1: crash or steady; prints both tables
  rm -rf "$DATA"
  start
  q -c "CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='pageviews', partitions=4);" >/dev/null
  load() { for part in "$@"; do
    q -c "\\copy pageviews (userid, pageid, viewtime, ROWTIME) FROM '$WORK/views$part.csv' WITH (FORMAT csv, HEADER)" >/dev/null
  done; }
  if [ "$1" == crash ]; then load 0 1; else load 0 1 2 3; fi
  q -c "SET 'auto.offset.reset' = 'earliest';" \
    -c "CREATE TABLE per_user AS SELECT userid, COUNT(*) AS views, SUM(viewtime) AS total, MAX(viewtime) AS top FROM pageviews GROUP BY userid;" \
    -c "CREATE TABLE per_page_minute AS SELECT pageid, WINDOWSTART AS ws, COUNT(*) AS n FROM pageviews WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 1 HOUR) GROUP BY pageid;" >/dev/null 2>&1
  if [ "$1" == crash ]; then
    # How far the query has got (DESCRIBE EXTENDED reads its counters
    # without waiting, unlike a pull query): kill as soon as it has begun.
    seen=0
    for _ in $(seq 1 500); do
      seen=$(q -c "DESCRIBE EXTENDED per_user;" | grep '^records_consumed' | cut -d'|' -f2)
      [ "${seen:-0}" -gt 0 ] && break
      sleep 0.005
    done
    kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
    echo "$seen" >"$WORK/seen"
    start
    load 2 3
  fi
  q -c "SELECT * FROM per_user ORDER BY userid;"
  q -c "SELECT pageid, ws, n FROM per_page_minute ORDER BY pageid, ws;"
  kill -TERM "$PID"; wait "$PID" 2>/dev/null; PID=""
}
steady=$(aggregate_run steady)
crashed=$(aggregate_run crash)
seen=$(cat "$WORK/seen")
echo "killed with $seen of $VIEWS input records consumed by per_user"
check "aggregation: the kill -9 landed with part of the input read" yes "$([ "${seen:-0}" -gt 0 ] && [ "$seen" -lt "$VIEWS" ] && echo yes || echo no)"
check "aggregation: 50 users and 200 page-minutes" 250 "$(wc -l <<<"$steady" | tr -d ' ')"
check "aggregation: every view counted once" "$VIEWS" "$(head -50 <<<"$steady" | awk -F'|' '{s += $2} END {print s}')"
check "aggregation after kill -9 equals the uninterrupted run" "$steady" "$crashed"
[ "$steady" == "$crashed" ] || diff <(echo "$steady") <(echo "$crashed") | head -20

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
