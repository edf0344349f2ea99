// Package window holds the pure logic of ksqlDB's windows — TUMBLING,
// HOPPING and SESSION — that the aggregate operator calls: which windows a
// record belongs to, how sessions merge, when a window closes (EMIT FINAL,
// late records) and when its state may be removed (RETENTION), plus the
// byte layouts of windowed keys.
//
// It owns no state and does no I/O: the operator keeps the state store and
// the stream time (one StreamTime per task) and asks this package what to do.
// It must never know about the log, Pebble, SQL text or the wire.
//
// # Rules (Kafka Streams 3.x, which ksqlDB runs on)
//
// Times are int64 milliseconds since the epoch. Time windows are half-open,
// [Start, End); session windows are closed, [Start, End], End being the
// timestamp of the session's last record.
//
//   - Assignment (TimeWindows.windowsFor): the windows of a record at ts are
//     those aligned to the epoch on multiples of the advance with
//     Start <= ts < Start+Size and Start >= 0. Negative timestamps belong to
//     no window (Kafka Streams rejects them before they reach a window).
//   - Closing (KStreamWindowAggregate): a time window is closed once
//     streamTime >= End + grace. (Kafka computes closeTime = streamTime -
//     grace and keeps a window only while End > closeTime.)
//   - Closing (KStreamSessionWindowAggregate): a session is closed once
//     streamTime > End + gap + grace. (Kafka computes closeTime = streamTime -
//     grace - gap and drops a merged session whose End < closeTime.)
//   - Session membership (SessionStore.findSessions(key, ts-gap, ts+gap)): a
//     record at ts joins every session with Start-gap <= ts <= End+gap, both
//     bounds inclusive; the merged session spans all of them and ts.
//   - Grace when GRACE PERIOD is omitted: ksqlDB calls the deprecated
//     TimeWindows.of(size) / SessionWindows.with(gap), whose grace is
//     max(24h - size, 0) (max(24h - gap, 0) for sessions). That is what
//     Spec.GraceMs returns when HasGrace is false.
//   - Retention when RETENTION is omitted: Kafka Streams' window store
//     materializer uses size + grace (gap + grace for sessions); with the
//     default grace that is max(size, 24h). A RETENTION smaller than
//     size + grace is rejected, as Kafka Streams does.
//
// See the files: spec.go (Spec, defaults, validation), assign.go (time
// windows), session.go (merging), close.go (closing, lateness, expiry),
// streamtime.go, key.go (windowed key serdes) and storekey.go (state store
// key layout).
package window
