-- Query 11: user sessions (nexmark-flink's q11). How many bids each bidder
-- made in each session, a session ending after 10 seconds without a bid.
--
-- Window bounds follow ksqlDB (Kafka Streams): a session spans its first
-- to its last bid, and a bid joins a session when it is at most 10 seconds
-- from it, bounds included. nexmark-flink's SESSION_END is the last bid
-- plus the gap, and its sessions merge only when bids are strictly less
-- than the gap apart. The table is updated as sessions grow and merge
-- (EMIT CHANGES); its final contents are the sessions nexmark-flink emits
-- once its watermark passes them.
CREATE TABLE nexmark_q11 AS
SELECT bidder, COUNT(*) AS bid_count, WINDOWSTART AS starttime, WINDOWEND AS endtime
FROM bid
WINDOW SESSION (10 SECONDS)
GROUP BY bidder
EMIT CHANGES;
