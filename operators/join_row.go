package operators

import (
	"encoding/binary"
	"slices"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/sql/types"
)

// Join rows in state. A join keeps the rows it will meet again in its
// task's store. It used to keep the records they came from (their value
// bytes, JSON as a rule) and decode them again every time they met a
// record: in Nexmark's q20 that decoding was 7% of the CPU, and Pebble's
// compactions, which rewrite the state stores (the log's own tables move
// down the levels as they are), 23%. A
// stored row is now the decoded row itself, in the binary value codec of
// the aggregations (agg.AppendValue), and only the columns the query
// reads:
//
//	row   = uvarint(n) n × (uvarint(column index) value)
//
// in ascending column index. A column not listed decodes as NULL: it is
// one nothing reads (StreamSide.Stored and StreamTableSpec.TableStored say
// which are kept). The indexes make a stored row self-describing, so that
// a row stored under one plan never shifts into the wrong columns under
// another.

// errCorruptJoinRow is a stored join row that is not what the join wrote.
var errCorruptJoinRow = sqlstate.New(sqlstate.DataCorrupted, "operators: corrupt join row in state")

// appendJoinRow appends the stored form of the columns keep of row (every
// column when keep is nil). keep is ascending.
func appendJoinRow(dst []byte, row types.Row, keep []int) []byte {
	return appendJoinRowExcept(dst, row, keep, -1)
}

// appendJoinRowExcept is appendJoinRow leaving out column skip when keep
// lists it (-1: none), a column the reader knows otherwise
// (decodeJoinRowTime).
func appendJoinRowExcept(dst []byte, row types.Row, keep []int, skip int) []byte {
	if keep == nil {
		dst = binary.AppendUvarint(dst, uint64(len(row)))
		for i, v := range row {
			dst = binary.AppendUvarint(dst, uint64(i))
			dst = agg.AppendValue(dst, v)
		}
		return dst
	}
	n := len(keep)
	if skip >= 0 && slices.Contains(keep, skip) {
		n--
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for _, i := range keep {
		if i == skip {
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(i))
		dst = agg.AppendValue(dst, row[i])
	}
	return dst
}

// decodeJoinRow decodes a stored row of width columns; the columns it
// does not hold are NULL. The row shares no memory with b.
func decodeJoinRow(b []byte, width int) (types.Row, error) {
	return decodeJoinRowInto(nil, b, width)
}

// decodeJoinRowInto is decodeJoinRow into dst's memory when it has room.
func decodeJoinRowInto(dst types.Row, b []byte, width int) (types.Row, error) {
	return decodeJoinRowTime(dst, b, width, -1, 0)
}

// decodeJoinRowTime is decodeJoinRowInto of a row whose column time
// (-1: none), when absent, is the BIGINT ts: a table join's stored row
// leaves out its ROWTIME, which the entry holds before it
// (appendStoredRowAt).
func decodeJoinRowTime(dst types.Row, b []byte, width, time int, ts int64) (types.Row, error) {
	r, err := openJoinRow(b, width)
	if err != nil {
		return nil, err
	}
	var row types.Row
	if cap(dst) >= width {
		row = dst[:width]
		clear(row)
	} else {
		row = make(types.Row, width)
	}
	sawTime := false
	var v types.Value
	for r.more() {
		i, err := r.next(&v)
		if err != nil {
			return nil, err
		}
		sawTime = sawTime || i == time
		row[i] = v
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	if time >= 0 && time < width && !sawTime {
		row[time] = types.NewBigint(ts)
	}
	return row, nil
}

// joinRowReader reads a stored row's columns in turn, checking what the
// join wrote (see the layout above), for the decoders of a row: one
// reading, whatever they make of its columns.
type joinRowReader struct {
	b     []byte
	width int
	// left is the columns not read yet; last the index of the last read
	// (-1: none), which the next must exceed.
	left uint64
	last int
}

// openJoinRow starts reading b, a stored row of width columns.
func openJoinRow(b []byte, width int) (joinRowReader, error) {
	n, w := binary.Uvarint(b)
	// Each column takes at least two bytes (its index and its kind).
	if w <= 0 || n > uint64(width) || n > uint64(len(b)-w)/2 {
		return joinRowReader{}, errCorruptJoinRow.Errorf("operators: corrupt join row in state: bad column count")
	}
	return joinRowReader{b: b[w:], width: width, left: n, last: -1}, nil
}

// more reports whether a column is left to read.
func (r *joinRowReader) more() bool { return r.left > 0 }

// next reads the next column's index, and its value into *v, which
// shares no memory with the row's bytes.
func (r *joinRowReader) next(v *types.Value) (int, error) {
	i, w := binary.Uvarint(r.b)
	if w <= 0 || i >= uint64(r.width) || int(i) <= r.last {
		return 0, errCorruptJoinRow.Errorf("operators: corrupt join row in state: bad column index")
	}
	var rest []byte
	var err error
	if *v, rest, err = agg.DecodeValue(r.b[w:]); err != nil {
		return 0, errCorruptJoinRow.Errorf("operators: corrupt join row in state: column %d: %v", i, err)
	}
	r.b, r.last, r.left = rest, int(i), r.left-1
	return int(i), nil
}

// end checks that the row held nothing after its columns.
func (r *joinRowReader) end() error {
	if len(r.b) != 0 {
		return errCorruptJoinRow.Errorf("operators: corrupt join row in state: %d trailing bytes", len(r.b))
	}
	return nil
}

// decodeJoinColumns decodes a stored row of width columns as its columns'
// indexes and values, appended to cols and vals: the columns it holds,
// ascending, without the NULLs decodeJoinRowInto writes for the others. A
// stream-stream join keeps a few stored rows decoded so (storedRows) and
// writes their columns into its pairs' rows, rather than decoding a
// stored row again each time a record meets it. The values share no
// memory with b.
func decodeJoinColumns(cols []int32, vals []types.Value, b []byte, width int) ([]int32, []types.Value, error) {
	r, err := openJoinRow(b, width)
	if err != nil {
		return cols, vals, err
	}
	var v types.Value
	for r.more() {
		i, err := r.next(&v)
		if err != nil {
			return cols, vals, err
		}
		cols, vals = append(cols, int32(i)), append(vals, v)
	}
	return cols, vals, r.end()
}
