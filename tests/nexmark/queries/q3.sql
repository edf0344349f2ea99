-- Query 3: local item suggestion (nexmark-flink's q3). Every auction in
-- category 10 whose seller lives in Oregon, Idaho or California, with the
-- seller's name, city and state.
--
-- nexmark-flink joins the two streams without a window (a regular join,
-- which keeps both sides forever and matches them in either order: an
-- auction's seller may register after it, up to 10 people ahead of the
-- last). ksqlDB joins streams only within a window, and a stream with a
-- table only in the stream's order, so each stream becomes a table keyed
-- by its id first (every id occurs once, so a table row is its event), and
-- the two tables are joined on the foreign key seller: a change on either
-- side reaches every result row it affects, whichever came first. The
-- result is a table keyed by the auction's id; its rows are nexmark-flink's
-- output rows, with the columns in its order.
CREATE TABLE nexmark_q3_person AS
SELECT id, LATEST_BY_OFFSET(name) AS name, LATEST_BY_OFFSET(city) AS city, LATEST_BY_OFFSET(state) AS state
FROM person
GROUP BY id
EMIT CHANGES;

CREATE TABLE nexmark_q3_auction AS
SELECT id, LATEST_BY_OFFSET(seller) AS seller, LATEST_BY_OFFSET(category) AS category
FROM auction
GROUP BY id
EMIT CHANGES;

CREATE TABLE nexmark_q3 AS
SELECT P.name AS name, P.city AS city, P.state AS state, A.id AS id
FROM nexmark_q3_auction A
JOIN nexmark_q3_person P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
EMIT CHANGES;
