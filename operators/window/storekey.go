package window

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// State store keys of windowed aggregates. Unlike the topic layout (key.go),
// they must sort, as bytes, by key and then by window, so that one iterator
// walks all windows of a key in time order, and a key's windows must be
// exactly the keys under one prefix. So:
//
//	time window: esc(key) ‖ 0x00 0x01 ‖ ord(start)
//	session:     esc(key) ‖ 0x00 0x01 ‖ ord(end) ‖ ord(start)
//
// esc escapes every 0x00 byte of the key as 0x00 0xFF and the key ends with
// the terminator 0x00 0x01, which sorts below any escaped or plain byte: so
// "a" sorts before "a\x00" before "ab", and no key's prefix is a prefix of
// another key's entries. ord(t) is t big-endian with the sign bit flipped,
// so byte order is numeric order for negative starts too.
//
// Sessions sort by end then start, as Kafka Streams' session store does:
// the sessions a record may join (End >= ts - gap) are then a suffix of the
// key's range, reached with one seek to AppendSessionStoreKey(key,
// Window{End: ts-gap, Start: math.MinInt64}).

const (
	escByte   = 0x00
	escEscape = 0xFF
	escTerm   = 0x01
)

func appendEscaped(dst, key []byte) []byte {
	for {
		i := bytes.IndexByte(key, escByte)
		if i < 0 {
			dst = append(dst, key...)
			break
		}
		dst = append(dst, key[:i+1]...)
		dst = append(dst, escEscape)
		key = key[i+1:]
	}
	return append(dst, escByte, escTerm)
}

func appendOrdered(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

func ordered(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// AppendStoreKeyPrefix appends the prefix shared by every store key of key,
// time windows and sessions alike: esc(key) ‖ 0x00 0x01.
func AppendStoreKeyPrefix(dst, key []byte) []byte {
	return appendEscaped(dst, key)
}

// AppendStoreKeyPrefixEnd appends the smallest byte string greater than every
// store key of key: the exclusive upper bound of a scan of key's windows
// (esc(key) ‖ 0x00 0x02).
func AppendStoreKeyPrefixEnd(dst, key []byte) []byte {
	dst = appendEscaped(dst, key)
	dst[len(dst)-1]++
	return dst
}

// AppendStoreKey appends the store key of key's time window starting at
// start.
func AppendStoreKey(dst, key []byte, start int64) []byte {
	return appendOrdered(appendEscaped(dst, key), start)
}

// AppendSessionStoreKey appends the store key of key's session w.
func AppendSessionStoreKey(dst, key []byte, w Window) []byte {
	dst = appendOrdered(appendEscaped(dst, key), w.End)
	return appendOrdered(dst, w.Start)
}

// splitStoreKey unescapes the key part of b and returns it with the suffix
// that follows the terminator. The key aliases b when it holds no 0x00 byte,
// and is a new slice otherwise.
func splitStoreKey(b []byte) (key, rest []byte, err error) {
	i := bytes.IndexByte(b, escByte)
	if i < 0 || i+1 >= len(b) {
		return nil, nil, fmt.Errorf("%w: no key terminator", ErrBadStoreKey)
	}
	if b[i+1] == escTerm {
		return b[:i:i], b[i+2:], nil
	}
	out := make([]byte, 0, len(b))
	for {
		if i < 0 || i+1 >= len(b) {
			return nil, nil, fmt.Errorf("%w: no key terminator", ErrBadStoreKey)
		}
		out = append(out, b[:i+1]...)
		switch b[i+1] {
		case escTerm:
			return out[: len(out)-1 : len(out)-1], b[i+2:], nil
		case escEscape:
			b = b[i+2:]
		default:
			return nil, nil, fmt.Errorf("%w: bad escape 0x00 0x%02x", ErrBadStoreKey, b[i+1])
		}
		i = bytes.IndexByte(b, escByte)
	}
}

// ParseStoreKey splits a time window store key written by AppendStoreKey.
// The key aliases b unless it contains a 0x00 byte.
func ParseStoreKey(b []byte) (key []byte, start int64, err error) {
	key, rest, err := splitStoreKey(b)
	if err != nil {
		return nil, 0, err
	}
	if len(rest) != tsSize {
		return nil, 0, fmt.Errorf("%w: window suffix of %d bytes, want %d", ErrBadStoreKey, len(rest), tsSize)
	}
	return key, ordered(rest), nil
}

// ParseSessionStoreKey splits a session store key written by
// AppendSessionStoreKey. The key aliases b unless it contains a 0x00 byte.
func ParseSessionStoreKey(b []byte) (key []byte, w Window, err error) {
	key, rest, err := splitStoreKey(b)
	if err != nil {
		return nil, Window{}, err
	}
	if len(rest) != 2*tsSize {
		return nil, Window{}, fmt.Errorf("%w: session suffix of %d bytes, want %d", ErrBadStoreKey, len(rest), 2*tsSize)
	}
	w.End = ordered(rest)
	w.Start = ordered(rest[tsSize:])
	return key, w, nil
}
