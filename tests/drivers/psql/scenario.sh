#!/usr/bin/env bash
# The driver matrix's scenario (tests/drivers/doc.go) with psql.
# Usage: scenario.sh HOST PORT PREFIX. Prints one "ok <step>" line per step
# and exits non-zero at the first failure.
set -euo pipefail
host=$1 port=$2 p=$3
q() { timeout 30 psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U runnel -d runnel "$@"; }
want() { # what, expected, actual
  if [ "$2" != "$3" ]; then echo "FAIL $1: want $(printf %q "$2"), got $(printf %q "$3")" >&2; exit 1; fi
}
ok() { echo "ok $1"; }

q -c "CREATE STREAM ${p}_views (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='${p}_views', partitions=1)"
ok "create stream"
# psql's variables are its parameters: :'name' quotes a value (in
# statements read from standard input, not -c).
for row in alice,home,100 bob,news,200 alice,about,300; do
  IFS=, read -r u pg t <<<"$row"
  echo "INSERT INTO ${p}_views (userid, pageid, viewtime) VALUES (:'u', :'pg', :'t');" | q -v u="$u" -v pg="$pg" -v t="$t"
done
ok "insert with parameters"
q -c "SET 'auto.offset.reset' = 'earliest'" -c "CREATE TABLE ${p}_counts AS SELECT userid, COUNT(*) AS n FROM ${p}_views GROUP BY userid" >/dev/null
ok "create table as select"
want "pull query" 2 "$(echo "SELECT n FROM ${p}_counts WHERE userid = :'u';" | q -v u=alice)"
ok "pull query with a parameter"
want "push query through a cursor" "alice|100
alice|300
bob|200" "$(q -c "SET 'auto.offset.reset' = 'earliest'" -c "BEGIN" \
  -c "DECLARE c CURSOR FOR SELECT userid, viewtime FROM ${p}_views EMIT CHANGES" -c "FETCH 3 FROM c" -c "ROLLBACK" | sort)"
ok "push query through a cursor"
# Ctrl-C is psql's cancel request.
out=$(mktemp)
timeout 30 psql -X -h "$host" -p "$port" -U runnel -d runnel -c "SELECT * FROM ${p}_views EMIT CHANGES" >"$out" 2>&1 &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid" || true
grep -q 'canceling statement due to user request' "$out" || { cat "$out" >&2; exit 1; }
rm -f "$out"
ok "cancel"
q -c "BEGIN" -c "INSERT INTO ${p}_views (userid, pageid, viewtime) VALUES ('carol', 'rolled back', 1)" -c "ROLLBACK"
q -c "BEGIN" -c "INSERT INTO ${p}_views (userid, pageid, viewtime) VALUES ('carol', 'committed', 2)" -c "COMMIT"
want "transactions" committed "$(q -c "SELECT pageid FROM ${p}_views WHERE userid = 'carol'")"
ok "rolled-back and committed transactions"
printf 'dave,copy,10\nerin,copy,20\n' | q -c "\\copy ${p}_views (userid, pageid, viewtime) FROM STDIN WITH (FORMAT csv)"
want "copy out" "dave,10
erin,20" "$(q -c "\\copy (SELECT userid, viewtime FROM ${p}_views WHERE pageid = 'copy') TO STDOUT WITH (FORMAT csv)" | sort)"
ok "copy in and out"
tables=$(q -c '\dt')
grep -q "^public|${p}_views|table|runnel$" <<<"$tables" || { echo "FAIL \\dt: $tables" >&2; exit 1; }
grep -q "^public|${p}_counts|table|runnel$" <<<"$tables" || { echo "FAIL \\dt: $tables" >&2; exit 1; }
want "\\d ${p}_views" "userid|text|||
pageid|text|||
viewtime|bigint|||" "$(q -c "\\d ${p}_views")"
ok "metadata"
