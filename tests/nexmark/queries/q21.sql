-- Query 21: add channel id (nexmark-flink's q21). The channel's id: fixed
-- for the four hot channels, else taken from the URL's channel_id
-- parameter; bids with neither are dropped. ksqlDB's REGEXP_EXTRACT takes
-- the pattern first and returns NULL when nothing matches.
CREATE STREAM nexmark_q21 AS
SELECT auction, bidder, price, channel,
       CASE
           WHEN LCASE(channel) = 'apple' THEN '0'
           WHEN LCASE(channel) = 'google' THEN '1'
           WHEN LCASE(channel) = 'facebook' THEN '2'
           WHEN LCASE(channel) = 'baidu' THEN '3'
           ELSE REGEXP_EXTRACT('(&|^)channel_id=([^&]*)', url, 2)
       END AS channel_id
FROM bid
WHERE REGEXP_EXTRACT('(&|^)channel_id=([^&]*)', url, 2) IS NOT NULL
   OR LCASE(channel) IN ('apple', 'google', 'facebook', 'baidu');
