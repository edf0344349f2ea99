package window

import (
	"encoding/binary"
	"fmt"
)

// Windowed keys as they appear in the keys of windowed sink topics, byte for
// byte as Kafka Streams' serdes (and therefore ksqlDB) write them, so that a
// Kafka consumer with WindowedSerdes reads Runnel's windowed tables and vice
// versa. The inner key bytes are the KEY_FORMAT serialization of the key.
//
//	time-windowed:    key ‖ start (8 bytes, big-endian)
//	session-windowed: key ‖ end (8 bytes, big-endian) ‖ start (8 bytes, big-endian)
//
// Sources checked: Kafka Streams' TimeWindowedSerializer calls
// WindowKeySchema.toBinary(Windowed, Serializer, topic), which allocates
// key+8 bytes and puts the key then window().start(); the end is not written
// (TimeWindowedDeserializer is given the window size to rebuild it).
// SessionWindowedSerializer calls SessionKeySchema.toBinary(key, start, end),
// which puts the key, then putLong(endTime), then putLong(startTime); its
// extractEndTimestamp reads at len-16 and extractStartTimestamp at len-8.

const tsSize = 8

// AppendTimeWindowedKey appends key ‖ start (big-endian) to dst.
func AppendTimeWindowedKey(dst, key []byte, start int64) []byte {
	dst = append(dst, key...)
	return binary.BigEndian.AppendUint64(dst, uint64(start))
}

// ParseTimeWindowedKey splits a time-windowed key. The returned key aliases
// b. The window end is not encoded: it is start + the window size, known
// from the table's schema. A negative start is refused with
// ErrInvalidWindow, as Kafka Streams' Window constructor refuses it.
func ParseTimeWindowedKey(b []byte) (key []byte, start int64, err error) {
	if len(b) < tsSize {
		return nil, 0, fmt.Errorf("%w: time-windowed key of %d bytes, need at least %d", ErrShortKey, len(b), tsSize)
	}
	n := len(b) - tsSize
	start = int64(binary.BigEndian.Uint64(b[n:]))
	if start < 0 {
		return nil, 0, fmt.Errorf("%w: window start %d is negative", ErrInvalidWindow, start)
	}
	return b[:n:n], start, nil
}

// AppendSessionWindowedKey appends key ‖ w.End ‖ w.Start (big-endian) to dst.
func AppendSessionWindowedKey(dst, key []byte, w Window) []byte {
	dst = append(dst, key...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(w.End))
	return binary.BigEndian.AppendUint64(dst, uint64(w.Start))
}

// ParseSessionWindowedKey splits a session-windowed key. The returned key
// aliases b. A negative start or an end before the start is refused with
// ErrInvalidWindow, as Kafka Streams' SessionWindow constructor refuses it.
func ParseSessionWindowedKey(b []byte) (key []byte, w Window, err error) {
	if len(b) < 2*tsSize {
		return nil, Window{}, fmt.Errorf("%w: session-windowed key of %d bytes, need at least %d", ErrShortKey, len(b), 2*tsSize)
	}
	n := len(b) - 2*tsSize
	w.End = int64(binary.BigEndian.Uint64(b[n:]))
	w.Start = int64(binary.BigEndian.Uint64(b[n+tsSize:]))
	if w.Start < 0 || w.End < w.Start {
		return nil, Window{}, fmt.Errorf("%w: session [%d, %d]", ErrInvalidWindow, w.Start, w.End)
	}
	return b[:n:n], w, nil
}
