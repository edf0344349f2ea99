package embedded

import (
	"bytes"
	"errors"
	"testing"

	"github.com/runnel/runnel/log"
)

func TestRecordCodec(t *testing.T) {
	tests := []log.Record{
		{},
		{Key: []byte{}, Value: []byte{}},
		{Key: []byte("k"), Value: []byte("v"), Timestamp: 1_700_000_000_000},
		{Key: nil, Value: []byte("v"), Timestamp: -5},
		{Key: []byte("k"), Value: nil, Headers: []log.Header{{Key: "", Value: nil}, {Key: "a", Value: []byte{}}, {Key: "b", Value: []byte{0, 1}}}},
		{Key: make([]byte, 200), Value: make([]byte, 70000), Timestamp: 1 << 62,
			Headers: []log.Header{{Key: string(make([]byte, 130)), Value: make([]byte, 20000)}}},
	}
	for i, want := range tests {
		enc := appendRecord(nil, &want)
		if n := recordSize(&want, want.Timestamp); len(enc) != n {
			t.Errorf("%d: encoded %d bytes, recordSize said %d", i, len(enc), n)
		}
		var got log.Record
		if err := decodeRecord(enc, &got); err != nil {
			t.Fatalf("%d: decode: %v", i, err)
		}
		if !sameNullable(got.Key, want.Key) || !sameNullable(got.Value, want.Value) || got.Timestamp != want.Timestamp {
			t.Errorf("%d: got %+v, want %+v", i, got, want)
		}
		if len(got.Headers) != len(want.Headers) {
			t.Fatalf("%d: %d headers, want %d", i, len(got.Headers), len(want.Headers))
		}
		for j := range want.Headers {
			if got.Headers[j].Key != want.Headers[j].Key || !sameNullable(got.Headers[j].Value, want.Headers[j].Value) {
				t.Errorf("%d: header %d = %+v, want %+v", i, j, got.Headers[j], want.Headers[j])
			}
		}
		// Every truncation is an error, never a panic or a wrong record.
		for n := 0; n < len(enc); n++ {
			if err := decodeRecord(enc[:n], &got); !errors.Is(err, errCorrupt) {
				t.Fatalf("%d: decoding %d of %d bytes = %v, want errCorrupt", i, n, len(enc), err)
			}
		}
	}
}

func sameNullable(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

func TestKeysOrder(t *testing.T) {
	// Offsets order by value, partitions and topics stay apart.
	keys := [][]byte{
		recordKey(1, 0, 0), recordKey(1, 0, 1), recordKey(1, 0, 255), recordKey(1, 0, 256),
		recordKey(1, 1, 0), recordKey(2, 0, 0),
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Fatalf("key %d %x not below key %d %x", i-1, keys[i-1], i, keys[i])
		}
	}
	lo, hi := partitionRecordBounds(1, 0)
	for _, k := range keys[:4] {
		if bytes.Compare(k, lo) < 0 || bytes.Compare(k, hi) >= 0 {
			t.Fatalf("key %x outside partition bounds [%x, %x)", k, lo, hi)
		}
	}
	if bytes.Compare(keys[4], hi) < 0 {
		t.Fatalf("next partition's key %x inside bounds", keys[4])
	}
	if off, err := recordKeyOffset(recordKey(7, 3, 1<<40)); err != nil || off != 1<<40 {
		t.Fatalf("recordKeyOffset = %d, %v", off, err)
	}
	// Group prefixes never contain one another: "a" and "ab" differ in the
	// length byte.
	if bytes.HasPrefix(groupOffsetKey(1, "ab", 0), groupPrefix(1, "a")) {
		t.Fatal("group a's prefix covers group ab's keys")
	}
	for _, k := range [][]byte{recordKey(1, 0, 0), topicKey("x"), nextIDKey, endFloorKey(1, 0), groupOffsetKey(1, "g", 0)} {
		if k[0] != prefixLog {
			t.Fatalf("key %x does not start with %q", k, prefixLog)
		}
	}
}
