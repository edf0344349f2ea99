-- Query 17: auction statistics report (nexmark-flink's q17). Per auction
-- and day: the bids in all and by price rank, and the lowest, highest,
-- average and total price. FILTER clauses are written as in q15.
--
-- AVG is ksqlDB's: a DOUBLE. nexmark-flink's sink column is BIGINT (its
-- AVG of a BIGINT truncates); RisingWave's is an exact decimal.
-- Its key has two columns, which the source's KAFKA key format cannot
-- hold: JSON is named, as ksqlDB requires.
CREATE TABLE nexmark_q17 WITH (key_format='JSON') AS
SELECT auction,
       FORMAT_TIMESTAMP(dateTime, 'yyyy-MM-dd', 'UTC') AS day,
       COUNT(*) AS total_bids,
       COUNT(CASE WHEN price < 10000 THEN 1 END) AS rank1_bids,
       COUNT(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 END) AS rank2_bids,
       COUNT(CASE WHEN price >= 1000000 THEN 1 END) AS rank3_bids,
       MIN(price) AS min_price,
       MAX(price) AS max_price,
       AVG(price) AS avg_price,
       SUM(price) AS sum_price
FROM bid
GROUP BY auction, FORMAT_TIMESTAMP(dateTime, 'yyyy-MM-dd', 'UTC')
EMIT CHANGES;
