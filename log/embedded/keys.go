package embedded

import (
	"encoding/binary"
	"fmt"
)

// Key prefixes; see the layout in doc.go.
const (
	prefixLog       = 'L'
	prefixState     = 'S' // reserved for state stores; the log never writes it
	kindNextID      = 'n'
	kindTopic       = 't'
	kindRecord      = 'r'
	kindEndFloor    = 'e'
	kindStartFloor  = 's'
	kindGroupOffset = 'g'
)

// StatePrefix is the first byte of every key reserved for state stores
// sharing the log's database.
const StatePrefix byte = prefixState

var nextIDKey = []byte{prefixLog, kindNextID}

func topicKey(name string) []byte {
	return append([]byte{prefixLog, kindTopic}, name...)
}

// topicKeyPrefix bounds the scan of all topic metadata keys.
func topicKeyBounds() (lo, hi []byte) {
	return []byte{prefixLog, kindTopic}, []byte{prefixLog, kindTopic + 1}
}

func recordKey(id uint64, part int32, off int64) []byte {
	k := make([]byte, recordKeyLen)
	putRecordKey(k, id, part, off)
	return k
}

// putRecordKey writes a record's key into k, which is recordKeyLen bytes
// long.
func putRecordKey(k []byte, id uint64, part int32, off int64) {
	k[0], k[1] = prefixLog, kindRecord
	binary.BigEndian.PutUint64(k[2:], id)
	binary.BigEndian.PutUint32(k[10:], uint32(part))
	binary.BigEndian.PutUint64(k[14:], uint64(off))
}

// Key lengths: a single record's key (as the log wrote every record
// before batches), and a batch's, which is the record key of its base
// offset followed by batchKeyMark. A batch key sorts after the record key
// of its base offset and before the next offset's, so the two kinds share
// one key range per partition, in offset order (doc.go).
const (
	recordKeyLen = 22
	batchKeyLen  = recordKeyLen + 1
	batchKeyMark = 'b'
)

// putBatchKey writes the key of the batch whose first offset is base into
// k, which is batchKeyLen bytes long.
func putBatchKey(k []byte, id uint64, part int32, base int64) {
	putRecordKey(k, id, part, base)
	k[recordKeyLen] = batchKeyMark
}

func batchKey(id uint64, part int32, base int64) []byte {
	k := make([]byte, batchKeyLen)
	putBatchKey(k, id, part, base)
	return k
}

// isBatchKey says whether k, a key of the records' range, is a batch's
// key rather than a single record's.
func isBatchKey(k []byte) bool { return len(k) == batchKeyLen }

// checkRecordKey fails unless k is a record key or a batch key.
func checkRecordKey(k []byte) error {
	switch {
	case len(k) == recordKeyLen && k[0] == prefixLog && k[1] == kindRecord:
		return nil
	case len(k) == batchKeyLen && k[0] == prefixLog && k[1] == kindRecord && k[recordKeyLen] == batchKeyMark:
		return nil
	}
	return fmt.Errorf("embedded: malformed record key %x", k)
}

// recordKeyOffset is the offset of a record key, or the base offset of a
// batch key.
func recordKeyOffset(k []byte) (int64, error) {
	if err := checkRecordKey(k); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(k[14:])), nil
}

// recordKeyPartition is the partition of a record key or a batch key.
func recordKeyPartition(k []byte) (int32, error) {
	if err := checkRecordKey(k); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(k[10:14])), nil
}

// topicRecordBounds covers every record of one topic.
func topicRecordBounds(id uint64) (lo, hi []byte) {
	lo = binary.BigEndian.AppendUint64([]byte{prefixLog, kindRecord}, id)
	hi = binary.BigEndian.AppendUint64([]byte{prefixLog, kindRecord}, id+1)
	return lo, hi
}

// partitionRecordBounds covers every record of one partition.
func partitionRecordBounds(id uint64, part int32) (lo, hi []byte) {
	lo = recordKey(id, part, 0)
	hi = binary.BigEndian.AppendUint64([]byte{prefixLog, kindRecord}, id)
	hi = binary.BigEndian.AppendUint32(hi, uint32(part)+1)
	return lo, hi
}

// partitionKey is the key of kind for one partition: 'L' kind <id> <part>.
func partitionKey(kind byte, id uint64, part int32) []byte {
	k := binary.BigEndian.AppendUint64([]byte{prefixLog, kind}, id)
	return binary.BigEndian.AppendUint32(k, uint32(part))
}

// topicKindBounds covers every key of kind of one topic.
func topicKindBounds(kind byte, id uint64) (lo, hi []byte) {
	lo = binary.BigEndian.AppendUint64([]byte{prefixLog, kind}, id)
	hi = binary.BigEndian.AppendUint64([]byte{prefixLog, kind}, id+1)
	return lo, hi
}

func endFloorKey(id uint64, part int32) []byte { return partitionKey(kindEndFloor, id, part) }

func topicEndFloorBounds(id uint64) (lo, hi []byte) { return topicKindBounds(kindEndFloor, id) }

// startFloorKey holds a purged partition's start and how far its keys
// are deleted (purge.go).
func startFloorKey(id uint64, part int32) []byte { return partitionKey(kindStartFloor, id, part) }

func topicStartFloorBounds(id uint64) (lo, hi []byte) { return topicKindBounds(kindStartFloor, id) }

// groupPrefix is the prefix of one group's offsets for one topic.
func groupPrefix(id uint64, group string) []byte {
	k := binary.BigEndian.AppendUint64([]byte{prefixLog, kindGroupOffset}, id)
	k = binary.AppendUvarint(k, uint64(len(group)))
	return append(k, group...)
}

func groupOffsetKey(id uint64, group string, part int32) []byte {
	return binary.BigEndian.AppendUint32(groupPrefix(id, group), uint32(part))
}

func topicGroupBounds(id uint64) (lo, hi []byte) { return topicKindBounds(kindGroupOffset, id) }

// prefixEnd is the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
