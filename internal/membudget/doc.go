// Package membudget divides one memory budget among the caches of the
// tasks that run at a time, so that what the caches hold is bounded by
// the machine (the engine's --cache-bytes) and not by the number of
// tasks: a query over 100 partitions runs 100 tasks, each with its own
// caches, and a fixed bound per cache would let them hold 100 times it.
//
// Kafka Streams bounds its record caches the same way: one
// statestore.cache.max.bytes (formerly cache.max.bytes.buffering, 10 MiB
// by default) for a whole instance, split among its threads and, within
// a thread, among its tasks' stores.
//
// A Budget is the whole; an Account is what one persistent query draws
// from it, released in one call when the query's tasks have all stopped;
// a Share is one cache's part. A share's bytes are the budget's total in
// proportion to its weight among the weights of every share held at the
// time (the weight being what the cache would hold on its own: its
// historical fixed limit), so they shrink as tasks start and grow as they
// stop, and the shares together never exceed the budget. A cache reads
// its share where it decides whether to evict (Bytes is two atomic loads
// and a division) and reports what it holds (Use), which Used sums.
//
// A nil Account hands out shares of a fixed size, their weight: a cache
// built outside the engine (a unit test, a push query's pipeline) keeps
// the bound it always had.
//
// The package knows nothing of caches, operators or the engine.
package membudget
