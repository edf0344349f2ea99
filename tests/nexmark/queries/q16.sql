-- Query 16: channel statistics report (nexmark-flink's q16). Query 15 per
-- channel and day, with the latest minute of the day seen on the channel.
-- FILTER clauses are written as in q15.
-- Its key has two columns, which the source's KAFKA key format cannot
-- hold: JSON is named, as ksqlDB requires.
CREATE TABLE nexmark_q16 WITH (key_format='JSON') AS
SELECT channel,
       FORMAT_TIMESTAMP(dateTime, 'yyyy-MM-dd', 'UTC') AS day,
       MAX(FORMAT_TIMESTAMP(dateTime, 'HH:mm', 'UTC')) AS minute,
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
GROUP BY channel, FORMAT_TIMESTAMP(dateTime, 'yyyy-MM-dd', 'UTC')
EMIT CHANGES;
