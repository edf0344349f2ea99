package operators

import (
	"fmt"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// Decoder turns a record into a source row: the source's declared columns
// in order, then ROWTIME, ROWPARTITION and ROWOFFSET.
type Decoder struct {
	key   serde.KeyFormat
	value serde.ValueFormat
	// keyIdx and valIdx place the decoded key and value columns in the row.
	keyIdx, valIdx []int
	// keyRows and valRows decode straight into the row, through keyProj
	// and valProj (the places above, and the columns nobody reads).
	keyRows, valRows serde.RowDecoder
	keyProj, valProj serde.Projection
	// valCols are the value columns, in the value format's order.
	valCols []types.Column
	// valAlias is valProj with Alias set, for decodeReuse.
	valAlias serde.Projection
	width    int
	// timeIdx is the column that gives event time (TIMESTAMP=), or -1.
	timeIdx  int
	timeType types.Type
	// timeParse parses a STRING event-time column (TIMESTAMP_FORMAT).
	timeParse func(string) (int64, error)
	window    *WindowedKey
}

// DecoderSpec describes a source for NewDecoder.
type DecoderSpec struct {
	Columns     []types.Column
	KeyFormat   string
	ValueFormat string
	Props       serde.Props
	// TimestampColumn names the event-time column; "" uses the record's
	// timestamp.
	TimestampColumn string
	// ParseTime parses a STRING timestamp column; nil means ISO-8601.
	ParseTime func(string) (int64, error)
	// Window is set for a windowed table: its keys carry the window, and
	// rows end with WINDOWSTART and WINDOWEND.
	Window *WindowedKey
	// Read marks, by index in Columns, the columns the query reads; nil
	// reads them all. An unread column is NULL in the decoded rows, but a
	// record whose unread column does not convert to its type is refused
	// all the same: reading fewer columns makes decoding cheaper, never
	// more lenient. The TIMESTAMP column is always read.
	Read []bool
}

// WindowedKey describes the keys of a windowed table.
type WindowedKey struct {
	// Session keys carry start and end; time-windowed keys carry the start
	// and the end is start + SizeMs.
	Session bool
	SizeMs  int64
}

// NewDecoder builds a decoder for a source.
func NewDecoder(spec DecoderSpec) (*Decoder, error) {
	d := &Decoder{timeIdx: -1, width: len(spec.Columns) + 3, timeParse: spec.ParseTime, window: spec.Window}
	if d.window != nil {
		d.width += 2
	}
	var keyCols, valCols []types.Column
	for i, c := range spec.Columns {
		if c.Key {
			keyCols = append(keyCols, c)
			d.keyIdx = append(d.keyIdx, i)
		} else {
			valCols = append(valCols, c)
			d.valIdx = append(d.valIdx, i)
		}
		if spec.TimestampColumn != "" && c.Name == spec.TimestampColumn {
			d.timeIdx, d.timeType = i, c.Type
		}
	}
	if spec.TimestampColumn != "" && d.timeIdx < 0 {
		return nil, fmt.Errorf("TIMESTAMP column %s does not exist", spec.TimestampColumn)
	}
	if d.timeParse == nil {
		d.timeParse = types.ParseTimestamp
	}
	if spec.Read != nil && len(spec.Read) != len(spec.Columns) {
		return nil, fmt.Errorf("decoder: %d read marks for %d columns", len(spec.Read), len(spec.Columns))
	}
	var err error
	if d.key, err = serde.NewKeyFormat(spec.KeyFormat, keyCols, spec.Props); err != nil {
		return nil, fmt.Errorf("key format: %w", err)
	}
	if d.value, err = serde.NewValueFormat(spec.ValueFormat, valCols, spec.Props); err != nil {
		return nil, fmt.Errorf("value format: %w", err)
	}
	d.valCols = valCols
	d.keyRows, _ = d.key.(serde.RowDecoder)
	d.valRows, _ = d.value.(serde.RowDecoder)
	d.keyProj = projection(d.keyIdx, spec.Read, d.timeIdx)
	d.valProj = projection(d.valIdx, spec.Read, d.timeIdx)
	d.valAlias = d.valProj
	d.valAlias.Alias = true
	return d, nil
}

// projection places a format's columns (at row places idx) and marks those
// that read leaves unread, except the event-time column.
func projection(idx []int, read []bool, timeIdx int) serde.Projection {
	p := serde.Projection{Index: idx}
	if read == nil {
		return p
	}
	for i, at := range idx {
		if !read[at] && at != timeIdx {
			if p.Skip == nil {
				p.Skip = make([]bool, len(idx))
			}
			p.Skip[i] = true
		}
	}
	return p
}

// Width is the number of values in a decoded row.
func (d *Decoder) Width() int { return d.width }

// Decode decodes rec into a new row. A tombstone (nil value) yields ok ==
// false (DecodeKey reads what it holds).
func (d *Decoder) Decode(rec *log.Record) (row types.Row, ok bool, err error) {
	if rec.Value == nil {
		return nil, false, nil
	}
	row = make(types.Row, d.width)
	if err := d.decodeInto(rec, row, &d.valProj); err != nil {
		return nil, false, err
	}
	return row, true, nil
}

// decodeReuse is Decode into row, a row of Width() values that the caller
// reuses from record to record, with its strings sharing rec.Value's
// bytes (serde.Projection.Alias) instead of copies: for a caller that is
// done with the row, and every value in it, before the next record, and
// that never keeps a value (a stateless task, which encodes the row and
// drops it). ok is false for a tombstone, row then untouched.
func (d *Decoder) decodeReuse(rec *log.Record, row types.Row) (ok bool, err error) {
	if rec.Value == nil {
		return false, nil
	}
	clear(row) // a column the record lacks is NULL, not the last record's
	if err := d.decodeInto(rec, row, &d.valAlias); err != nil {
		return false, err
	}
	return true, nil
}

// rawPlan is how a stateless task decodes records whose value columns
// it partly copies to its output unchanged (serde.RawDecoder): the
// projection (valAlias, with the columns that are only copied skipped),
// which value columns' text to keep, and the last record's texts.
type rawPlan struct {
	proj serde.Projection
	want []bool
	raw  [][]byte
}

// newRawPlan plans the pass-through of the value columns at row places
// copied; built reports whether the task also reads a row place's value.
// nil when the value format passes no text (serde.PassesRaw).
func (d *Decoder) newRawPlan(copied map[int]bool, built func(at int) bool) *rawPlan {
	if _, ok := d.valRows.(serde.RawDecoder); !ok || !serde.PassesRaw(d.value) {
		return nil
	}
	rp := &rawPlan{proj: d.valAlias, want: make([]bool, len(d.valIdx)), raw: make([][]byte, len(d.valIdx))}
	rp.proj.Skip = make([]bool, len(d.valIdx))
	if d.valAlias.Skip != nil {
		copy(rp.proj.Skip, d.valAlias.Skip)
	}
	for i, at := range d.valIdx {
		if !copied[at] {
			continue
		}
		rp.want[i] = true
		if !built(at) && at != d.timeIdx {
			rp.proj.Skip[i] = true
		}
	}
	return rp
}

// valueType returns the type of the value column at row place at; ok
// is false for a key or pseudo column.
func (d *Decoder) valueType(at int) (t types.Type, ok bool) {
	for i, a := range d.valIdx {
		if a == at {
			return d.valCols[i].Type, true
		}
	}
	return types.Type{}, false
}

// rawAt returns the text of the value column at row place at from the
// last record decoded through rp (nil: none, or not kept).
func (d *Decoder) rawAt(rp *rawPlan, at int) []byte {
	for i, a := range d.valIdx {
		if a == at {
			return rp.raw[i]
		}
	}
	return nil
}

// decodeReuseRaw is decodeReuse through rp: the columns it wants get
// their text in rp.raw, and those only copied are not built when their
// text stands for them.
func (d *Decoder) decodeReuseRaw(rec *log.Record, row types.Row, rp *rawPlan) (ok bool, err error) {
	if rec.Value == nil {
		return false, nil
	}
	clear(row)
	if err := d.decodeIntoRaw(rec, row, &rp.proj, rp); err != nil {
		return false, err
	}
	return true, nil
}

// decodeInto decodes the non-null rec into row, which holds NULLs, its
// value through vp.
func (d *Decoder) decodeInto(rec *log.Record, row types.Row, vp *serde.Projection) (err error) {
	return d.decodeIntoRaw(rec, row, vp, nil)
}

// decodeIntoRaw is decodeInto, through rp when it is not nil.
func (d *Decoder) decodeIntoRaw(rec *log.Record, row types.Row, vp *serde.Projection, rp *rawPlan) (err error) {
	key := rec.Key
	var win window.Window
	if d.window != nil {
		if key, win, err = d.splitWindow(key); err != nil {
			return err
		}
	}
	if len(d.keyIdx) > 0 {
		if err := d.decodeKey(key, row); err != nil {
			return fmt.Errorf("decode key: %w", err)
		}
	}
	if rp != nil {
		err = d.valRows.(serde.RawDecoder).DecodeRowRaw(rec.Value, row, vp, rp.want, rp.raw)
	} else {
		err = d.decodeValue(rec.Value, row, vp)
	}
	if err != nil {
		return fmt.Errorf("decode value: %w", err)
	}
	ts := rec.Timestamp
	if d.timeIdx >= 0 {
		if ts, err = d.eventTime(row[d.timeIdx]); err != nil {
			return err
		}
	}
	n := len(d.keyIdx) + len(d.valIdx)
	row[n] = types.NewBigint(ts)
	row[n+1] = types.NewInt(rec.Partition)
	row[n+2] = types.NewBigint(rec.Offset)
	if d.window != nil {
		row[n+3] = types.NewBigint(win.Start)
		row[n+4] = types.NewBigint(win.End)
	}
	return nil
}

// decodeKey decodes a key's columns into row.
func (d *Decoder) decodeKey(b []byte, row types.Row) error {
	if d.keyRows != nil {
		return d.keyRows.DecodeRow(b, row, &d.keyProj)
	}
	kv, err := d.key.Decode(b)
	if err != nil {
		return err
	}
	for i, idx := range d.keyIdx {
		row[idx] = kv[i]
	}
	return nil
}

// decodeValue decodes a value's columns into row, through vp (valProj,
// or valAlias).
func (d *Decoder) decodeValue(b []byte, row types.Row, vp *serde.Projection) error {
	if d.valRows != nil {
		return d.valRows.DecodeRow(b, row, vp)
	}
	vv, err := d.value.Decode(b)
	if err != nil {
		return err
	}
	for i, idx := range d.valIdx {
		row[idx] = vv[i]
	}
	return nil
}

// DecodeKey decodes a record whose value is null (a tombstone) into a row
// of its key columns and pseudo columns, the value columns NULL: what a
// query may still compute of a deleted table row or a stream's null
// value. Its event time is the record's timestamp.
func (d *Decoder) DecodeKey(rec *log.Record) (types.Row, error) {
	row := make(types.Row, d.width)
	key := rec.Key
	var win window.Window
	var err error
	if d.window != nil {
		if key, win, err = d.splitWindow(key); err != nil {
			return nil, err
		}
	}
	if len(d.keyIdx) > 0 {
		if err := d.decodeKey(key, row); err != nil {
			return nil, fmt.Errorf("decode key: %w", err)
		}
	}
	n := len(d.keyIdx) + len(d.valIdx)
	row[n] = types.NewBigint(rec.Timestamp)
	row[n+1] = types.NewInt(rec.Partition)
	row[n+2] = types.NewBigint(rec.Offset)
	if d.window != nil {
		row[n+3] = types.NewBigint(win.Start)
		row[n+4] = types.NewBigint(win.End)
	}
	return row, nil
}

// KeyAbsent reports whether rec has no key at all (nil key bytes) while
// the source declares key columns: ksqlDB reads such a record's key as a
// null key, not as a key whose columns are NULL, and a query that passes
// the key through writes no key again. A one-column key needs no mark
// (its NULL is written as no key by every key format); a key of several
// columns does, as its NULLs would otherwise be written as
// {"K1":null,"K2":null} or ",". A windowed key is never absent.
func (d *Decoder) KeyAbsent(rec *log.Record) bool {
	return rec.Key == nil && len(d.keyIdx) > 1 && d.window == nil
}

// KeyNull reports whether every key column of a decoded row is NULL: a
// record without a key, which a table cannot hold.
func (d *Decoder) KeyNull(row types.Row) bool {
	for _, idx := range d.keyIdx {
		if !row[idx].IsNull() {
			return false
		}
	}
	return true
}

// splitWindow separates a windowed key into the key and its window.
func (d *Decoder) splitWindow(b []byte) ([]byte, window.Window, error) {
	if d.window.Session {
		k, w, err := window.ParseSessionWindowedKey(b)
		if err != nil {
			return nil, w, fmt.Errorf("decode windowed key: %w", err)
		}
		return k, w, nil
	}
	k, start, err := window.ParseTimeWindowedKey(b)
	if err != nil {
		return nil, window.Window{}, fmt.Errorf("decode windowed key: %w", err)
	}
	return k, window.Window{Start: start, End: start + d.window.SizeMs}, nil
}

// eventTime reads the TIMESTAMP= column.
func (d *Decoder) eventTime(v types.Value) (int64, error) {
	if v.IsNull() {
		return 0, fmt.Errorf("timestamp column is NULL")
	}
	switch d.timeType.Kind {
	case types.KindBigint, types.KindInt, types.KindTimestamp:
		return v.Int(), nil
	case types.KindString:
		ms, err := d.timeParse(v.Str())
		if err != nil {
			return 0, fmt.Errorf("parse timestamp column: %w", err)
		}
		return ms, nil
	}
	return 0, fmt.Errorf("timestamp column of type %s", d.timeType)
}
