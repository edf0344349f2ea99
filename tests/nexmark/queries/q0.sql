-- Query 0: pass through (nexmark-flink's q0). Every bid, every column but
-- channel and url, with no change: the cost of reading, decoding, encoding
-- and writing.
CREATE STREAM nexmark_q0 AS
SELECT auction, bidder, price, dateTime, extra
FROM bid;
