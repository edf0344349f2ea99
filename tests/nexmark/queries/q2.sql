-- Query 2: selection (nexmark-flink's q2). The bids on every 123rd auction.
-- nexmark-flink writes MOD(auction, 123) = 0; the original suite (and
-- RisingWave's sink) lists five auction ids instead, which finds almost
-- nothing.
CREATE STREAM nexmark_q2 AS
SELECT auction, price
FROM bid
WHERE auction % 123 = 0;
