-- Query 5: hot items (nexmark-flink's q5). For each hopping window of
-- 10 seconds advancing by 2, the auctions with the most bids in it, with
-- their count.
--
-- nexmark-flink counts the bids per auction and HOP window (windows start
-- at multiples of 2 s from the epoch and last 10 s), takes each window's
-- highest count, and joins the two on the window, keeping the counts that
-- are >= the highest: the rows (auction, num), a window's ties all kept.
--
-- A window's counts and its highest count are final only once the window
-- has closed, and the highest count is one task per window fed through a
-- repartition that interleaves the partitions out of event-time order (see
-- q7.sql): here every stage is a table that converges to the answer
-- whatever the order of its input. ksqlDB's MAX cannot aggregate a table
-- (it cannot retract a value), so the highest count is taken from the
-- counts' changelog read as a stream: a count only grows, so the largest
-- value a window's changelog ever holds is its highest final count. The
-- windows are spelled out rather than a WINDOW HOPPING clause, so that the
-- counts are a table with a plain (auction, window start) key that the
-- last stage can join. The stages:
--
-- 1. each bid once per window that holds it (EXPLODE: the five starts
--    from its time rounded down to 2 s back to 8 s before that);
-- 2. the count per auction and window start;
-- 3. the counts' topic declared as a stream: every update of a count;
-- 4. each window's highest count;
-- 5. the same highest counts keyed by window and count ('start/count'):
--    an aggregation of stage 4's table, whose COUNT retracts a window's
--    old highest count when a higher one replaces it (HAVING drops the
--    emptied key). Every count update of a window updates its highest
--    count, most often to the same value; joined on the window alone,
--    each update would revisit every auction of the window. Keyed by the
--    count too, an update revisits only the auctions at that count;
-- 6. the foreign-key join of the counts, on their window and count, with
--    the windows' highest: an auction is in the result while its count
--    is its window's highest (nexmark-flink's num >= maxn: no count
--    exceeds the highest).
--
-- The result is a table keyed by auction and window start, so its key
-- format is JSON (KAFKA holds one column); its rows (auction, num) are
-- nexmark-flink's.
CREATE STREAM nexmark_q5_bids AS
SELECT auction,
       EXPLODE(ARRAY[UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 2000 - 8000,
                     UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 2000 - 6000,
                     UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 2000 - 4000,
                     UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 2000 - 2000,
                     UNIX_TIMESTAMP(dateTime) - UNIX_TIMESTAMP(dateTime) % 2000]) AS starttime
FROM bid
EMIT CHANGES;

CREATE TABLE nexmark_q5_counts WITH (key_format='JSON') AS
SELECT auction, starttime, COUNT(*) AS num
FROM nexmark_q5_bids
GROUP BY auction, starttime
EMIT CHANGES;

CREATE STREAM nexmark_q5_count_changes (auction BIGINT KEY, starttime BIGINT KEY, num BIGINT)
WITH (kafka_topic='NEXMARK_Q5_COUNTS', key_format='JSON', value_format='JSON');

CREATE TABLE nexmark_q5_max AS
SELECT starttime, MAX(num) AS maxn
FROM nexmark_q5_count_changes
GROUP BY starttime
EMIT CHANGES;

CREATE TABLE nexmark_q5_highest AS
SELECT CAST(starttime AS VARCHAR) + '/' + CAST(maxn AS VARCHAR) AS window_count, COUNT(*) AS windows
FROM nexmark_q5_max
GROUP BY CAST(starttime AS VARCHAR) + '/' + CAST(maxn AS VARCHAR)
HAVING COUNT(*) > 0
EMIT CHANGES;

CREATE TABLE nexmark_q5 WITH (key_format='JSON') AS
SELECT C.auction AS auction, C.starttime AS starttime, C.num AS num
FROM nexmark_q5_counts C
JOIN nexmark_q5_highest H ON CAST(C.starttime AS VARCHAR) + '/' + CAST(C.num AS VARCHAR) = H.window_count
EMIT CHANGES;
