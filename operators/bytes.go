package operators

import "encoding/binary"

func appendBE64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
func appendBE32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func be64(b []byte) uint64                 { return binary.BigEndian.Uint64(b) }
func be32(b []byte) uint32                 { return binary.BigEndian.Uint32(b) }

// orderedTime encodes a timestamp so that byte order is numeric order
// (the sign bit flipped), for index keys ordered by time.
func orderedTime(b []byte, ts int64) []byte { return appendBE64(b, uint64(ts)^(1<<63)) }
