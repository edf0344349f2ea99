-- Query 20: expand bid with auction (nexmark-flink's q20). Every bid on an
-- auction of category 10, with the auction's columns.
--
-- nexmark-flink joins the streams without a window. ksqlDB joins streams
-- within a window, so this one is a day either way (WITHIN 1 DAY, bounds
-- included) with a day's grace, so that no record is dropped as late: it
-- only has to hold each bid's auction, which the generator draws among the
-- 110 auctions around the bid's time (the 100 before it, the hot one among
-- them, or one of the next 10), under 0.2 seconds away at nexmark's
-- default rate of events and under 6 hours at the slowest rate the tests
-- use. The bid's and the auction's dateTime and extra are renamed, as
-- nexmark-flink's sink has them once.
CREATE STREAM nexmark_q20 AS
SELECT B.auction AS auction, B.bidder AS bidder, B.price AS price, B.channel AS channel, B.url AS url,
       B.dateTime AS bid_dateTime, B.extra AS bid_extra,
       A.itemName AS itemName, A.description AS description, A.initialBid AS initialBid, A.reserve AS reserve,
       A.dateTime AS auction_dateTime, A.expires AS expires, A.seller AS seller, A.category AS category,
       A.extra AS auction_extra
FROM bid B
JOIN auction A WITHIN 1 DAY GRACE PERIOD 1 DAY ON B.auction = A.id
WHERE A.category = 10
EMIT CHANGES;
