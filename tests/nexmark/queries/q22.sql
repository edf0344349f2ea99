-- Query 22: get URL directories (nexmark-flink's q22). The first three
-- directories of each bid's URL. nexmark-flink's SPLIT_INDEX counts from 0;
-- ksqlDB's arrays count from 1, so SPLIT_INDEX(url, '/', 3) is
-- SPLIT(url, '/')[4]. Both give NULL past the end.
CREATE STREAM nexmark_q22 AS
SELECT auction, bidder, price, channel,
       SPLIT(url, '/')[4] AS dir1,
       SPLIT(url, '/')[5] AS dir2,
       SPLIT(url, '/')[6] AS dir3
FROM bid;
