-- Query 4: average price for a category (nexmark-flink's q4). For each
-- category, the average of its auctions' final prices, an auction's final
-- price being its highest bid made while it was open.
--
-- nexmark-flink joins auctions and bids without a window, on the auction's
-- id and B.dateTime BETWEEN A.dateTime AND A.expires, then aggregates
-- twice. Runnel has no subqueries, so each aggregation is a statement; and
-- ksqlDB joins streams within a window, so the join is windowed from the
-- auction's time to a day after it (WITHIN (0 MILLISECONDS, 1 DAY), bounds
-- included) with nexmark-flink's condition in ON: the window only has to
-- hold every auction's lifetime, which is under a second at nexmark's
-- default rate of events (twice the time of 1,666 events) and under 10
-- hours at the slowest rate the tests use. Every bid within an auction's
-- lifetime then meets it, whichever partition brought it, since the
-- default grace (24 hours) drops nothing.
--
-- AVG is ksqlDB's: a DOUBLE. nexmark-flink's AVG of a BIGINT truncates to
-- a BIGINT. The first table also keeps each auction's category in its key,
-- as nexmark-flink's GROUP BY A.id, A.category does.
CREATE TABLE nexmark_q4_final AS
SELECT A.id AS id, A.category AS category, MAX(B.price) AS final
FROM auction A
JOIN bid B WITHIN (0 MILLISECONDS, 1 DAY) ON A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
GROUP BY A.id, A.category
EMIT CHANGES;

CREATE TABLE nexmark_q4 AS
SELECT category, AVG(final) AS avg_final
FROM nexmark_q4_final
GROUP BY category
EMIT CHANGES;
