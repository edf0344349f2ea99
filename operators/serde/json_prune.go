package serde

import (
	"slices"

	"github.com/runnel/runnel/sql/types"
)

// Pruner writes a JSON row again with some of its columns only: a join's
// key repartition passes on only what the join reads of each record (in
// Nexmark's q4 the bids' auction, price and dateTime, not their url and
// extra), so that the internal topic, its log and the join's decoding
// carry a fraction of the bytes. It writes what the decoder read, not
// the record's members: each kept column's text as DecodeRowRaw gave it
// (the member the decoder chose among duplicates and other cases of the
// name), or its value written afresh when that text was not canonical;
// so decoding the result with the same format gives the kept columns the
// values the whole record gave them, and NULL to the others. The record
// has been decoded whole (every column checked, read or not) first, so a
// record that fails still fails there, once, as it did.
type Pruner struct {
	c    *jsonCodec
	keep []bool
}

// NewPruner returns a Pruner of f's rows that keeps the columns keep
// marks (by index in f's columns), or nil when f is not a JSON value
// format writing its columns in an object, or keep marks them all.
func NewPruner(f ValueFormat, keep []bool) *Pruner {
	ff, ok := f.(*format)
	if !ok || ff.key {
		return nil
	}
	c, ok := ff.c.(*jsonCodec)
	if !ok || !c.wrap || len(keep) != len(c.cols) || !slices.Contains(keep, false) {
		return nil
	}
	return &Pruner{c: c, keep: slices.Clone(keep)}
}

// Keep marks, by index in the format's columns, those the Pruner keeps:
// the want of DecodeRowRaw, whose texts Append writes. Not to be
// modified.
func (p *Pruner) Keep() []bool { return p.keep }

// Append appends to dst the object of the kept columns of a row decoded
// with DecodeRowRaw (want: Keep()): column i's text raw[i] when it has
// one, its value row[index[i]] otherwise, left out when NULL (absent and
// null decode alike).
func (p *Pruner) Append(dst []byte, row types.Row, index []int, raw [][]byte) ([]byte, error) {
	c := p.c
	start := len(dst)
	dst = append(dst, '{')
	for i, k := range p.keep {
		if !k {
			continue
		}
		text := raw[i]
		if string(text) == "null" || (text == nil && row[index[i]].IsNull()) {
			continue
		}
		prefix := c.prefixes[i]
		if len(dst) == start+1 && i > 0 {
			prefix = prefix[1:] // the first member: no comma
		}
		dst = append(dst, prefix...)
		if text != nil {
			dst = append(dst, text...)
			continue
		}
		var err error
		if dst, err = appendJSONValue(dst, &c.cols[i].Type, row[index[i]]); err != nil {
			return dst[:start], encodeErr("value", c.cols[i].Name, err)
		}
	}
	return append(dst, '}'), nil
}
