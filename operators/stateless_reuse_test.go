package operators

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// TestStatelessReusesRows: a stateless task decodes every record into one
// row, projects into another and encodes into shared chunks (Stateless.in,
// out, buf). Its output must be what decoding, projecting and encoding
// each record afresh gives: a column a record lacks is NULL, not the
// previous record's; strings with escapes, non-ASCII and records larger
// than a chunk come through; and every output record's bytes stay as they
// were written while the records after it are encoded, since a batch's
// records all wait for one commit.
func TestStatelessReusesRows(t *testing.T) {
	src := []types.Column{{Name: "ID", Type: types.Bigint}, {Name: "NAME", Type: types.String}, {Name: "N", Type: types.Int}}
	id := &expr.Column{Index: 0, Name: "ID", T: types.Bigint}
	name := &expr.Column{Index: 1, Name: "NAME", T: types.String}
	n := &expr.Column{Index: 2, Name: "N", T: types.Int}
	out := []types.Column{{Name: "NAME", Type: types.String}, {Name: "ID", Type: types.Bigint}, {Name: "N", Type: types.Int}}

	var recs []log.Record
	for i := range 3000 {
		var v string
		switch i % 6 {
		case 0:
			v = fmt.Sprintf(`{"ID":%d,"NAME":"plain %d","N":%d}`, i, i, i%100)
		case 1:
			v = fmt.Sprintf(`{"ID":%d}`, i) // NAME and N absent: NULL
		case 2:
			v = fmt.Sprintf(`{"NAME":"esc\\\\aped \"%d\" \u00e9t\u00e9 \n","ID":%d}`, i, i)
		case 3:
			v = fmt.Sprintf(`{"ID":%d,"NAME":"%s","N":1}`, i, strings.Repeat("long/", 20+i%7))
		case 4:
			v = fmt.Sprintf(`{"ID":%d,"NAME":"%s"}`, i, strings.Repeat("x", 70_000)) // more than a chunk
		case 5:
			// Text the encoder writes otherwise: not passed through.
			v = []string{`{"NAME":"été ünïcode"}`, `{"ID":-0,"NAME":"a\/b","N":"12"}`, `{"ID":1e2,"N":3.0}`,
				`{"id":5,"ID":6,"name":"lower","NAME":"upper"}`, `{"ID":7,"NAME":null,"N":null}`, `{ "ID" : 8 , "NAME" : "sp" }`}[i%36/6]
		}
		recs = append(recs, log.Record{Value: []byte(v), Timestamp: int64(i), Offset: int64(i)})
	}
	dec, err := NewDecoder(DecoderSpec{Columns: src, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	newEnc := func() *Encoder {
		enc, err := NewEncoder(out, "NONE", "JSON", serde.Props{})
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	for _, pc := range []struct {
		name string
		pipe *Pipeline
		pass int // output columns passed through as text
	}{
		// NAME, ID and N pass through, none of them built.
		{"copies", &Pipeline{Project: []expr.Expr{name, id, n}, TimeIndex: 3}, 3},
		// NAME is read by the filter, so built, and passed through too;
		// UCASE(NAME) is computed.
		{"a filter reads one", &Pipeline{Filter: nameIsSet{name}, Project: []expr.Expr{name, id, n}, TimeIndex: 3}, 3},
		{"computed", &Pipeline{Project: []expr.Expr{upper{name}, id, n}, TimeIndex: 3}, 2},
	} {
		t.Run(pc.name, func(t *testing.T) {
			pipe := pc.pipe
			s := &Stateless{Decoder: dec, Pipeline: pipe, Encoder: newEnc(), Sink: "out"}
			var got []log.Record
			for i := range recs {
				if err := s.Process(&recs[i], func(r log.ProduceRecord) { got = append(got, r.Record) }); err != nil {
					t.Fatalf("record %d %s: %v", i, recs[i].Value, err)
				}
			}
			passed := 0
			if s.pass != nil {
				for _, at := range s.pass.from {
					if at >= 0 {
						passed++
					}
				}
			}
			if passed != pc.pass {
				t.Fatalf("%d columns passed through, want %d", passed, pc.pass)
			}
			fresh := newEnc()
			var want []log.Record
			for i := range recs {
				row, ok, err := dec.Decode(&recs[i])
				if err != nil || !ok {
					t.Fatalf("record %d: %v %v", i, ok, err)
				}
				o, ts, ok, err := pipe.Apply(row)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					continue
				}
				w, err := fresh.Encode(o, ts)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, w)
			}
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i].Value, want[i].Value) || got[i].Timestamp != want[i].Timestamp || got[i].Key != nil {
					t.Fatalf("record %d:\ngot  %.200s @%d\nwant %.200s @%d", i, got[i].Value, got[i].Timestamp, want[i].Value, want[i].Timestamp)
				}
			}
		})
	}
}

// upper is UCASE(col), an Expr of this package's (whose reads Share and
// the pass-through planning cannot see: they must assume it reads all).
type upper struct{ col *expr.Column }

func (u upper) Type() types.Type { return types.String }
func (u upper) String() string   { return "UCASE(" + u.col.String() + ")" }
func (u upper) Eval(row types.Row) (types.Value, error) {
	v := row[u.col.Index]
	if v.IsNull() {
		return v, nil
	}
	return types.NewString(strings.ToUpper(v.Str())), nil
}

// TestOutBuf: the slices an outBuf hands out never overlap, never grow
// into each other, and an empty encoding is empty bytes, not nil (nil is
// a tombstone).
func TestOutBuf(t *testing.T) {
	var o outBuf
	var got [][]byte
	for i := range 5000 {
		dst := o.room()
		start := len(dst)
		v := o.take(append(dst, strings.Repeat(string(rune('a'+i%26)), i%700)...), start)
		if v == nil {
			t.Fatalf("record %d: nil bytes", i)
		}
		if cap(v) != len(v) {
			t.Fatalf("record %d: cap %d beyond its length %d: an append would overwrite the next", i, cap(v), len(v))
		}
		got = append(got, v)
	}
	for i, v := range got {
		if want := strings.Repeat(string(rune('a'+i%26)), i%700); string(v) != want {
			t.Fatalf("record %d was overwritten: %.20q", i, v)
		}
	}
}

// TestOutBufRecycle: after recycle, a batch's chunks are handed out again
// (no new chunk while the free ones last), no more than outFreeChunks are
// kept, and the slices of the batch in progress never overlap; forget
// drops the chunks in use, which are then never handed out again.
func TestOutBufRecycle(t *testing.T) {
	var o outBuf
	fill := func(records, size int) [][]byte {
		var got [][]byte
		for i := range records {
			dst := o.room()
			start := len(dst)
			got = append(got, o.take(append(dst, strings.Repeat(string(rune('a'+i%26)), size)...), start))
		}
		for i, v := range got {
			if want := strings.Repeat(string(rune('a'+i%26)), size); string(v) != want {
				t.Fatalf("record %d of its batch was overwritten: %.20q", i, v)
			}
		}
		return got
	}
	// held are the chunks o holds now (in use, free and current), as
	// address ranges.
	held := func() [][2]uintptr {
		var r [][2]uintptr
		for _, c := range append(append(append([][]byte(nil), o.used...), o.free...), o.b) {
			if cap(c) > 0 {
				p := uintptr(unsafe.Pointer(unsafe.SliceData(c)))
				r = append(r, [2]uintptr{p, p + uintptr(cap(c))})
			}
		}
		return r
	}
	in := func(v []byte, chunks [][2]uintptr) bool {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
		for _, c := range chunks {
			if p >= c[0] && p < c[1] {
				return true
			}
		}
		return false
	}
	fill(2000, 200) // about 400 KB: 7 chunks
	o.recycle()
	if len(o.free) == 0 {
		t.Fatalf("no chunk kept for reuse")
	}
	before := held()
	reused := 0
	for _, v := range fill(2000, 200) {
		if in(v, before) {
			reused++
		}
	}
	if reused != 2000 {
		t.Fatalf("%d of 2000 records of the second batch went into the first's chunks, want all", reused)
	}
	// A batch of 5 MB: at most outFreeChunks chunks are kept.
	fill(25000, 200)
	o.recycle()
	if len(o.free) > outFreeChunks {
		t.Fatalf("%d chunks kept, want at most %d", len(o.free), outFreeChunks)
	}
	// forget: the chunks in use are never handed out again.
	o.free = nil
	fill(500, 200)
	inUse := held()
	o.forget()
	for i, v := range fill(3000, 200) {
		if in(v, inUse) {
			t.Fatalf("record %d went into a chunk forgotten in use", i)
		}
	}
}

// TestStatelessPassThroughMixedText: a passed-through column whose text
// is canonical is copied and not computed (its output place keeps a
// stale value, which the encoder must ignore), and one whose text is not
// is built and encoded afresh; records alternating between the two, and
// a NULL, each come out as their own values.
func TestStatelessPassThroughMixedText(t *testing.T) {
	cols := []types.Column{{Name: "S", Type: types.String}, {Name: "V", Type: types.Bigint}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(cols, "NONE", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Stateless{Decoder: dec, Encoder: enc, Sink: "out", Pipeline: &Pipeline{
		Project: []expr.Expr{&expr.Column{Index: 0, Name: "S", T: types.String}, &expr.Column{Index: 1, Name: "V", T: types.Bigint}}, TimeIndex: 2}}
	for i, tc := range []struct{ in, want string }{
		{`{"S":"a\/b","V":1}`, `{"S":"a/b","V":1}`},        // S built: \/ is written /
		{`{"S":"plain","V":2}`, `{"S":"plain","V":2}`},     // both copied
		{`{"S":"x\u0041","V":3}`, `{"S":"xA","V":3}`},      // S built again
		{`{"S":null,"V":4}`, `{"S":null,"V":4}`},           // a NULL's text
		{`{"V":5}`, `{"S":null,"V":5}`},                    // an absent member is NULL
		{`{"S":"last","V":6}`, `{"S":"last","V":6}`},       // copied once more
		{`{"S":"\"q\"","V":7}`, `{"S":"\"q\"","V":7}`},     // escapes written so: copied
		{`{"S":"tab\u0009","V":8}`, `{"S":"tab\t","V":8}`}, // built
	} {
		rec := log.Record{Value: []byte(tc.in), Timestamp: int64(i)}
		var got []string
		if err := s.Process(&rec, func(pr log.ProduceRecord) { got = append(got, string(pr.Value)) }); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Fatalf("record %d %s: got %q, want %s", i, tc.in, got, tc.want)
		}
	}
}
