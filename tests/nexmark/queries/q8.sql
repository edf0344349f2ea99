-- Query 8: monitor new users (nexmark-flink's q8). The people who opened an
-- auction in the same 10-second tumbling window in which they registered,
-- with the window's start.
--
-- nexmark-flink groups each stream by its 10-second tumbling windows (the
-- people by id, name and window; the auctions by seller and window) and
-- joins the two on the id and the window. Here the streams are joined
-- within 10 seconds (bounds included) on the id and on the window, the
-- event time in ms divided by 10,000 (a tumbling window starts at a
-- multiple of its size from the epoch, as in nexmark-flink), then grouped
-- by person and window start, which keeps one row per person however many
-- auctions they opened in their window, as nexmark-flink's grouping of the
-- auctions does. ksqlDB wants a value column besides the key: the name is
-- LATEST_BY_OFFSET(name), the name of the person's one registration (ids
-- occur once).
CREATE TABLE nexmark_q8 AS
SELECT P.id AS id,
       FROM_UNIXTIME(UNIX_TIMESTAMP(P.dateTime) - UNIX_TIMESTAMP(P.dateTime) % 10000) AS starttime,
       LATEST_BY_OFFSET(P.name) AS name
FROM person P
JOIN auction A WITHIN 10 SECONDS ON P.id = A.seller AND UNIX_TIMESTAMP(P.dateTime) / 10000 = UNIX_TIMESTAMP(A.dateTime) / 10000
GROUP BY P.id, FROM_UNIXTIME(UNIX_TIMESTAMP(P.dateTime) - UNIX_TIMESTAMP(P.dateTime) % 10000)
EMIT CHANGES;
