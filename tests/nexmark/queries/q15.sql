-- Query 15: bidding statistics report (nexmark-flink's q15). Per day, how
-- many bids, bidders and auctions, in all and in three price ranks.
--
-- ksqlDB has no FILTER clause: COUNT(*) FILTER (WHERE c) is written
-- COUNT(CASE WHEN c THEN 1 END) and COUNT(DISTINCT x) FILTER (WHERE c) is
-- COUNT(DISTINCT CASE WHEN c THEN x END); both count the same rows, since
-- COUNT skips NULLs. Runnel's COUNT(DISTINCT) is exact.
CREATE TABLE nexmark_q15 AS
SELECT FORMAT_TIMESTAMP(dateTime, 'yyyy-MM-dd', 'UTC') AS day,
       COUNT(*) AS total_bids,
       COUNT(CASE WHEN price < 10000 THEN 1 END) AS rank1_bids,
       COUNT(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 END) AS rank2_bids,
       COUNT(CASE WHEN price >= 1000000 THEN 1 END) AS rank3_bids,
       COUNT(DISTINCT bidder) AS total_bidders,
       COUNT(DISTINCT CASE WHEN price < 10000 THEN bidder END) AS rank1_bidders,
       COUNT(DISTINCT CASE WHEN price >= 10000 AND price < 1000000 THEN bidder END) AS rank2_bidders,
       COUNT(DISTINCT CASE WHEN price >= 1000000 THEN bidder END) AS rank3_bidders,
       COUNT(DISTINCT auction) AS total_auctions,
       COUNT(DISTINCT CASE WHEN price < 10000 THEN auction END) AS rank1_auctions,
       COUNT(DISTINCT CASE WHEN price >= 10000 AND price < 1000000 THEN auction END) AS rank2_auctions,
       COUNT(DISTINCT CASE WHEN price >= 1000000 THEN auction END) AS rank3_auctions
FROM bid
GROUP BY FORMAT_TIMESTAMP(dateTime, 'yyyy-MM-dd', 'UTC')
EMIT CHANGES;
