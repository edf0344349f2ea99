-- Query 18: find last bid (nexmark-flink's q18). Each bidder's last bid on
-- each auction, by event time.
--
-- nexmark-flink keeps the first row of ROW_NUMBER() OVER (PARTITION BY
-- bidder, auction ORDER BY dateTime DESC). Runnel, as ksqlDB, has no
-- ROW_NUMBER(); ksqlDB 0.29's TOPK with other columns keeps whole rows:
-- TOPK(dateTime, price, channel, url, extra, 1) per bidder and auction is
-- the latest bid's row, a STRUCT of sort_col (the time) and col0 to col3
-- (the other columns), whichever order the bids arrive in (LATEST_BY_OFFSET
-- would keep the last to arrive, which differs once a key's bids come
-- from several partitions). TOPK is not retractable, and needs not be: a
-- stream only adds bids.
--
-- Among bids of one bidder and auction at the same millisecond,
-- nexmark-flink's choice is not specified (its deduplication keeps the
-- last to arrive) and TOPK keeps the first to arrive. The result is a
-- table keyed by bidder and auction (key format JSON: KAFKA holds one
-- column).
CREATE TABLE nexmark_q18 WITH (key_format='JSON') AS
SELECT bidder, auction,
       TOPK(dateTime, price, channel, url, extra, 1)[1]->"col0" AS price,
       TOPK(dateTime, price, channel, url, extra, 1)[1]->"col1" AS channel,
       TOPK(dateTime, price, channel, url, extra, 1)[1]->"col2" AS url,
       TOPK(dateTime, price, channel, url, extra, 1)[1]->"sort_col" AS dateTime,
       TOPK(dateTime, price, channel, url, extra, 1)[1]->"col3" AS extra
FROM bid
GROUP BY bidder, auction
EMIT CHANGES;
