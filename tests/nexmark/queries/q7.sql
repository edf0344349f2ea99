-- Query 7: highest bid (nexmark-flink's q7). Each bid whose price is the
-- highest of a 10-second tumbling window's bids.
--
-- nexmark-flink joins the bids with each window's MAX(price), taken at the
-- window's TUMBLE_ROWTIME (its end less 1 ms), on B.price = maxprice and
-- B.dateTime BETWEEN rowtime - 10 s AND rowtime, bounds included. That
-- range is the window [start, end) plus the last millisecond before it: a
-- bid made in the last millisecond of a window (its time mod 10 s is
-- 9,999 ms) meets its own window's maximum and the next window's, and is
-- one row of the result for each it equals.
--
-- A window's maximum is final only once the window has closed. Runnel's
-- EMIT FINAL closes a window when a task's stream time passes its end plus
-- a grace, but a maximum over every bid is one task fed through a
-- repartition that interleaves the bid partitions out of event-time order,
-- so no grace is both exact and short. Tables need no finality: every
-- stage here is a table that converges to the answer whatever the order
-- of its input, and a later maximum retracts the rows that matched an
-- earlier one. The stages:
--
-- 1. each bid once per window it may meet, keyed by a name no other row
--    has, the bid's partition and offset in its topic (PARTITION BY), with
--    the window's start in ms (a multiple of 10 s from the epoch, as in
--    nexmark-flink): every bid with its own window's start, and (an
--    INSERT INTO the same stream) a bid in a window's last millisecond a
--    second time, with the next window's start and the name suffixed
--    '/next';
-- 2. each window's highest price, from the bids (a MAX per window start:
--    a price only raises it);
-- 3. the same maxima keyed by window and price ('start/price'): an
--    aggregation of stage 2's table, whose COUNT retracts a window's old
--    maximum when a higher one replaces it (HAVING drops the emptied
--    key). A window's maximum is updated by every bid of the window, most
--    often to the same price; joined on the window alone, each update
--    would revisit every bid of the window, a cost that grows with the
--    square of the bids per window. Keyed by the price too, an update
--    revisits only the bids at that price;
-- 4. stage 1's topic declared as a table: no two of its records share a
--    key, so each is a row of its own and the table keeps every bid,
--    equal bids included;
-- 5. the foreign-key join of those rows, on their window and price, with
--    the windows' maxima: a row is in the result while its price is its
--    window's maximum.
--
-- Stages 1 and 4 were an EXPLODE of each bid's windows into a stream and
-- a LATEST_BY_OFFSET table of that stream grouped by each record's
-- partition and offset; keyed as it is written, the stream is the table,
-- without that aggregation's repartition topic, store and sink.
--
-- The result is a table keyed by stage 1's name (id); its rows are
-- nexmark-flink's: auction, price, bidder, dateTime, extra.
CREATE STREAM nexmark_q7_bids AS
SELECT CAST(ROWPARTITION AS VARCHAR) + '/' + CAST(ROWOFFSET AS VARCHAR) AS id,
       auction, price, bidder, dateTime, extra,
       UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 10000 AS starttime
FROM bid
PARTITION BY CAST(ROWPARTITION AS VARCHAR) + '/' + CAST(ROWOFFSET AS VARCHAR)
EMIT CHANGES;

INSERT INTO nexmark_q7_bids
SELECT CAST(ROWPARTITION AS VARCHAR) + '/' + CAST(ROWOFFSET AS VARCHAR) + '/next' AS id,
       auction, price, bidder, dateTime, extra,
       UNIX_TIMESTAMP(dateTime) + 1 AS starttime
FROM bid
WHERE UNIX_TIMESTAMP(dateTime) % 10000 = 9999
PARTITION BY CAST(ROWPARTITION AS VARCHAR) + '/' + CAST(ROWOFFSET AS VARCHAR) + '/next'
EMIT CHANGES;

CREATE TABLE nexmark_q7_max AS
SELECT UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 10000 AS starttime, MAX(price) AS maxprice
FROM bid
GROUP BY UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 10000
EMIT CHANGES;

CREATE TABLE nexmark_q7_highest AS
SELECT CAST(starttime AS VARCHAR) + '/' + CAST(maxprice AS VARCHAR) AS window_price, COUNT(*) AS windows
FROM nexmark_q7_max
GROUP BY CAST(starttime AS VARCHAR) + '/' + CAST(maxprice AS VARCHAR)
HAVING COUNT(*) > 0
EMIT CHANGES;

CREATE TABLE nexmark_q7_rows (id VARCHAR PRIMARY KEY, auction BIGINT, price BIGINT, bidder BIGINT,
                              dateTime TIMESTAMP, extra VARCHAR, starttime BIGINT)
WITH (kafka_topic='NEXMARK_Q7_BIDS', value_format='JSON');

CREATE TABLE nexmark_q7 AS
SELECT R.id AS id, R.auction AS auction, R.price AS price, R.bidder AS bidder, R.dateTime AS dateTime, R.extra AS extra
FROM nexmark_q7_rows R
JOIN nexmark_q7_highest H ON CAST(R.starttime AS VARCHAR) + '/' + CAST(R.price AS VARCHAR) = H.window_price
EMIT CHANGES;
