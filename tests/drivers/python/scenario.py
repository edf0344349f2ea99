"""The driver matrix's scenario (tests/drivers/doc.go) with psycopg2.

Usage: python3 scenario.py HOST PORT PREFIX. Prints one "ok <step>" line
per step and exits non-zero at the first failure.
"""
import io
import sys
import threading
import time

import psycopg2
import psycopg2.errors

host, port, p = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def ok(step):
    print("ok " + step, flush=True)


conn = psycopg2.connect(host=host, port=port, user="runnel", dbname="runnel", sslmode="disable")
conn.autocommit = True
cur = conn.cursor()
cur.execute(f"CREATE STREAM {p}_views (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) "
            f"WITH (kafka_topic='{p}_views', partitions=1)")
ok("create stream")
for user, page, t in [("alice", "home", 100), ("bob", "news", 200), ("alice", "about", 300)]:
    cur.execute(f"INSERT INTO {p}_views (userid, pageid, viewtime) VALUES (%s, %s, %s)", (user, page, t))
ok("insert with parameters")
cur.execute("SET 'auto.offset.reset' = 'earliest'")
cur.execute(f"CREATE TABLE {p}_counts AS SELECT userid, COUNT(*) AS n FROM {p}_views GROUP BY userid")
ok("create table as select")
cur.execute(f"SELECT n FROM {p}_counts WHERE userid = %s", ("alice",))
assert cur.fetchall() == [(2,)], "pull query"
ok("pull query with a parameter")

# A push query read through a named cursor (DECLARE/FETCH in a block).
conn.autocommit = False
named = conn.cursor(name="push")
named.itersize = 2
named.execute(f"SELECT userid, viewtime FROM {p}_views EMIT CHANGES")
rows = named.fetchmany(3)
assert sorted(rows) == [("alice", 100), ("alice", 300), ("bob", 200)], rows
named.close()
conn.rollback()
conn.autocommit = True
ok("push query through a cursor")

# Cancel: a push query without LIMIT, cancelled from another thread.
timer = threading.Timer(0.5, conn.cancel)
timer.start()
try:
    cur.execute(f"SELECT * FROM {p}_views EMIT CHANGES")
    raise AssertionError("the push query ended without a cancel")
except psycopg2.errors.QueryCanceled:
    pass
ok("cancel")

conn.autocommit = False
cur.execute(f"INSERT INTO {p}_views (userid, pageid, viewtime) VALUES (%s, %s, %s)", ("carol", "rolled back", 1))
conn.rollback()
cur.execute(f"INSERT INTO {p}_views (userid, pageid, viewtime) VALUES (%s, %s, %s)", ("carol", "committed", 2))
conn.commit()
conn.autocommit = True
cur.execute(f"SELECT pageid FROM {p}_views WHERE userid = 'carol'")
assert cur.fetchall() == [("committed",)], "transactions"
ok("rolled-back and committed transactions")

cur.copy_expert(f"COPY {p}_views (userid, pageid, viewtime) FROM STDIN WITH (FORMAT csv)",
                io.StringIO("dave,copy,10\nerin,copy,20\n"))
out = io.StringIO()
cur.copy_expert(f"COPY (SELECT userid, viewtime FROM {p}_views WHERE pageid = 'copy') TO STDOUT WITH (FORMAT csv)", out)
assert sorted(out.getvalue().splitlines()) == ["dave,10", "erin,20"], out.getvalue()
ok("copy in and out")

cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
tables = [r[0] for r in cur.fetchall()]
assert f"{p}_views" in tables and f"{p}_counts" in tables, tables
cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (f"{p}_views",))
assert cur.fetchall() == [("userid", "text"), ("pageid", "text"), ("viewtime", "bigint")], "columns"
ok("metadata")
conn.close()
