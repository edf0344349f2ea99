package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/minio/minlz"

	"github.com/runnel/runnel/log"
)

// A record's value in Pebble:
//
//	varint timestamp
//	varint key length, -1 for a nil key, then the key
//	varint value length, -1 for a nil value (a tombstone), then the value
//	uvarint header count, then per header:
//	    uvarint key length, key, varint value length (-1 for nil), value
//
// Lengths of -1 keep nil apart from empty, as Kafka's record format does.
//
// A batch's value (the value of a batch key, keys.go) is the records one
// write gave one partition, in offset order, each as
//
//	uvarint offset delta (the record's offset minus the key's base offset)
//	uvarint length, then the record's value as above
//
// A write's records have consecutive offsets, so the deltas start at 0 and
// count up; compaction removes records from a batch by rewriting it with
// the survivors, whose deltas then skip, and whose key keeps its base.
//
// A batch's value may be packed instead: its entries compressed whole, by
// the write that makes it, as a Kafka producer compresses its batch and
// the broker stores and serves it as it is:
//
//	uvarint batchPacked + codec
//	the entries above, compressed as one block by the codec
//
// Compressed once here, a batch is carried compressed by the write-ahead
// log and the memtable, and Pebble, finding its blocks incompressible,
// stores them as they are (its compressor still runs over them at a flush,
// and gives up), so that no read of a table decompresses them but the
// log's own, once per batch. Left to Pebble, every flush compressed the
// records with snappy and every read of a flushed table decompressed
// them: 23% of Nexmark q0's CPU.
//
// The first uvarint is where an unpacked value has its first entry's
// offset delta, which is below batchPacked (keyRecords.next refuses more),
// so the value alone says which layout it has: batches written before
// packing read as they did, compaction may rewrite a packed batch's
// survivors unpacked under the same key, and a binary from before packing
// refuses a packed batch as corrupt rather than misread it.
const batchPacked = 1 << 62

// codecMinLZ is the codec of a packed batch: MinLZ's block format at its
// fastest level. On Nexmark's bids, in the log's 32 KiB batches, it
// compresses to 46% (S2 47%, snappy 48%) and encodes and decodes faster
// than either (about 500 and 1,500 MB/s on this machine, S2 350 and
// 1,100, snappy 300-440 and 700-1,250).
const codecMinLZ = 1

// minPackBytes is the smallest batch value worth packing: below it a
// codec's block header and an extra copy outweigh what it may save.
const minPackBytes = 256

// packBatch appends batch value raw to dst packed, and reports whether it
// did: it does not when raw is small or saves less than an eighth packed,
// where a decompression at every read would cost more than the bytes
// save (Pebble's compressor gives up below the same saving).
func packBatch(dst, raw []byte) ([]byte, bool) {
	if len(raw) < minPackBytes || minlz.MaxEncodedLen(len(raw)) < 0 {
		return dst, false
	}
	at := len(dst)
	dst = binary.AppendUvarint(dst, batchPacked+codecMinLZ)
	dst, err := minlz.AppendEncoded(dst, raw, minlz.LevelFastest)
	if err != nil || len(dst)-at > len(raw)-len(raw)/8 {
		return dst[:at], false
	}
	return dst, true
}

// unpackBatch returns the entries of batch value v: v itself when it is
// not packed, or else its entries decompressed into buf, which it returns
// too (grown when too small) for the caller to reuse. The decompressed
// size is bounded by the codec's block size (8 MiB for MinLZ), whatever
// a corrupt value says.
func unpackBatch(v, buf []byte) (entries, grown []byte, err error) {
	h, n := binary.Uvarint(v)
	if n <= 0 || h < batchPacked {
		return v, buf, nil
	}
	if h != batchPacked+codecMinLZ {
		return nil, buf, fmt.Errorf("%w: a batch packed with unknown codec %d", errCorrupt, h-batchPacked)
	}
	size, err := minlz.DecodedLen(v[n:])
	if err != nil {
		return nil, buf, fmt.Errorf("%w: packed batch: %v", errCorrupt, err)
	}
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	out, err := minlz.Decode(buf[:size], v[n:])
	if err != nil || len(out) != size {
		return nil, buf, fmt.Errorf("%w: packed batch: %v", errCorrupt, err)
	}
	return out, buf, nil
}

// appendRecord encodes r's payload (not its partition or offset) onto b.
func appendRecord(b []byte, r *log.Record) []byte {
	return appendRecordAt(b, r, r.Timestamp)
}

// appendRecordAt is appendRecord with timestamp ts in place of r's.
func appendRecordAt(b []byte, r *log.Record, ts int64) []byte {
	b = binary.AppendVarint(b, ts)
	b = appendNullable(b, r.Key)
	b = appendNullable(b, r.Value)
	b = binary.AppendUvarint(b, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		b = binary.AppendUvarint(b, uint64(len(h.Key)))
		b = append(b, h.Key...)
		b = appendNullable(b, h.Value)
	}
	return b
}

func appendNullable(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	b = binary.AppendVarint(b, int64(len(v)))
	return append(b, v...)
}

// recordSize is the exact size appendRecordAt(b, r, ts) appends.
func recordSize(r *log.Record, ts int64) int {
	n := varintLen(ts) + nullableSize(r.Key) + nullableSize(r.Value) + uvarintLen(uint64(len(r.Headers)))
	for _, h := range r.Headers {
		n += uvarintLen(uint64(len(h.Key))) + len(h.Key) + nullableSize(h.Value)
	}
	return n
}

func nullableSize(v []byte) int {
	if v == nil {
		return varintLen(-1)
	}
	return varintLen(int64(len(v))) + len(v)
}

func varintLen(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}

func uvarintLen(v uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], v)
}

var errCorrupt = errors.New("embedded: corrupt record")

// decodeRecord decodes a record value. The returned record's byte slices
// alias buf: the caller passes a buffer of its own, never Pebble's.
func decodeRecord(buf []byte, r *log.Record) error {
	d := decoder{b: buf}
	r.Timestamp = d.varint()
	r.Key = d.nullable()
	r.Value = d.nullable()
	n := d.uvarint()
	r.Headers = nil
	if n > 0 && d.err == nil {
		if n > uint64(len(d.b)) {
			return fmt.Errorf("%w: %d headers in %d bytes", errCorrupt, n, len(d.b))
		}
		r.Headers = make([]log.Header, n)
		for i := range r.Headers {
			kl := d.uvarint()
			r.Headers[i].Key = string(d.bytes(int64(kl)))
			r.Headers[i].Value = d.nullable()
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", errCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad uvarint", errCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n int64) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > int64(len(d.b)) {
		d.err = fmt.Errorf("%w: length %d of %d bytes", errCorrupt, n, len(d.b))
		return nil
	}
	// The full slice expression stops an append by the caller from
	// overwriting the next field.
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) nullable() []byte {
	n := d.varint()
	if d.err != nil || n == -1 {
		return nil
	}
	return d.bytes(n)
}

// batchEntrySize is the size of a batch entry of delta and a record value
// of size bytes.
func batchEntrySize(delta int64, size int) int {
	return uvarintLen(uint64(delta)) + uvarintLen(uint64(size)) + size
}

// appendBatchEntryHeader appends a batch entry's delta and length; the
// record's value follows.
func appendBatchEntryHeader(b []byte, delta int64, size int) []byte {
	b = binary.AppendUvarint(b, uint64(delta))
	return binary.AppendUvarint(b, uint64(size))
}

// keyRecords walks the records one key of the records' range holds: one
// for a single record's key, the entries of a batch for a batch's key.
// The values it returns alias the value it was given.
type keyRecords struct {
	base   int64  // the key's offset
	rest   []byte // the entries left
	single bool   // a single record's key, not yet returned
	err    error
}

// newKeyRecords starts a walk of key k's value v. A packed batch is
// decompressed into memory of its own: newKeyRecordsBuf reuses memory.
func newKeyRecords(k, v []byte) (keyRecords, error) {
	kr, _, err := newKeyRecordsBuf(k, v, nil)
	return kr, err
}

// newKeyRecordsBuf is newKeyRecords, which decompresses a packed batch
// into buf and returns buf (grown if need be) for the caller's next key:
// the values of the walk alias buf until then.
func newKeyRecordsBuf(k, v, buf []byte) (keyRecords, []byte, error) {
	off, err := recordKeyOffset(k)
	if err != nil {
		return keyRecords{}, buf, err
	}
	if !isBatchKey(k) {
		return keyRecords{base: off, rest: v, single: true}, buf, nil
	}
	entries, buf, err := unpackBatch(v, buf)
	if err != nil {
		return keyRecords{}, buf, fmt.Errorf("the batch at %d: %w", off, err)
	}
	return keyRecords{base: off, rest: entries}, buf, nil
}

// next returns the next record's offset and value, or false at the end
// or on a corrupt entry (then err says which).
func (kr *keyRecords) next() (int64, []byte, bool) {
	if kr.single {
		kr.single = false
		v := kr.rest
		kr.rest = nil
		return kr.base, v, true
	}
	if len(kr.rest) == 0 || kr.err != nil {
		return 0, nil, false
	}
	delta, n := binary.Uvarint(kr.rest)
	if n <= 0 || delta >= batchPacked {
		kr.err = fmt.Errorf("%w: bad offset delta in the batch at %d", errCorrupt, kr.base)
		return 0, nil, false
	}
	size, m := binary.Uvarint(kr.rest[n:])
	if m <= 0 || size > uint64(len(kr.rest)-n-m) {
		kr.err = fmt.Errorf("%w: bad length in the batch at %d", errCorrupt, kr.base)
		return 0, nil, false
	}
	v := kr.rest[n+m : n+m+int(size) : n+m+int(size)]
	kr.rest = kr.rest[n+m+int(size):]
	return kr.base + int64(delta), v, true
}
