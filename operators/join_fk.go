package operators

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// ForeignKeySpec describes a foreign-key table-table join: each left row
// joins the right row whose primary key equals the left row's foreign key
// (Left.Keys). It is immutable and shared.
type ForeignKeySpec struct {
	// Left's Keys compute the foreign key over a left row, one per key
	// equality; Right's Keys are the right table's key columns, in the
	// same order.
	Left, Right TableSide
	// FKOrder lists, for each of the right table's key columns in order,
	// the index in Left.Keys of the expression that equals it: the order
	// RightKey serializes a foreign key in.
	FKOrder []int
	// RightKey is the right table's key format: a foreign key serialized
	// with it is the record key of the right row it points at.
	RightKey serde.KeyFormat
	// KeepLeft keeps left rows without a match, with NULLs (LEFT JOIN).
	KeepLeft bool
	// Extra is the rest of the ON condition, over the left row followed by
	// the right row; nil when there is none.
	Extra expr.Expr
}

// ForeignKeyJoin is the processor of a foreign-key join. It sees every
// partition of both tables, merged in event-time order, so that every
// left row and every right row meet in it whatever the tables' partition
// counts and key formats (build/doc.go says why this design).
//
// State: each table's latest rows ('l', 'r'), and an index from each
// foreign key to the left keys that hold it ('i', the foreign key's
// length, the foreign key, the left key), so that a right change finds
// the rows it affects without reading the left table. A left row's entry
// starts with the foreign key it is indexed under. Both are bounded by
// the tables' sizes.
//
//   - A left change re-joins that row with the right row of its foreign
//     key as it is now. When the foreign key changed, the row leaves the
//     old key's index: later changes of the old right row do not reach
//     it. A NULL foreign key matches nothing (LEFT keeps the row).
//   - A right change (an upsert or a delete) re-joins every left row
//     whose foreign key is its key, in left key order.
//
// Each change of a result row is handed to Output with the left row's key,
// and its ROWTIME is the larger of the changing record's and the other
// row's (each of the left rows', for a right change).
type ForeignKeyJoin struct {
	Spec  *ForeignKeySpec
	Store state.Store
	// RightFrom splits the task's inputs: those below it are the left
	// table's partitions, the others the right table's.
	RightFrom int
	Output    TableJoinOutput
	pair      *tablePair
	keyBuf    types.Row
	// index holds the index's left keys of the foreign keys right rows
	// recently changed at (fkIndexCache).
	index fkIndexCache
	// leftBuf is the memory of the left row rejoin decodes, which is
	// joined and dropped before the next.
	leftBuf types.Row
	// rightRow is the memory of the right row a record meets: the one
	// left reads, or the changed one right decodes (as leftRow). Each is
	// joined and dropped before the next record, the joined rows
	// copying its values.
	rightRow types.Row
	// leftRow is the memory of the changed left row left decodes (a
	// source's Decoder's), dropped before the next as leftBuf is: the
	// join copies its values, and its stored entry is its encoding.
	leftRow types.Row
	// aliasLeft is set when left decodes a left row with its strings
	// sharing the record's bytes (leftAliases).
	aliasLeft bool
	// fks holds the foreign keys the index has entries under (fkFilter).
	fks fkFilter
	// rights holds the keys of the right rows stored (an fkFilter of
	// rights): a left change whose foreign key no right row has (in
	// Nexmark's q7 nearly every bid's window and price) knows it
	// without asking the store's filter, whose layers hold every left
	// row too, each probe a cache miss and its false positives store
	// reads.
	rights fkFilter
	// stateKey and indexKey hold the state key of the row being read or
	// written and an index key: each is used before the next is built,
	// since the store copies the keys it keeps. deriveKey is
	// deriveIndex's, which a write-back may call while the others are
	// in use.
	stateKey, indexKey, deriveKey []byte
	// fkBuf is the memory of the foreign key foreignKey computes, used
	// before the next: the store, the index's cache and the entry each
	// copy what they keep.
	fkBuf []byte
	// entryBuf is the memory a left row's entry is built in, which the
	// store copies what it keeps of (leftRowEntry).
	entryBuf []byte
	// derived is set when the store writes the index itself, from the
	// left rows' changes as it writes them back (deriveIndex): a
	// TableJoinStore.
	derived bool
	// Memory is the account the index's cache and the foreign keys'
	// filter draw their shares of the engine's cache budget from
	// (internal/membudget). Default: nil, a fixed fkIndexCacheBytes.
	Memory *membudget.Account
}

var (
	_ InputProcessor = (*ForeignKeyJoin)(nil)
	_ Recoverable    = (*ForeignKeyJoin)(nil)
)

// Recover implements Recoverable: a store that remembers what it read
// (TableJoinStore) forgets it.
func (j *ForeignKeyJoin) Recover() {
	j.index.reset()
	j.fks.reset(filterUnloaded)
	j.rights.reset(filterUnloaded)
	recoverStore(j.Store)
}

// fkScanChunk bounds the left keys a right change reads from the index
// at a time: a right row that many left rows point at is re-joined a
// chunk at a time, not read into memory whole.
const fkScanChunk = 256

// Process implements Processor; a join's records always come with their
// input (ProcessInput).
func (j *ForeignKeyJoin) Process(*log.Record, Emit) error {
	return errors.New("operators: a join's records need their input")
}

// Flush implements Processor: the store's changes are written back,
// for the task's commit, and the foreign keys' filter is loaded again in
// one layer once it has grown past maxJoinFilterLayers.
func (j *ForeignKeyJoin) Flush(Emit) error {
	if err := flushStore(j.Store); err != nil {
		return err
	}
	for _, f := range []*fkFilter{&j.fks, &j.rights} {
		if f.state == filterOn && len(f.f.layers) > maxJoinFilterLayers {
			if err := f.loadSized(j.Store, 2*f.keys); err != nil {
				return err
			}
		}
	}
	return nil
}

// ProcessInput implements InputProcessor.
func (j *ForeignKeyJoin) ProcessInput(input int, rec *log.Record, emit Emit) error {
	if len(rec.Key) == 0 {
		// A row without a key can neither be pointed at nor key a
		// result.
		return nil
	}
	if j.pair == nil {
		s := j.Spec
		j.pair = &tablePair{left: &s.Left, right: &s.Right, keepLeft: s.KeepLeft, extra: s.Extra}
		j.rights.rights = true
		j.aliasLeft = leftAliases(s)
		j.index.share = j.Memory.Share(fkIndexCacheBytes)
		if st, ok := j.Store.(*TableJoinStore); ok {
			st.derive, st.derived, j.derived = j.deriveIndex, fkIndexPrefix, true
		}
	}
	if input < j.RightFrom {
		return j.left(rec, emit)
	}
	return j.right(rec, emit)
}

// appendLeftHeader appends to dst what precedes the stored row
// (storedRow) in a left row's state entry: 0 for a NULL foreign key, or
// 1, the foreign key's length (4 bytes) and the foreign key.
func appendLeftHeader(dst, fk []byte) []byte {
	if fk == nil {
		return append(dst, 0)
	}
	return append(appendBE32(append(dst, 1), uint32(len(fk))), fk...)
}

// leftRowEntry is a left row's state entry, written for every left
// change: built in j.entryBuf, valid until the next call. The store
// copies it at its size when it keeps it (storeSwap); one written
// straight to the store (TableJoinStore.writeNew) is not copied at all.
// keep is the columns stored (TableSide.Stored).
func (j *ForeignKeyJoin) leftRowEntry(fk []byte, row types.Row, ts int64, keep []int) []byte {
	j.entryBuf = appendStoredRowAt(appendLeftHeader(j.entryBuf[:0], fk), row, ts, keep, j.Spec.Left.TimeIndex)
	return j.entryBuf
}

// splitLeftEntry reads a left row's state entry: its foreign key (nil for
// NULL) and its stored row.
func splitLeftEntry(v []byte) (fk, row []byte, err error) {
	if len(v) < 1 {
		return nil, nil, errCorruptState
	}
	if v[0] == 0 {
		return nil, v[1:], nil
	}
	if len(v) < 5 || int(be32(v[1:])) > len(v)-5 {
		return nil, nil, errCorruptState
	}
	n := int(be32(v[1:]))
	return v[5 : 5+n : 5+n], v[5+n:], nil
}

// indexPrefix is the index key prefix of the left rows whose foreign key
// is fk.
func indexPrefix(fk []byte) []byte {
	return appendFKIndexKey(make([]byte, 0, 5+len(fk)), fk, nil)
}

// appendFKIndexKey appends the index key of the left row key under fk to
// dst.
func appendFKIndexKey(dst, fk, key []byte) []byte {
	return append(append(appendBE32(append(dst, fkIndexPrefix), uint32(len(fk))), fk...), key...)
}

// key returns prefix p and key in j.stateKey, valid until the next call.
func (j *ForeignKeyJoin) key(p byte, key []byte) []byte {
	j.stateKey = append(append(j.stateKey[:0], p), key...)
	return j.stateKey
}

// indexEntry returns the index key of the left row key under fk in
// j.indexKey, valid until the next call.
func (j *ForeignKeyJoin) indexEntry(fk, key []byte) []byte {
	j.indexKey = appendFKIndexKey(j.indexKey[:0], fk, key)
	return j.indexKey
}

// foreignKey computes a left row's foreign key, serialized as the right
// table's key; nil when any part of it is NULL. The key is in j.fkBuf,
// valid until the next call.
func (j *ForeignKeyJoin) foreignKey(row types.Row) ([]byte, error) {
	s := j.Spec
	if j.keyBuf == nil {
		j.keyBuf = make(types.Row, len(s.FKOrder))
	}
	for i, k := range s.FKOrder {
		v, err := s.Left.Keys[k].Eval(row)
		if err != nil {
			return nil, err
		}
		if v.IsNull() {
			return nil, nil
		}
		j.keyBuf[i] = v
	}
	var fk []byte
	var err error
	if ae, ok := s.RightKey.(serde.AppendEncoder); ok {
		// Into the join's memory: every use of the key copies what it
		// keeps (Nexmark q7 computes one per bid).
		var null bool
		j.fkBuf, null, err = ae.AppendEncode(j.fkBuf[:0], j.keyBuf)
		if err == nil && !null {
			fk = j.fkBuf
		}
	} else {
		fk, err = s.RightKey.Encode(j.keyBuf)
	}
	if err != nil {
		return nil, fmt.Errorf("encode the foreign key: %w", err)
	}
	if fk == nil {
		// A key format may write an empty key as no bytes; a non-NULL
		// foreign key is never nil here.
		fk = []byte{}
	}
	return fk, nil
}

// left applies a change of a left row and re-joins it.
func (j *ForeignKeyJoin) left(rec *log.Record, emit Emit) error {
	s := j.Spec
	row, ts, err := j.decodeLeft(rec)
	if err != nil {
		return err
	}
	if j.pair.filtered(false, row) {
		return j.leftFiltered(rec, row, ts, emit)
	}
	var fk []byte
	if row != nil {
		if fk, err = j.foreignKey(row); err != nil {
			return err
		}
	}
	// The row's entry is read (for the foreign key it was indexed under)
	// and replaced at once: one look into the store's cache.
	lk := j.key(leftRowPrefix, rec.Key)
	var entry []byte
	if row != nil {
		entry = j.leftRowEntry(fk, row, ts, s.Left.Stored)
	}
	old, had, err := storeSwap(j.Store, lk, entry, row != nil)
	if err != nil {
		return err
	}
	var oldFK []byte
	if had {
		if oldFK, _, err = splitLeftEntry(old); err != nil {
			return err
		}
	}
	sameFK := had && row != nil && sameForeignKey(oldFK, fk)
	if had && oldFK != nil && !sameFK {
		if err := j.unindex(oldFK, rec.Key); err != nil {
			return err
		}
	}
	if row == nil {
		if !had {
			// No row, no result to end (noResult).
			return nil
		}
		return j.Output(rec.Key, nil, ts, emit)
	}
	// first is set when the row is the first the index holds under fk
	// since the filter was loaded, and none was before.
	first := false
	if fk != nil && !sameFK {
		if !j.derived {
			if err := j.Store.Put(j.indexEntry(fk, rec.Key), nil); err != nil {
				j.index.reset()
				return err
			}
		}
		j.index.add(fk, rec.Key)
		first = j.fks.add(fk)
	}
	var r types.Row
	if fk != nil {
		if r, err = j.rightRowOf(fk); err != nil {
			return err
		}
		if r == nil && first && j.index.wantAhead() {
			// The right row is yet to come (in Nexmark's q3, an auction
			// whose seller registers after it): its arrival will find
			// its left rows in the cache instead of scanning the index,
			// which seeks every memtable and level.
			j.index.putAhead(fk, [][]byte{rec.Key})
		}
	}
	if r != nil {
		ts = max(ts, r[s.Right.TimeIndex].Int())
		if j.aliasLeft {
			// The row goes on in the joined row, which the output may
			// keep: decoded again, its strings copies (leftAliases).
			if row, _, err = decodeChangeInto(&s.Left, &j.leftRow, rec, false); err != nil {
				return err
			}
		}
	}
	joined, err := j.pair.join(row, r, ts)
	if err != nil {
		return err
	}
	if joined == nil && !had {
		// A new row that joins nothing: no result to end (noResult).
		return nil
	}
	return j.Output(rec.Key, joined, ts, emit)
}

// noResult: the output holds a result row of a left key only while the
// join holds that key's left row. A result is made only of a stored left
// row, and every change that removes one (a tombstone, a row that fails
// the left side's Filter) hands Output its end; Recover drops the two
// together. So a change of a left key the join did not hold that yields
// no row need not be handed to Output, which would look for a result of
// the key (the sink's key, or the aggregation's last group input) and
// find none: in Nexmark's q7 nearly every bid is a new row that is no
// window's highest, and that look, a probe of the store's filter that
// mostly misses the processor's caches and now and then a store read
// for a false positive, was a tenth of the join's left side.

// leftFiltered applies a change of a left row that fails the left
// side's Filter (row): a delete of its key for
// the join. A result row it ends is ended at the time the WHERE would
// have ended it: the larger of the row's and its foreign key's right
// row's, when that row is stored (one that fails the right side's
// Filter is not, and the change keeps the left row's time). A key the
// join did not hold has no result to end: no look for its right row.
func (j *ForeignKeyJoin) leftFiltered(rec *log.Record, row types.Row, ts int64, emit Emit) error {
	s := j.Spec
	old, had, err := storeSwap(j.Store, j.key(leftRowPrefix, rec.Key), nil, false)
	if err != nil || !had {
		return err
	}
	oldFK, _, err := splitLeftEntry(old)
	if err != nil {
		return err
	}
	if oldFK != nil {
		if err := j.unindex(oldFK, rec.Key); err != nil {
			return err
		}
	}
	// The result ends even when the foreign key cannot be computed (at
	// the row's time then): the row is gone (noResult).
	fk, fkErr := j.foreignKey(row)
	if fkErr == nil && fk != nil {
		r, err := j.rightRowOf(fk)
		if err != nil {
			return err
		}
		if r != nil {
			ts = max(ts, r[s.Right.TimeIndex].Int())
		}
	}
	if err := j.Output(rec.Key, nil, ts, emit); err != nil {
		return err
	}
	return fkErr
}

// unindex takes a left key out of the index of the foreign key its row
// was stored under: the index entry (unless the store derives the
// index, deriveIndex) and the index cache's list. A failed delete drops
// the cache, which might otherwise list a key the index still holds.
func (j *ForeignKeyJoin) unindex(fk, leftKey []byte) error {
	if !j.derived {
		if err := j.Store.Delete(j.indexEntry(fk, leftKey)); err != nil {
			j.index.reset()
			return err
		}
	}
	j.index.remove(fk, leftKey)
	return nil
}

// rightRowOf reads the right row whose key is the foreign key fk, nil
// when none is stored, into the join's right row memory (rightRow),
// which it then holds until the next record.
func (j *ForeignKeyJoin) rightRowOf(fk []byte) (types.Row, error) {
	if may, err := j.rights.mayHave(j.Store, j.Memory, fk); err != nil || !may {
		return nil, err
	}
	r, err := lookupRowInto(j.rightRow, j.Store, &j.Spec.Right, j.key(rightRowPrefix, fk), fk)
	if err == nil && r != nil {
		j.rightRow = r[:0]
	}
	return r, err
}

// deriveIndex is the join's TableJoinStore's derive: as a left row's
// change is written to st, the store beneath, its index entry moves
// with its foreign key, from the one st held (old) to the one it gets
// (v). The index thus changes once per left row per write-back, not
// with every change: in Nexmark q5 every count update moves its row's
// foreign key (window and count), and its index entries' put and
// delete through the cache, each a new cached entry, were a quarter of
// the join's left side. The index is read by scans only, each after a
// write-back (TableJoinStore.Scan), so it is as exact as before when
// read.
func (j *ForeignKeyJoin) deriveIndex(st state.Store, key, old []byte, had bool, v []byte, ok bool) error {
	if len(key) == 0 || key[0] != leftRowPrefix {
		return nil
	}
	var oldFK, fk []byte
	var err error
	if had {
		if oldFK, _, err = splitLeftEntry(old); err != nil {
			return err
		}
	}
	if ok {
		if fk, _, err = splitLeftEntry(v); err != nil {
			return err
		}
	}
	if had && ok && sameForeignKey(oldFK, fk) {
		return nil
	}
	lk := key[1:]
	if oldFK != nil {
		j.deriveKey = appendFKIndexKey(j.deriveKey[:0], oldFK, lk)
		if err := st.Delete(j.deriveKey); err != nil {
			return err
		}
	}
	if fk != nil {
		j.deriveKey = appendFKIndexKey(j.deriveKey[:0], fk, lk)
		return st.Put(j.deriveKey, nil)
	}
	return nil
}

// sameForeignKey reports whether two left rows' foreign keys are the
// same: a NULL one (nil) is the same only as another NULL, not as an
// empty key.
func sameForeignKey(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// decodeLeft is decodeChange of a left record, into j.leftRow's memory
// when the left table's decoder is a source's (a new row for each of
// Nexmark q7's bids was a tenth of the left side's CPU). Its strings are
// views of rec's bytes when aliasLeft is set, copies otherwise.
func (j *ForeignKeyJoin) decodeLeft(rec *log.Record) (types.Row, int64, error) {
	return decodeChangeInto(&j.Spec.Left, &j.leftRow, rec, j.aliasLeft)
}

// leftAliases reports whether a foreign-key join of s decodes its left
// rows with their strings sharing the record's bytes (serde's
// Projection.Alias) rather than copied: when the left table's decoder
// is a source's that reads a STRING or BYTES value column, and the join
// is inner. Such a row is read while the record is in hand (its foreign
// key, its stored entry: both copies) and dropped before the next; only
// a joined row, which the output may keep, needs copies, and left
// decodes the row again for it, which an inner join does only when the
// row's right row is stored. Nexmark q7's bids carry a 500-byte extra
// column, copied to a fresh string for each of 920,000 bids of which a
// few hundred join; LEFT keeps every row, each joined (with NULLs).
func leftAliases(s *ForeignKeySpec) bool {
	d, ok := s.Left.Decoder.(*Decoder)
	if !ok || s.KeepLeft {
		return false
	}
	for i, c := range d.valCols {
		read := d.valProj.Skip == nil || !d.valProj.Skip[i]
		if k := c.Type.Kind; read && (k == types.KindString || k == types.KindBytes) {
			return true
		}
	}
	return false
}

// decodeChangeInto is decodeChange into *buf's memory (grown when it
// lacks room) when side's decoder is a source's, with its strings
// sharing rec's bytes when alias is set (serde's Projection.Alias).
func decodeChangeInto(side *TableSide, buf *types.Row, rec *log.Record, alias bool) (types.Row, int64, error) {
	d, ok := side.Decoder.(*Decoder)
	if !ok || rec.Value == nil {
		return decodeChange(side, rec)
	}
	if cap(*buf) < d.width {
		*buf = make(types.Row, d.width)
	}
	row := (*buf)[:d.width]
	clear(row) // a column the record lacks is NULL, not the last row's
	vp := &d.valProj
	if alias {
		vp = &d.valAlias
	}
	if err := d.decodeInto(rec, row, vp); err != nil {
		return nil, 0, err
	}
	return row, row[side.TimeIndex].Int(), nil
}

// right applies a change of a right row and re-joins every left row that
// points at it.
func (j *ForeignKeyJoin) right(rec *log.Record, emit Emit) error {
	s := j.Spec
	row, ts, err := decodeChangeInto(&s.Right, &j.rightRow, rec, false)
	if err != nil {
		return err
	}
	if j.pair.filtered(true, row) {
		// A delete of the key for the join, at the row's time: each
		// result it ends is ended at the time the WHERE would have.
		row = nil
	}
	rk := j.key(rightRowPrefix, rec.Key)
	if row == nil {
		err = j.Store.Delete(rk)
	} else {
		j.rights.add(rec.Key)
		err = storePutOwned(j.Store, rk, storedTableRow(&s.Right, row, ts))
	}
	if err != nil {
		return err
	}
	// One left row that fails to join (a projection error) does not keep
	// the others from their change: the first error is the record's.
	var first error
	rejoin := func(key []byte) {
		if err := j.rejoin(key, row, ts, emit); err != nil && first == nil {
			first = fmt.Errorf("left row %x: %w", key, err)
		}
	}
	if keys, ok := j.index.read(rec.Key, row == nil); ok {
		// The joins below change no foreign key, so the cached keys stay
		// as they are meanwhile.
		for _, key := range keys {
			// The key's bytes without a copy: a join reads the key
			// it is given, and copies what it keeps.
			rejoin(unsafe.Slice(unsafe.StringData(key), len(key)))
		}
		return first
	}
	if may, err := j.fks.mayHave(j.Store, j.Memory, rec.Key); err != nil || !may {
		// No left row has pointed at this right row since the filter
		// was loaded, nor did one then: nothing to rejoin, and no scan.
		return err
	}
	prefix := indexPrefix(rec.Key)
	end := state.PrefixEnd(prefix)
	start := prefix
	for whole := true; ; whole = false {
		// A chunk of the left keys at a time; the joins below write
		// only other prefixes, so the index stays as scanned.
		var keys [][]byte
		err := j.Store.Scan(start, end, func(k, _ []byte) bool {
			keys = append(keys, append([]byte(nil), k[len(prefix):]...))
			return len(keys) < fkScanChunk
		})
		if err != nil {
			return err
		}
		if whole && len(keys) < fkScanChunk {
			// Every left key of the foreign key, in one chunk: kept for
			// its next change.
			j.index.put(rec.Key, keys)
		}
		for _, key := range keys {
			rejoin(key)
		}
		if len(keys) < fkScanChunk {
			return first
		}
		// The next chunk starts just after the last key.
		start = append(append(append([]byte(nil), prefix...), keys[len(keys)-1]...), 0)
	}
}

// rejoin joins the left row of key with r, a right row that changed at
// ts (nil: it was deleted).
func (j *ForeignKeyJoin) rejoin(key []byte, r types.Row, ts int64, emit Emit) error {
	s := j.Spec
	v, ok, err := storeView(j.Store, j.key(leftRowPrefix, key))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: an indexed left row is missing", errCorruptState)
	}
	_, stored, err := splitLeftEntry(v)
	if err != nil {
		return err
	}
	l, err := decodeStoredInto(j.leftBuf, s.Left.Decoder, s.Left.Width, s.Left.TimeIndex, key, stored)
	if err != nil {
		return err
	}
	if len(stored) > 8 && stored[8] == tableRowFlag {
		// The row is in the buffer (a row of the old format is the
		// decoder's).
		j.leftBuf = l[:0]
	}
	t := max(ts, l[s.Left.TimeIndex].Int())
	joined, err := j.pair.join(l, r, t)
	if err != nil {
		return err
	}
	return j.Output(key, joined, t, emit)
}

// fkFilter is a Bloom filter (seen.go) of the foreign keys a foreign-key
// join's index has had entries under since the task (re)started, and
// those it had then, so that a right row no left row points at (a new
// person in Nexmark's q3, whose auctions mostly come later) is known to
// have none without a scan of the index, which seeks every memtable and
// level (a range scan cannot use the tables' Bloom filters). It is loaded
// by one scan of the index the first time a right change needs it, and
// takes each foreign key the join indexes a left row under; a foreign key
// whose entries are all deleted stays in it. Past tableJoinFilterKeys
// foreign keys, or past its share of the engine's cache budget, it is
// given up, and every right change scans.
//
// With rights set it holds the keys of the right rows stored instead
// ('r' keys; ForeignKeyJoin.rights), loaded by a scan of those.
type fkFilter struct {
	f      seenFilter
	keys   int
	state  uint8 // filterUnloaded, filterOn or filterOff
	rights bool
	// share is the filter's share of the budget (weight
	// tableJoinFilterBytes), drawn at the first load and kept across
	// resets.
	share *membudget.Share
}

// reset empties the filter into state, keeping its share.
func (f *fkFilter) reset(state uint8) {
	f.f, f.keys, f.state = seenFilter{}, 0, state
	if f.share != nil {
		f.share.Use(0)
	}
}

// limit is what the filter may hold now; it reports what it holds.
func (f *fkFilter) limit() int {
	f.share.Use(f.f.size())
	return f.share.Bytes()
}

// mayHave reports whether the index of st may have entries under fk.
// Its first load draws the filter's share from acct.
func (f *fkFilter) mayHave(st state.Store, acct *membudget.Account, fk []byte) (bool, error) {
	if f.state == filterUnloaded {
		if f.share == nil {
			f.share = acct.Share(tableJoinFilterBytes)
		}
		if err := f.load(st); err != nil {
			return true, err
		}
	}
	if f.state != filterOn {
		return true, nil
	}
	return f.f.mayHave(seenHash(fk)), nil
}

// add records that the index has an entry under fk, and reports whether
// it is the first: the index is known to have had none under fk since
// the filter was loaded, nor then. One probe answers both (a left change
// of Nexmark q7 asked twice, each a cache miss).
func (f *fkFilter) add(fk []byte) (first bool) {
	if f.state != filterOn {
		// Unloaded: the load will find the entry in the store.
		return false
	}
	h := seenHash(fk)
	if f.f.mayHave(h) {
		return false
	}
	if f.keys++; f.keys > tableJoinFilterKeys || !filterFits(&f.f, f.limit) {
		f.reset(filterOff)
		return true
	}
	f.f.add(h)
	return true
}

// load fills the filter with the foreign keys of the index of st.
func (f *fkFilter) load(st state.Store) error { return f.loadSized(st, 0) }

// loadSized is load with a first layer sized for capacity foreign keys,
// when that fits half the filter's share.
func (f *fkFilter) loadSized(st state.Store, capacity int) error {
	f.reset(filterOn)
	if capacity = min(capacity, tableJoinFilterKeys); capacity > seenFirstKeys && newBloomLayerBytes(capacity) <= f.limit()/2 {
		f.f.layers = []bloomLayer{newBloomLayer(capacity)}
	}
	var bad, over bool
	p := byte(fkIndexPrefix)
	if f.rights {
		p = rightRowPrefix
	}
	err := st.Scan([]byte{p}, []byte{p + 1}, func(k, _ []byte) bool {
		fk := k[1:]
		if !f.rights {
			if len(k) < 5 || int(be32(k[1:])) > len(k)-5 {
				bad = true
				return false
			}
			fk = k[5 : 5+int(be32(k[1:]))]
		}
		h := seenHash(fk)
		if f.f.mayHave(h) {
			return true
		}
		if f.keys++; f.keys > tableJoinFilterKeys || !filterFits(&f.f, f.limit) {
			over = true
			return false
		}
		f.f.add(h)
		return true
	})
	switch {
	case err != nil:
		f.reset(filterUnloaded)
		return err
	case bad:
		f.reset(filterUnloaded)
		return fmt.Errorf("%w: a foreign-key index entry too short", errCorruptState)
	case over:
		f.reset(filterOff)
	default:
		f.share.Use(f.f.size())
	}
	return nil
}

// fkIndexCacheBytes bounds a foreign-key join task's fkIndexCache: its
// weight in the engine's budget, its fixed bound outside it.
const fkIndexCacheBytes = 4 << 20

// fkIndexCacheEntry is what a cached foreign key or left key costs beside
// its bytes.
const fkIndexCacheEntry = 48

// fkIndexCache holds, for the foreign keys right rows recently changed
// at, every left key the index has under them (fewer than fkScanChunk),
// in key order; an empty list when there are none. A right row that
// changes again (Nexmark's q5 and q7 update their right rows for nearly
// every bid) then finds the rows it reaches without a scan of the store,
// which seeks every memtable and level, a range scan being unable to use
// the tables' Bloom filters. Left changes keep the cached lists exact as
// they write the index. It holds at most about fkIndexCacheBytes, and
// forgets everything when full; the join forgets it on Recover, and when
// a write of the index fails.
type fkIndexCache struct {
	keys  map[string]*fkIndexList
	bytes int
	// share bounds bytes (nil: fkIndexCacheBytes).
	share *membudget.Share
	// arrivals counts the right rows that came to a list put ahead of
	// them, again the right changes that were a delete or found a list
	// a right change had read before: how often the right table's rows
	// change again after they came (keepArrived).
	arrivals, again int
	// aheads judges putting lists ahead: done when one is put, paid
	// off when a right row comes to it (wantAhead).
	aheads payoff
}

// The policy of wantAhead (payoffPolicy): the lists put ahead before it
// judges (aheadWarmup), the least share of them a right row must come to
// for every list to be put ahead (one in aheadRatio), the share put
// ahead below it (one in aheadSample), and the counts' window.
const (
	aheadWarmup = 1 << 10
	aheadRatio  = 32
	aheadSample = 16
	aheadWindow = 1 << 14
)

var aheadPolicy = payoffPolicy{warmup: aheadWarmup, ratio: aheadRatio, sample: aheadSample, window: aheadWindow}

// wantAhead reports whether a left change whose right row is yet to
// come should put its list ahead (putAhead). A list a right row comes
// to saves that row's arrival a scan of the index; one it never comes
// to costs a map entry, its strings, and every later left change under
// its foreign key a sorted insert, and fills the cache, which forgets
// everything when full. In Nexmark's q7 a left row's foreign key is its
// window and price, and a right row comes only for a window's highest:
// of 600,000 lists put ahead per million events none saw its right row,
// and putting them (with the adds they cost) was a sixth of the join's
// left side. In q3 a seller often registers after their auction (right
// rows came to 477 of 1,521 lists put ahead), and every list is put.
func (c *fkIndexCache) wantAhead() bool { return c.aheads.worth(aheadPolicy) }

// fkIndexList is a cached foreign key's left keys. ahead is set when a
// left change put it for a right row yet to come, and cleared once a
// right change reads it.
type fkIndexList struct {
	keys  []string
	ahead bool
}

// limit is what the cache may hold now, reported with what it holds.
func (c *fkIndexCache) limit() int {
	if c.share == nil {
		return fkIndexCacheBytes
	}
	c.share.Use(c.bytes)
	return c.share.Bytes()
}

// read returns fk's cached left keys for a right change at fk (a delete
// when deleted), and counts the change. It forgets the list when the
// right row has just come to it and the right table's rows seldom change
// again (keepArrived): a list no later right change reads costs every
// left change under fk a sorted insert (Nexmark q3's auctions of a
// seller, whose person never changes). The keys stay valid.
func (c *fkIndexCache) read(fk []byte, deleted bool) ([]string, bool) {
	l, ok := c.keys[string(fk)]
	switch {
	case ok && l.ahead:
		l.ahead = false
		c.aheads.paidOff()
		c.count(true)
		if !deleted && !c.keepArrived() {
			c.drop(fk, l.keys)
		}
	case ok || deleted:
		// A change of a row that had come, or a delete (whose row had
		// come, or its list would be ahead, or it deletes nothing).
		c.count(false)
	}
	if !ok {
		return nil, false
	}
	return l.keys, true
}

// count records a right change read has seen: an arrival at a list put
// ahead, or a change again (one that found a list read before, or a
// delete). The counts are halved now and then, so
// that they follow the table's recent behaviour.
func (c *fkIndexCache) count(arrival bool) {
	if arrival {
		c.arrivals++
	} else {
		c.again++
	}
	if c.arrivals+c.again > 1<<12 {
		c.arrivals, c.again = c.arrivals/2, c.again/2
	}
}

// keepArrived reports whether a list a right row has just come to is
// worth keeping: whether right rows change again after they come often
// enough (one in eight) that its next change would scan the index for
// it otherwise. A list forgotten costs that change one scan, after
// which the list is cached, and found again.
func (c *fkIndexCache) keepArrived() bool {
	return 8*c.again >= c.arrivals
}

// put caches keys as every left key of fk.
func (c *fkIndexCache) put(fk []byte, keys [][]byte) { c.store(fk, keys, false) }

// putAhead caches keys as every left key of fk, whose right row is yet
// to come, and counts the list (wantAhead).
func (c *fkIndexCache) putAhead(fk []byte, keys [][]byte) {
	c.aheads.did(aheadPolicy)
	c.store(fk, keys, true)
}

// store is put, with the list's ahead.
func (c *fkIndexCache) store(fk []byte, keys [][]byte, ahead bool) {
	n := len(fk) + fkIndexCacheEntry
	list := make([]string, len(keys))
	for i, k := range keys {
		list[i] = string(k)
		n += len(k) + fkIndexCacheEntry
	}
	if c.keys == nil || c.bytes+n > c.limit() {
		c.reset()
	}
	if old, ok := c.keys[string(fk)]; ok {
		c.drop(fk, old.keys)
	}
	c.keys[string(fk)] = &fkIndexList{keys: list, ahead: ahead}
	c.bytes += n
}

// add records that the left row key is now indexed under fk.
func (c *fkIndexCache) add(fk, key []byte) {
	l, ok := c.keys[string(fk)]
	if !ok {
		return
	}
	// Left keys often come in key order (Nexmark's auction ids grow):
	// such a key goes at the end without a search.
	i, found := len(l.keys), false
	if i > 0 && string(key) <= l.keys[i-1] {
		if i, found = slices.BinarySearch(l.keys, string(key)); found {
			return
		}
	}
	if len(l.keys)+1 >= fkScanChunk || c.bytes+len(key)+fkIndexCacheEntry > c.limit() {
		// Too many to cache, or no room: the store's index answers.
		c.drop(fk, l.keys)
		return
	}
	l.keys = slices.Insert(l.keys, i, string(key))
	c.bytes += len(key) + fkIndexCacheEntry
}

// remove records that the left row key is no longer indexed under fk.
func (c *fkIndexCache) remove(fk, key []byte) {
	l, ok := c.keys[string(fk)]
	if !ok {
		return
	}
	if i, found := slices.BinarySearch(l.keys, string(key)); found {
		l.keys = slices.Delete(l.keys, i, i+1)
		c.bytes -= len(key) + fkIndexCacheEntry
	}
}

// drop forgets fk's list.
func (c *fkIndexCache) drop(fk []byte, list []string) {
	delete(c.keys, string(fk))
	c.bytes -= len(fk) + fkIndexCacheEntry
	for _, k := range list {
		c.bytes -= len(k) + fkIndexCacheEntry
	}
}

// reset forgets everything but the counts.
func (c *fkIndexCache) reset() {
	c.keys, c.bytes = make(map[string]*fkIndexList), 0
}
