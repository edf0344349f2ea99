// The driver matrix's scenario (tests/drivers/doc.go) with node-postgres.
// Usage: node scenario.js HOST PORT PREFIX. Prints one "ok <step>" line per
// step and exits non-zero at the first failure.
'use strict';
const assert = require('assert');
const { Client, Query } = require('pg');
const Cursor = require('pg-cursor');
const { from: copyFrom, to: copyTo } = require('pg-copy-streams');
const { pipeline } = require('stream/promises');
const { Readable, Writable } = require('stream');

const [host, port, p] = process.argv.slice(2);
const cfg = { host, port: Number(port), user: 'runnel', database: 'runnel' };
const ok = (step) => console.log('ok ' + step);

async function main() {
  const c = new Client(cfg);
  await c.connect();
  await c.query(`CREATE STREAM ${p}_views (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='${p}_views', partitions=1)`);
  ok('create stream');
  for (const [u, pg, t] of [['alice', 'home', 100], ['bob', 'news', 200], ['alice', 'about', 300]]) {
    await c.query(`INSERT INTO ${p}_views (userid, pageid, viewtime) VALUES ($1, $2, $3)`, [u, pg, t]);
  }
  ok('insert with parameters');
  await c.query("SET 'auto.offset.reset' = 'earliest'");
  await c.query(`CREATE TABLE ${p}_counts AS SELECT userid, COUNT(*) AS n FROM ${p}_views GROUP BY userid`);
  ok('create table as select');
  const pull = await c.query(`SELECT n FROM ${p}_counts WHERE userid = $1`, ['alice']);
  assert.deepStrictEqual(pull.rows.map((r) => String(r.N)), ['2']);
  ok('pull query with a parameter');

  // pg-cursor reads a portal with a row limit (Execute n, PortalSuspended).
  await c.query('BEGIN');
  const cur = c.query(new Cursor(`SELECT userid, viewtime FROM ${p}_views EMIT CHANGES`));
  const rows = await cur.read(3);
  assert.deepStrictEqual(rows.map((r) => `${r.USERID}:${r.VIEWTIME}`).sort(), ['alice:100', 'alice:300', 'bob:200']);
  await cur.close();
  await c.query('ROLLBACK');
  ok('push query through a cursor');

  // A push query without LIMIT until a cancel request ends it.
  const push = new Query(`SELECT * FROM ${p}_views EMIT CHANGES`);
  const ended = new Promise((resolve, reject) => { push.on('error', reject); push.on('end', resolve); });
  c.query(push);
  setTimeout(() => new Client(cfg).cancel(c, push), 500);
  await assert.rejects(ended, (err) => err.code === '57014');
  ok('cancel');

  await c.query('BEGIN');
  await c.query(`INSERT INTO ${p}_views (userid, pageid, viewtime) VALUES ($1, $2, $3)`, ['carol', 'rolled back', 1]);
  await c.query('ROLLBACK');
  await c.query('BEGIN');
  await c.query(`INSERT INTO ${p}_views (userid, pageid, viewtime) VALUES ($1, $2, $3)`, ['carol', 'committed', 2]);
  await c.query('COMMIT');
  const tx = await c.query(`SELECT pageid FROM ${p}_views WHERE userid = 'carol'`);
  assert.deepStrictEqual(tx.rows.map((r) => r.PAGEID), ['committed']);
  ok('rolled-back and committed transactions');

  await pipeline(Readable.from(['dave,copy,10\nerin,copy,20\n']),
    c.query(copyFrom(`COPY ${p}_views (userid, pageid, viewtime) FROM STDIN WITH (FORMAT csv)`)));
  let out = '';
  await pipeline(c.query(copyTo(`COPY (SELECT userid, viewtime FROM ${p}_views WHERE pageid = 'copy') TO STDOUT WITH (FORMAT csv)`)),
    new Writable({ write(chunk, _, done) { out += chunk; done(); } }));
  assert.deepStrictEqual(out.trim().split('\n').sort(), ['dave,10', 'erin,20']);
  ok('copy in and out');

  const tables = await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  const names = tables.rows.map((r) => r.table_name);
  assert.ok(names.includes(`${p}_views`) && names.includes(`${p}_counts`), names.join(','));
  const cols = await c.query('SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [`${p}_views`]);
  assert.deepStrictEqual(cols.rows.map((r) => `${r.column_name} ${r.data_type}`), ['userid text', 'pageid text', 'viewtime bigint']);
  ok('metadata');
  await c.end();
}

main().catch((err) => { console.error(err); process.exit(1); });
