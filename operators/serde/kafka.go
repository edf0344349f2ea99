package serde

import (
	"encoding/binary"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

// kafkaCodec is ksqlDB's KAFKA format: one column written with Kafka's
// primitive serializers (big-endian INT and BIGINT, IEEE-754 DOUBLE,
// UTF-8 STRING, raw BYTES). A NULL is nil bytes.
type kafkaCodec struct {
	col types.Column
}

var _ codec = (*kafkaCodec)(nil)

func newKafkaCodec(cols []types.Column) (*kafkaCodec, error) {
	if len(cols) != 1 {
		return nil, errorf(ErrUnsupported, "The 'KAFKA' format only supports a single field. Got: %s", columnList(cols))
	}
	switch cols[0].Type.Kind {
	case types.KindInt, types.KindBigint, types.KindDouble, types.KindString, types.KindBytes:
	default:
		return nil, errorf(ErrUnsupported, "The 'KAFKA' format does not support type '%s'", cols[0].Type.Kind)
	}
	return &kafkaCodec{col: cols[0]}, nil
}

func (c *kafkaCodec) encode(dst []byte, row types.Row, what string) ([]byte, bool, error) {
	v := row[0]
	if v.IsNull() {
		return dst, true, nil
	}
	t := &c.col.Type
	switch t.Kind {
	case types.KindInt:
		i, err := intPayload(t, v)
		if err != nil {
			return dst, false, encodeErr(what, c.col.Name, err)
		}
		return binary.BigEndian.AppendUint32(dst, uint32(int32(i))), false, nil
	case types.KindBigint:
		i, err := intPayload(t, v)
		if err != nil {
			return dst, false, encodeErr(what, c.col.Name, err)
		}
		return binary.BigEndian.AppendUint64(dst, uint64(i)), false, nil
	case types.KindDouble:
		f, err := floatPayload(t, v)
		if err != nil {
			return dst, false, encodeErr(what, c.col.Name, err)
		}
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(f)), false, nil
	default: // STRING, BYTES
		s, err := strPayload(t, v)
		if err != nil {
			return dst, false, encodeErr(what, c.col.Name, err)
		}
		return append(dst, s...), false, nil
	}
}

func (c *kafkaCodec) decode(b []byte, what string) (types.Row, error) {
	t := &c.col.Type
	var v types.Value
	switch t.Kind {
	case types.KindInt:
		if len(b) != 4 {
			return nil, decodeErr(what, c.col.Name, failf("INT needs 4 bytes, got %d", len(b)))
		}
		v = types.NewInt(int32(binary.BigEndian.Uint32(b)))
	case types.KindBigint:
		if len(b) != 8 {
			return nil, decodeErr(what, c.col.Name, failf("BIGINT needs 8 bytes, got %d", len(b)))
		}
		v = types.NewBigint(int64(binary.BigEndian.Uint64(b)))
	case types.KindDouble:
		if len(b) != 8 {
			return nil, decodeErr(what, c.col.Name, failf("DOUBLE needs 8 bytes, got %d", len(b)))
		}
		v = types.NewDouble(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case types.KindString:
		s := string(b)
		if !utf8.ValidString(s) {
			// Java's String(bytes, UTF_8) replaces what is malformed.
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		v = types.NewString(s)
	default: // BYTES
		v = types.NewBytes(b)
	}
	return types.Row{v}, nil
}
