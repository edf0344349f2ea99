-- Query 3: local item suggestion (nexmark-flink's q3). Every auction in
-- category 10 whose seller lives in Oregon, Idaho or California, with the
-- seller's name, city and state.
--
-- nexmark-flink joins the two streams without a window (a regular join,
-- which keeps both sides forever and matches them in either order: an
-- auction's seller may register after it, up to 10 people ahead of the
-- last). ksqlDB joins streams only within a window, and a stream with a
-- table only in the stream's order, so each stream becomes a table keyed
-- by its id, and the two tables are joined on the foreign key seller: a
-- change on either side reaches every result row it affects, whichever
-- came first. The result is a table keyed by the auction's id; its rows
-- are nexmark-flink's output rows, with the columns in its order.
--
-- A stream becomes a table by being written keyed by its id (PARTITION
-- BY) and its topic declared as a table: every id occurs once in
-- nexmark's events, so a table row is its event. The join's WHERE is
-- nexmark-flink's; each side's half of it is also applied before its
-- table (as nexmark-flink's planner pushes a filter below a join), so
-- that the tables hold only the rows the join can use: with every id
-- once, a row that fails the filter is never one the join would keep.
--
-- The tables were LATEST_BY_OFFSET aggregations grouped by id; written
-- keyed by id, the streams are the tables, without the aggregations'
-- repartition topics, stores and sinks.
CREATE STREAM nexmark_q3_person_by_id AS
SELECT id, name, city, state
FROM person
WHERE state = 'OR' OR state = 'ID' OR state = 'CA'
PARTITION BY id
EMIT CHANGES;

CREATE TABLE nexmark_q3_person (id BIGINT PRIMARY KEY, name VARCHAR, city VARCHAR, state VARCHAR)
WITH (kafka_topic='NEXMARK_Q3_PERSON_BY_ID', value_format='JSON');

CREATE STREAM nexmark_q3_auction_by_id AS
SELECT id, seller, category
FROM auction
WHERE category = 10
PARTITION BY id
EMIT CHANGES;

CREATE TABLE nexmark_q3_auction (id BIGINT PRIMARY KEY, seller BIGINT, category BIGINT)
WITH (kafka_topic='NEXMARK_Q3_AUCTION_BY_ID', value_format='JSON');

CREATE TABLE nexmark_q3 AS
SELECT P.name AS name, P.city AS city, P.state AS state, A.id AS id
FROM nexmark_q3_auction A
JOIN nexmark_q3_person P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
EMIT CHANGES;
