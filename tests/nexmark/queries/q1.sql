-- Query 1: currency conversion (nexmark-flink's q1). Each bid's price from
-- dollars to euros. 0.908 is a DECIMAL(3,3) literal, so the product is an
-- exact DECIMAL with three decimals, as nexmark-flink's DECIMAL(23, 3) sink
-- column is.
CREATE STREAM nexmark_q1 AS
SELECT auction, bidder, 0.908 * price AS price, dateTime, extra
FROM bid;
