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
-- 1. each bid once per window it may meet (EXPLODE: two windows for a bid
--    in a window's last millisecond, one otherwise), with the window's
--    start in ms (a multiple of 10 s from the epoch, as in nexmark-flink);
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
-- 4. the rows of stage 1 as a table, one row per record of stage 1's topic
--    (keyed by its partition and offset, which no two records share;
--    LATEST_BY_OFFSET of a group of one record is that record's value),
--    so that the result keeps every bid, equal bids included;
-- 5. the foreign-key join of those rows, on their window and price, with
--    the windows' maxima: a row is in the result while its price is its
--    window's maximum.
--
-- The result is a table keyed by stage 1's record (id); its rows are
-- nexmark-flink's: auction, price, bidder, dateTime, extra.
CREATE STREAM nexmark_q7_bids AS
SELECT auction, price, bidder, dateTime, extra,
       EXPLODE(CASE WHEN UNIX_TIMESTAMP(dateTime) % 10000 = 9999
                    THEN ARRAY[UNIX_TIMESTAMP(dateTime) - 9999, UNIX_TIMESTAMP(dateTime) + 1]
                    ELSE ARRAY[UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 10000] END) AS starttime
FROM bid
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

CREATE TABLE nexmark_q7_rows AS
SELECT CAST(ROWPARTITION AS VARCHAR) + '/' + CAST(ROWOFFSET AS VARCHAR) AS id,
       LATEST_BY_OFFSET(auction) AS auction, LATEST_BY_OFFSET(price) AS price, LATEST_BY_OFFSET(bidder) AS bidder,
       LATEST_BY_OFFSET(dateTime) AS dateTime, LATEST_BY_OFFSET(extra) AS extra, LATEST_BY_OFFSET(starttime) AS starttime
FROM nexmark_q7_bids
GROUP BY CAST(ROWPARTITION AS VARCHAR) + '/' + CAST(ROWOFFSET AS VARCHAR)
EMIT CHANGES;

CREATE TABLE nexmark_q7 AS
SELECT R.id AS id, R.auction AS auction, R.price AS price, R.bidder AS bidder, R.dateTime AS dateTime, R.extra AS extra
FROM nexmark_q7_rows R
JOIN nexmark_q7_highest H ON CAST(R.starttime AS VARCHAR) + '/' + CAST(R.price AS VARCHAR) = H.window_price
EMIT CHANGES;
