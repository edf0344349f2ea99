package operators

import (
	"strconv"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// TestDecoderReads decodes a source whose key column sits between value
// columns, reading only some columns: unread ones are NULL, the TIMESTAMP
// column is read all the same, and a record whose unread column does not
// convert is refused as when every column is read.
func TestDecoderReads(t *testing.T) {
	cols := []types.Column{
		{Name: "A", Type: types.Bigint}, {Name: "K", Type: types.String, Key: true},
		{Name: "B", Type: types.String}, {Name: "T", Type: types.Bigint},
	}
	rec := func(v string) *log.Record {
		return &log.Record{Key: []byte("key"), Value: []byte(v), Timestamp: 7, Partition: 1, Offset: 9}
	}
	for _, tc := range []struct {
		name  string
		read  []bool
		value string
		want  string // the row, or "error: ..."
	}{
		{"every column", nil, `{"a":1,"b":"x","t":5}`, "1 'key' 'x' 5 | 5 1 9"},
		{"only the key and B", []bool{false, true, true, false}, `{"a":1,"b":"x","t":5}`, "NULL 'key' 'x' 5 | 5 1 9"},
		{"nothing but the timestamp", []bool{false, false, false, false}, `{"a":1,"b":"x","t":5}`, "NULL NULL NULL 5 | 5 1 9"},
		{"an unread column that does not convert", []bool{false, true, true, false}, `{"a":"one","b":"x","t":5}`, "error: A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "KAFKA", ValueFormat: "JSON", TimestampColumn: "T", Read: tc.read})
			if err != nil {
				t.Fatal(err)
			}
			row, ok, err := d.Decode(rec(tc.value))
			if want, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("Decode = %v, %v; want an error about %s", row, err, want)
				}
				return
			}
			if err != nil || !ok {
				t.Fatalf("Decode: %v, ok %v", err, ok)
			}
			var parts []string
			for i, v := range row {
				if i == len(cols) {
					parts = append(parts, "|")
				}
				switch v.Kind() {
				case types.KindNull:
					parts = append(parts, "NULL")
				case types.KindString:
					parts = append(parts, "'"+v.Str()+"'")
				default:
					parts = append(parts, strconv.FormatInt(v.Int(), 10))
				}
			}
			if got := strings.Join(parts, " "); got != tc.want {
				t.Fatalf("row %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "KAFKA", ValueFormat: "JSON", Read: []bool{true}}); err == nil {
		t.Fatalf("read marks of the wrong length were accepted")
	}
}
