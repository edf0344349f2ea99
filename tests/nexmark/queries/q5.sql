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
-- (it cannot retract a value), so the highest counts are taken from the
-- counts' changelog read as a stream: a count only grows, so the largest
-- value a window's changelog ever holds is its highest final count. The
-- stages:
--
-- 1. the count per auction and hopping window (ksqlDB's hopping windows
--    start at multiples of their advance from the epoch, as nexmark-flink's
--    HOP windows do), with the auction and the window's start copied into
--    the value (AS_VALUE, WINDOWSTART), so that the changelog can be read
--    without its windowed key. A window keeps its count for ksqlDB's
--    default grace (24 hours less its size), far longer than the
--    repartition holds a bid back, so no bid is dropped as late (and
--    the first stage combines every bid, below);
-- 2. the counts' topic declared as a stream of those values (KEY_FORMAT
--    'NONE': the windowed key is not read): every update of a count;
-- 3. each window's highest count;
-- 4. each auction's count per window again, as a table with a plain
--    (auction, window start) key: ksqlDB joins no windowed table to a
--    table that is not windowed, and the last stage's left side must be
--    one. The largest count a changelog holds for a key is its final
--    count, whatever order the repartition brings the updates in;
-- 5. the highest counts keyed by window and count ('start/count'): an
--    aggregation of stage 3's table, whose COUNT retracts a window's old
--    highest count when a higher one replaces it (HAVING drops the emptied
--    key). Every count update of a window updates its highest count, most
--    often to the same value; joined on the window alone, each update
--    would revisit every auction of the window. Keyed by the count too, an
--    update revisits only the auctions at that count;
-- 6. the foreign-key join of stage 4's counts, on their window and count,
--    with the windows' highest: an auction is in the result while its
--    count is its window's highest (nexmark-flink's num >= maxn: no count
--    exceeds the highest).
--
-- Each bid is read once, and the windows are the aggregation's: COUNT
-- combines, so the first stage folds a batch's bids of an auction into one
-- partial count per window (operators/combine.go), and the second stage
-- merges a record per auction and window, not five state updates per bid.
-- The alternative, each bid exploded into five records (one per window
-- start, 4,600,000 records for 920,000 bids) written to a topic and
-- combined only at the count's repartition, wrote 6.8 to 7.1 million
-- offsets to this one's 2.2 to 2.7 million and took about 30% more
-- CPU; its state was smaller (64 MB to this one's 82: the windows' store
-- and its expiry index, beside stage 4's counts). BENCHMARKS.md's speed
-- work has the numbers.
--
-- The result is a table keyed by auction and window start, so its key
-- format is JSON (KAFKA holds one column); its rows (auction, num) are
-- nexmark-flink's.
CREATE TABLE nexmark_q5_windows WITH (key_format='JSON') AS
SELECT auction, AS_VALUE(auction) AS bid_auction, WINDOWSTART AS starttime, COUNT(*) AS num
FROM bid
WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 2 SECONDS)
GROUP BY auction
EMIT CHANGES;

CREATE STREAM nexmark_q5_count_changes (bid_auction BIGINT, starttime BIGINT, num BIGINT)
WITH (kafka_topic='NEXMARK_Q5_WINDOWS', key_format='NONE', value_format='JSON');

CREATE TABLE nexmark_q5_max AS
SELECT starttime, MAX(num) AS maxn
FROM nexmark_q5_count_changes
GROUP BY starttime
EMIT CHANGES;

CREATE TABLE nexmark_q5_counts WITH (key_format='JSON') AS
SELECT bid_auction AS auction, starttime, MAX(num) AS num
FROM nexmark_q5_count_changes
GROUP BY bid_auction, starttime
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
