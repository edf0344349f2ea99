package operators

import (
	"math"
	"math/big"
	"reflect"
	"slices"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestDecodeJoinColumnsMatchesDecodeJoinRow: the columns decodeJoinColumns
// gives (its fast path for BIGINT and TIMESTAMP included) are the row
// decodeJoinRow gives, the columns not held being NULL there; and every
// truncation of a stored row is an error for both.
func TestDecodeJoinColumnsMatchesDecodeJoinRow(t *testing.T) {
	row := types.Row{
		types.NewBigint(0), types.NewBigint(-1), types.NewBigint(math.MaxInt64), types.NewBigint(math.MinInt64),
		types.NewTimestamp(1_700_000_000_123), types.NewTimestamp(-5), types.NewInt(-7), types.NewDouble(2.5),
		types.NewString("héllo"), types.NewBytes([]byte{0, 1}), types.NullValue, types.NewDate(19000),
		types.NewDecimal(big.NewInt(-12345), 2), types.NewArray([]types.Value{types.NewBigint(3), types.NullValue}),
		types.NewBoolean(true),
	}
	for _, keep := range [][]int{nil, {0, 4, 8}, {2, 3, 12, 13}, {}} {
		b := appendJoinRow(nil, row, keep)
		want, err := decodeJoinRow(b, len(row))
		if err != nil {
			t.Fatalf("keep %v: decodeJoinRow: %v", keep, err)
		}
		cols, vals, err := decodeJoinColumns(nil, nil, b, len(row))
		if err != nil {
			t.Fatalf("keep %v: decodeJoinColumns: %v", keep, err)
		}
		got := make(types.Row, len(row))
		for i, c := range cols {
			got[c] = vals[i]
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("keep %v: columns %v %v, want the row %v", keep, cols, got, want)
		}
		if keep != nil && !slices.Equal(cols, toInt32(keep)) {
			t.Errorf("keep %v: columns %v", keep, cols)
		}
		for n := range len(b) {
			_, errRow := decodeJoinRow(b[:n], len(row))
			_, _, errCols := decodeJoinColumns(nil, nil, b[:n], len(row))
			if errRow == nil || errCols == nil {
				t.Errorf("keep %v, %d of %d bytes: decodeJoinRow %v, decodeJoinColumns %v", keep, n, len(b), errRow, errCols)
			}
		}
	}
}

func toInt32(s []int) []int32 {
	out := make([]int32, len(s))
	for i, v := range s {
		out[i] = int32(v)
	}
	return out
}

// TestStreamStreamJoinStoredRows: stored rows decoded once and kept
// (storedRows) give each pair its own record's columns: two records whose
// places share a cache entry (offsets 0 and storedRowsSize), met twice,
// in the index and in the store alone; and a record stored with fewer
// columns (another plan's) after one with all of them comes with NULL
// where it holds nothing, not the other's value.
func TestStreamStreamJoinStoredRows(t *testing.T) {
	for _, indexBytes := range []int{0, -1} {
		f := newWindowFixture(t, within{100, 100, 1 << 40, "inner"}, NewOrderedMemStore(), nil)
		f.j.IndexBytes = indexBytes
		f.step(t, "l x A@100")
		f.offsets[0] = storedRowsSize
		f.step(t, "l x B@101")
		f.step(t, "r x a@105")
		f.step(t, "r x b@106")
		// K and ROWTIME only: V is not stored.
		f.j.Spec.Sides[0].Stored = []int{0, 2}
		f.step(t, "l x C@102")
		f.j.Spec.Sides[0].Stored = nil
		f.step(t, "r x c@107")
		want := []string{
			"A a x @105", "B a x @105",
			"A b x @106", "B b x @106",
			"C a x @105", "C b x @106", // C meets a and b (its own V)
			"A c x @107", "B c x @107", "NULL c x @107",
		}
		if !slices.Equal(f.got, want) {
			t.Errorf("index bytes %d: got\n%q\nwant\n%q", indexBytes, f.got, want)
		}
	}
}
