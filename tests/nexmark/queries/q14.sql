-- Query 14: calculation (nexmark-flink's q14). Bids in a price band, with
-- the time of day they were made and how many 'c' their extra holds.
--
-- ksqlDB has no HOUR(): the hour is FORMAT_TIMESTAMP's 'HH' (UTC) as an
-- INT. nexmark-flink's count_char is a user-defined function counting one
-- character; LEN(extra) - LEN(REPLACE(extra, 'c', '')) counts the same.
CREATE STREAM nexmark_q14 AS
SELECT auction, bidder, 0.908 * price AS price,
       CASE
           WHEN CAST(FORMAT_TIMESTAMP(dateTime, 'HH', 'UTC') AS INT) >= 8
            AND CAST(FORMAT_TIMESTAMP(dateTime, 'HH', 'UTC') AS INT) <= 18 THEN 'dayTime'
           WHEN CAST(FORMAT_TIMESTAMP(dateTime, 'HH', 'UTC') AS INT) <= 6
             OR CAST(FORMAT_TIMESTAMP(dateTime, 'HH', 'UTC') AS INT) >= 20 THEN 'nightTime'
           ELSE 'otherTime'
       END AS bidTimeType,
       dateTime, extra,
       LEN(extra) - LEN(REPLACE(extra, 'c', '')) AS c_counts
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
