package embedded

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable/block"
)

// The LSM under a log.
//
// A topic's records are written once, in offset order per partition, and
// read once soon after, in the same order. Pebble's defaults are tuned for
// the opposite: keys updated in place, read at random. Left to them, every
// record was rewritten level by level and snappy-compressed each time:
// compactions took 31 to 43% of the CPU of every Nexmark query, and 64% of
// a raw copy of a topic (BENCHMARKS.md). The trouble is the key order, not
// the volume. Records are keyed (topic, partition, offset), but they arrive
// interleaved across partitions, so every memtable flush wrote one table
// spanning every partition written meanwhile, overlapping the previous
// flush's table, and the two had to be merged.
//
// tunePebble gives the log's Pebble database, where the caller leaves them
// unset:
//
//   - Table boundaries at every partition (logSpanPolicy): a flush writes
//     one table per partition it holds, and compactions never put two
//     partitions in one table. A partition's new records sort after all its
//     older ones, so its new table overlaps nothing below it, and Pebble
//     moves it down the levels (a move compaction edits the manifest and
//     copies nothing) instead of merging it. What still merges is small:
//     group offsets, topic metadata and state stores.
//   - Larger memtables (memTableSizeFor): one table per partition per flush
//     is many small tables with 4 MiB memtables; 64 MiB ones flush a
//     sixteenth as often, and a state store's key updated again before
//     its flush is written to a table once.
//   - The newest format (which Excise needs: see Log.DeleteTopic), but
//     tables of row blocks rather than its columnar ones, which cost more
//     to write and to read for the log's keys (BenchmarkCommit and
//     BenchmarkReadFlushed, CPU per 290-byte record on the loaded machine:
//     committing 2.0-2.1 us columnar, 1.55-1.9 rows; reading what a flush
//     wrote 1.2-1.45 us columnar, 0.84-1.16 rows). Columnar blocks pay
//     off for keys that share long prefixes and versions, which these do
//     not. Pebble's value separation (large values written once to blob
//     files, so that compactions move only keys and handles) needs the
//     columnar tables, and was measured with them: the state's
//     compactions shrank (q7's from 553-700 MB to 122-159 MB), but the
//     CPU seconds of q4, q5, q7 and q20 did not fall beyond the load's
//     noise while the stateless queries paid for the columnar blocks
//     (BENCHMARKS.md, "Value separation"), so neither is set.
//   - Data blocks of 32 KiB rather than 4 (logBlockSize).
//   - L0 merged into the state below it at every fourth flush rather
//     than every second (logL0CompactionThreshold).
//   - Pebble's fastest compression for every level: MinLZ for columnar
//     tables, which row tables cannot have, so snappy as Pebble falls
//     back to. Either way a record is compressed once, at its flush, since
//     its table then moves down the levels as it is; snappy is 7% of
//     Nexmark q0's CPU, and its million events take 162 MB of tables
//     instead of 275.
//
// Measured on Nexmark's 920,000 bids (a loaded 2-core machine, so CPU
// seconds rather than wall time): a raw copy of the topic went from 10.9 to
// 4.2 CPU seconds, q0 from 15.5 to 8.0, with larger read batches (see
// Options.ReadBatch).

// Memtable sizes: the default is a 256th of the disk (so that a small disk
// keeps a small reserve, which DiskOptions derives from it), within these
// bounds.
//
// The most was 32 MiB. Doubling it halves the flushes (a flush writes a
// table per partition it holds, each with its index and filter blocks,
// and is an L0 sublevel of state tables that the next L0 compaction
// merges with what lies below), and a state store's key written again
// while it is in the memtable is flushed once. Measured with the nexmark
// harness's LSM line over 1,000,000 events (a machine that other work
// kept 1.3 to 1.6 of its 2 cores busy, so by CPU seconds): q7's flushes
// 38 to 18, the tables they wrote 619 to 598 MB, its compactions 960-1076
// MB to 730, and its CPU seconds 46.7-51.4 (four runs) to 43.0; q20 13.9-15.9
// to 11.1. Pebble counts its memtables against the block cache, so at
// most two of them (MemTableStopWritesThreshold) take 128 MiB of the
// engine's 256 MiB while they fill and flush rather than 64.
const (
	minLogMemTableSize = 4 << 20  // Pebble's default
	maxLogMemTableSize = 64 << 20 // from a 16 GiB disk up
	memTableDiskShare  = 256
)

// memTableSizeFor is the default memtable size on a disk of total bytes
// (0 when unknown, as for an in-memory filesystem: Pebble's default then).
func memTableSizeFor(total int64) uint64 {
	return uint64(min(max(total/memTableDiskShare, minLogMemTableSize), maxLogMemTableSize))
}

// logBlockSize is the target (uncompressed) size of the data blocks of
// the log's tables, where the caller leaves Pebble's 4 KiB. A reader
// catching up reads a partition's table block after block: each block
// is one read from the file, one allocation in the block cache and one
// decompression, whatever its size, so with 4 KiB blocks (about fourteen
// 290-byte records) that per-block work was a third of a raw copy's CPU.
// Eight times larger blocks do it an eighth as often. The state stores
// share the database: a point read that misses the cache now reads and
// decompresses 32 KiB rather than 4, but their working sets stay in the
// engine's block cache. Measured with make nexmark over 1,000,000 events
// (a loaded 2-core machine, so CPU seconds): the raw copy 3.57 -> 3.13,
// q0 7.05 -> 5.68, and no query that keeps state got slower (q3 5.31 ->
// 5.04, q8 4.10 -> 3.85, q17 29.2 -> 27.5).
const logBlockSize = 32 << 10

// logCompression is the compression of every level: Pebble's fastest,
// MinLZ on amd64 for columnar tables and snappy otherwise (row tables, as
// the log writes them, and arm64, where MinLZ has no assembly).
//
// No compression was measured against it and not taken (Nexmark's
// 1,000,000 events, the machine loaded: other processes kept 1.4 to 1.7 of
// the 2 cores busy, so medians of six runs each). The tables of the events
// grow from 149 to 284 MB, and the CPU saved is small: snappy's 24% of a
// raw copy's CPU samples goes, but the kernel copies twice the bytes into
// and out of the page cache (write and pread, from 13% of the samples to
// 27%), so a raw copy of the bids takes 3.08 CPU seconds instead of 3.36,
// and q0 (4.22 against 4.34) and q2 (2.27-2.50 against 2.31-2.64) do not
// move beyond the noise.
//
// MinLZ was measured too, once records were stored in batch keys: Pebble
// writes it only in columnar tables (format v6 and later), and with them
// a raw copy took the same CPU (2.57 seconds against 2.35-2.56 with
// snappy; MinLZ's encoder 18% of the samples, snappy's 19%) for tables
// of the same size, while columnar blocks would change the state stores'
// tables as well.
//
// Measured again once a stateless task recycled its batches (so that the
// collector no longer hid the difference), over 1,000,000 events, the
// binaries alternated three times on the loaded machine (other processes
// kept 1.45 to 1.54 of the 2 cores busy), CPU seconds with snappy, then
// with none: raw copy 2.17/2.12/1.95 and 1.85/1.64/1.34, q0 2.90/2.57/2.66
// and 2.40/2.08/1.87, q1 3.54/2.81/3.26 and 2.80/2.78/2.66, q2
// 1.70/1.55/1.46 and 1.24/1.13/1.29: about a fifth less, for tables of
// the events of 253.7 MB instead of 134.5. Zstd (level 3) costs far more
// (raw copy 5.91 and 4.78, q0 4.38 and 3.79, against 2.11 and 1.93, 2.49
// and 2.58). But the compression is the database's, and the state stores
// share it: without it their stores on disk grow too, beyond the issue's
// two times their encoded bytes (Nexmark's q11 over 300,000 events,
// 1.91 to 3.90 times, with L0 alone uncompressed, so that the log's
// tables, which move down without a rewrite, stayed so while the state's
// were compressed at their first compaction; q15 0.78 to 1.91, q17 0.74
// to 1.68). Pebble 2.1.7 (the newest) has no compression per key span: a
// SpanPolicy may only ask for a faster one (PreferFastCompression), never
// none. So snappy stays, until the log's records can go uncompressed
// alone.
//
// Kafka stores what producers send, uncompressed unless they compress; a user who prefers that here sets
// Options.Pebble's Levels[i].Compression to block.NoCompression.
//
// The log's records now compress themselves, as a Kafka producer's batch
// does: a write packs each batch value (record.go), so that Pebble's
// compression is left to the state stores and the log's metadata. A
// table block of packed batches does not compress by Pebble's 12%
// (block.Compressor.Compress runs snappy over it first, which gives up
// on incompressible input at about 3.5 GB/s, a tenth of its cost on
// records), so it is stored as it is, and no read of it decompresses it
// but the log's own, once per batch.
//
// Where a flush's CPU goes, now that the state stores are most of what
// is compressed (Nexmark q7 over 1,000,000 events, load average 6 to 9,
// so samples of the flush's and compaction's goroutines, which Pebble
// labels): of 1.6-1.9 s of flush samples, snappy 0.57-0.66 s (the state:
// the packed records are stored as they are), write(2) 0.31-0.35 s,
// building row blocks and the index 0.2-0.3 s, bloom filters 0.05-0.11 s,
// checksums 0.02 s; of 1.3 s of compaction samples, snappy 0.35-0.45 s
// and its decoding 0.10-0.13 s. State tables uncompressed at L0 alone
// (where flushes write) were measured again, and not taken: q7's state
// flushed 326 MB rather than 186, its CPU seconds 24.1 against 22.8 (the
// kernel copies the bytes snappy no longer saves), and the state at rest
// doubles wherever it is still in L0 when measured: state_ratio q11 0.70
// to 1.51, q17 0.53 to 1.09, q7 0.68 to 0.86, near the 2x for
// the small stores. Pebble 2.1.7 offers nothing faster for row tables
// (MinLZ needs columnar ones, above).
var logCompression = func() *block.CompressionProfile { return block.FastestCompression }

// tunePebble fills in the log's defaults for the fields of o that the
// caller left unset; diskTotal is the size of the disk (0 if unknown).
func tunePebble(o *pebble.Options, diskTotal int64) {
	if o.FormatMajorVersion == pebble.FormatDefault {
		// Pebble upgrades an older database in place when it opens it.
		o.FormatMajorVersion = pebble.FormatNewest
	}
	if o.Experimental.EnableColumnarBlocks == nil {
		o.Experimental.EnableColumnarBlocks = func() bool { return false }
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = memTableSizeFor(diskTotal)
	}
	for i := range o.Levels {
		if o.Levels[i].Compression == nil {
			o.Levels[i].Compression = logCompression
		}
		if o.Levels[i].BlockSize == 0 {
			o.Levels[i].BlockSize = logBlockSize
		}
	}
	if o.Experimental.SpanPolicyFunc == nil {
		o.Experimental.SpanPolicyFunc = logSpanPolicy
	}
	// Pebble refuses a stop-writes threshold below the compaction
	// threshold: a caller's lower one keeps Pebble's default.
	if o.L0CompactionThreshold == 0 && (o.L0StopWritesThreshold == 0 || o.L0StopWritesThreshold >= logL0CompactionThreshold) {
		o.L0CompactionThreshold = logL0CompactionThreshold
	}
}

// logL0CompactionThreshold is the L0 read amplification at which Pebble
// compacts L0 into the level below: Pebble scores L0 at twice its
// sublevels over this threshold, so its default of 4 merged L0 into the
// state below it at every second flush, and 8 does at every fourth.
// Each memtable flush is an L0 sublevel of state tables (the log's
// records' tables overlap nothing and are moved down, logSpanPolicy),
// and an L0 compaction rewrites the state of the level below that its
// keys overlap, which for the state stores' keys, spread across their
// span, is most of it: merging four flushes at a time rewrites that
// state half as often. Measured with Nexmark q7 over 1,000,000 events
// (a 2-core machine shared with other work, load 5 to 10, so LSM bytes
// and profile samples rather than CPU seconds alone; BENCHMARKS.md):
// state compacted while q7 ran 212-371 MB in 19-25 compactions with 4,
// 84-203 MB in 5-7 with 8; with what the settle after it compacted,
// 222-375 MB (mean 302) against 121-268 (mean 214); Pebble's
// compactions (runCompaction less the flushes) 2.15 and 2.35 s of
// samples against 1.28; q7's CPU seconds, medians of seven and six
// runs, 17.41 against 16.55, within the load's noise. Point reads of
// the state see up to four sublevels rather than two, behind bloom
// filters (engine.go): TaskStore.Get stayed at 0.21-0.23 s. The log's
// records are unaffected: their tables overlap nothing, so they add no
// sublevel. 16 (with writes stopped at 24 sublevels rather than 12)
// compacted nothing while q7 ran, only deferring all of it (185 MB) to
// after it: not taken, as it would let L0 grow to eight sublevels of
// state in a steady stream.
const logL0CompactionThreshold = 8

// Span boundaries of the key layout (doc.go): everything of the log before
// its records, the records, the rest of the log, and the state stores.
var (
	spanRecords      = []byte{prefixLog, kindRecord}
	spanAfterRecords = []byte{prefixLog, kindRecord + 1}
	spanLog          = []byte{prefixLog}
	spanState        = []byte{prefixState}
)

// recordPartitionPrefixLen is the length of the prefix shared by one
// partition's record keys: 'L' 'r' <id uint64> <part uint32>.
const recordPartitionPrefixLen = 2 + 8 + 4

// logSpanPolicy is the SpanPolicyFunc of the log's database. Pebble asks it,
// for the first key of each table it is about to write, where that table
// must end at the latest; the policy itself is the default. Each
// partition's records get tables of their own; the log's other keys, and
// the state stores, are kept apart from the records.
//
// The state stores are one span. Splitting them at every store's prefix
// (and at the first byte of its user keys, which names what an operator
// keeps there: a join's left rows, its index, an aggregation's expiry
// list), so that a store or a kind of key written in order would be moved
// down as the records are rather than merged, was measured and not taken
// (Nexmark q7 over 1,000,000 events, the binaries alternated, load average
// 6 to 9): q7's state compacted while it ran and after 72-80 MB against
// 151-198, Pebble's compaction samples 0.76-0.86 s against 1.27-1.30, its
// CPU seconds 14.3 and 14.3 against 18.5 and 16.5; but every flush writes a
// table per store and kind of key, those of small stores a few hundred
// bytes, and those moved down are never merged again: 1,569 tables soon
// after the query, 1,361 of them under 4 KiB; reading its stores'
// statistics took 24 s instead of 3, the process's system CPU rose by 4
// to 6 s in q7's runs and 11 s in one of q5, q20 and q11.
// Split at the stores alone, the state compacted did not move beyond its
// run-to-run range (55-125 MB against 77-148).
func logSpanPolicy(start []byte) (pebble.SpanPolicy, []byte, error) {
	var end []byte
	switch {
	case len(start) >= recordPartitionPrefixLen && start[0] == prefixLog && start[1] == kindRecord:
		end = prefixEnd(start[:recordPartitionPrefixLen])
	case string(start) < string(spanLog):
		end = spanLog
	case string(start) < string(spanRecords):
		end = spanRecords
	case string(start) < string(spanAfterRecords):
		// A short key in the records' range: the log writes none.
		end = spanAfterRecords
	case string(start) < string(spanState):
		end = spanState
	}
	// end is nil past the last boundary: the state stores are one span.
	return pebble.SpanPolicy{}, end, nil
}

// LSMStats counts what Pebble wrote to the log's database since Open, by
// what the tables held, so that the write amplification of the log's
// records can be told from that of its metadata and of the state stores
// (the nexmark harness prints it per query: Sub the stats before from
// those after). A table holds one span's keys (logSpanPolicy), so its
// first key says what it is.
type LSMStats struct {
	// WALBytes are the bytes written to the database (the write-ahead
	// log's logical bytes): what the amplification is relative to.
	WALBytes int64
	// Flushed, Compacted and Moved are bytes of tables, per span kind:
	// written by memtable flushes, written by compactions that rewrite
	// their inputs, and moved to a lower level without a rewrite.
	Flushed, Compacted, Moved SpanBytes
	// IntraL0 is the part of Compacted that compactions from L0 into L0
	// wrote.
	IntraL0 SpanBytes
	// Flushes, Compactions and Moves count the jobs; Compactions counts
	// the rewriting ones (Pebble's default, read, rewrite... kinds).
	Flushes, Compactions, Moves int64
}

// SpanBytes are bytes per span kind of the database.
type SpanBytes struct {
	// Records are the log's records, Meta the log's other keys (topics,
	// group offsets, end floors), State the state stores'.
	Records, Meta, State int64
}

// Total is the bytes of every kind.
func (b SpanBytes) Total() int64 { return b.Records + b.Meta + b.State }

func (b SpanBytes) sub(o SpanBytes) SpanBytes {
	return SpanBytes{Records: b.Records - o.Records, Meta: b.Meta - o.Meta, State: b.State - o.State}
}

// add counts a table of n bytes whose smallest key is first.
func (b *SpanBytes) add(first []byte, n int64) {
	switch {
	case len(first) > 0 && first[0] == prefixState:
		b.State += n
	case len(first) >= 2 && first[0] == prefixLog && first[1] == kindRecord:
		b.Records += n
	default:
		b.Meta += n
	}
}

// Sub is what s counts beyond before.
func (s LSMStats) Sub(before LSMStats) LSMStats {
	return LSMStats{
		WALBytes:    s.WALBytes - before.WALBytes,
		Flushed:     s.Flushed.sub(before.Flushed),
		Compacted:   s.Compacted.sub(before.Compacted),
		Moved:       s.Moved.sub(before.Moved),
		IntraL0:     s.IntraL0.sub(before.IntraL0),
		Flushes:     s.Flushes - before.Flushes,
		Compactions: s.Compactions - before.Compactions,
		Moves:       s.Moves - before.Moves,
	}
}

// WriteAmp is the bytes of tables written (flushed and compacted) per byte
// written to the database; moves write nothing. 0 when nothing was
// written.
func (s LSMStats) WriteAmp() float64 {
	if s.WALBytes <= 0 {
		return 0
	}
	return float64(s.Flushed.Total()+s.Compacted.Total()) / float64(s.WALBytes)
}

// String renders s in MB for people, one line.
func (s LSMStats) String() string {
	mb := func(b SpanBytes) string {
		return fmt.Sprintf("%.1f(records %.1f, meta %.1f, state %.1f)",
			float64(b.Total())/1e6, float64(b.Records)/1e6, float64(b.Meta)/1e6, float64(b.State)/1e6)
	}
	return fmt.Sprintf("wal_mb=%.1f flushed_mb=%s compacted_mb=%s intra_l0_mb=%.1f moved_mb=%s flushes=%d compactions=%d moves=%d write_amp=%.2f",
		float64(s.WALBytes)/1e6, mb(s.Flushed), mb(s.Compacted), float64(s.IntraL0.Total())/1e6, mb(s.Moved),
		s.Flushes, s.Compactions, s.Moves, s.WriteAmp())
}

// lsmCounter keeps the LSMStats from Pebble's events.
type lsmCounter struct {
	mu struct {
		sync.Mutex
		s LSMStats
	}
}

// listener is the counter's part of the database's EventListener.
func (c *lsmCounter) listener() pebble.EventListener {
	return pebble.EventListener{
		FlushEnd: func(info pebble.FlushInfo) {
			if info.Err != nil || info.Ingest {
				return
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			c.mu.s.Flushes++
			for _, t := range info.Output {
				c.mu.s.Flushed.add(t.Smallest.UserKey, int64(t.Size))
			}
		},
		CompactionEnd: func(info pebble.CompactionInfo) {
			if info.Err != nil {
				return
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			switch info.Reason {
			case "move":
				c.mu.s.Moves++
				for _, t := range info.Output.Tables {
					c.mu.s.Moved.add(t.Smallest.UserKey, int64(t.Size))
				}
			case "delete-only", "copy", "ingested-flushable":
				// Nothing rewritten: a deletion drops tables, a copy
				// copies bytes without decoding them (shared storage
				// only), and an ingestion's flush writes no table.
			default:
				c.mu.s.Compactions++
				intraL0 := info.Output.Level == 0
				for _, t := range info.Output.Tables {
					c.mu.s.Compacted.add(t.Smallest.UserKey, int64(t.Size))
					if intraL0 {
						c.mu.s.IntraL0.add(t.Smallest.UserKey, int64(t.Size))
					}
				}
			}
		},
	}
}

// LSMStats is what Pebble wrote to the database since Open; it fails
// only once the log is closed.
func (l *Log) LSMStats() (LSMStats, error) {
	if err := l.enter(); err != nil {
		return LSMStats{}, err
	}
	defer l.exit()
	l.lsm.mu.Lock()
	s := l.lsm.mu.s
	l.lsm.mu.Unlock()
	s.WALBytes = int64(l.db.Metrics().WAL.BytesIn)
	return s, nil
}
