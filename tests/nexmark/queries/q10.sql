-- Query 10: log to file system (nexmark-flink's q10). Every bid with its
-- day and minute, which nexmark-flink uses to partition the files it
-- writes. The computation is the same; the sink is a topic, since Runnel
-- writes topics, not files. Times are in UTC.
CREATE STREAM nexmark_q10 AS
SELECT auction, bidder, price, dateTime, extra,
       FORMAT_TIMESTAMP(dateTime, 'yyyy-MM-dd', 'UTC') AS dt,
       FORMAT_TIMESTAMP(dateTime, 'HH:mm', 'UTC') AS hm
FROM bid;
