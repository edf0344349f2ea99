package serde

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// sameValue reports whether a and b are the same value of the same kind
// (types.Equal calls INT 1 and BIGINT 1 equal; a codec must not), with
// decimals of the same scale.
func sameValue(a, b types.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case types.KindDecimal:
		ad, as := a.Decimal()
		bd, bs := b.Decimal()
		return as == bs && ad.Cmp(bd) == 0
	case types.KindArray, types.KindStruct, types.KindMap:
		al, bl := a.List(), b.List()
		if len(al) != len(bl) {
			return false
		}
		for i := range al {
			if !sameValue(al[i], bl[i]) {
				return false
			}
		}
		return true
	}
	return types.Equal(a, b)
}

func sameRow(a, b types.Row) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

func showRow(r types.Row) string {
	if r == nil {
		return "<nil row>"
	}
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = showValue(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func showValue(v types.Value) string {
	switch v.Kind() {
	case types.KindNull:
		return "NULL"
	case types.KindDecimal:
		d, s := v.Decimal()
		return fmt.Sprintf("DECIMAL(%s,%d)", d, s)
	case types.KindDouble:
		return fmt.Sprintf("DOUBLE(%v)", v.Float())
	case types.KindString, types.KindBytes:
		return fmt.Sprintf("%s(%q)", v.Kind(), v.Str())
	case types.KindArray, types.KindStruct, types.KindMap:
		return v.Kind().String() + showRow(v.List())
	}
	return fmt.Sprintf("%s(%d)", v.Kind(), v.Int())
}

func dec(s string, scale int32) types.Value {
	d, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return types.NewDecimal(d, scale)
}

func col(name string, t types.Type) types.Column { return types.Column{Name: name, Type: t} }

func mustValue(t *testing.T, name string, cols []types.Column, p Props) ValueFormat {
	t.Helper()
	f, err := NewValueFormat(name, cols, p)
	if err != nil {
		t.Fatalf("NewValueFormat(%s): %v", name, err)
	}
	return f
}

func mustKey(t *testing.T, name string, cols []types.Column, p Props) KeyFormat {
	t.Helper()
	f, err := NewKeyFormat(name, cols, p)
	if err != nil {
		t.Fatalf("NewKeyFormat(%s): %v", name, err)
	}
	return f
}

// wantDecodeErr checks err wraps ErrDecode and mentions every fragment.
func wantDecodeErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if !errors.Is(err, ErrDecode) {
		t.Fatalf("error %v does not wrap ErrDecode", err)
	}
	if sqlstate.Of(err) != sqlstate.InvalidText {
		t.Fatalf("SQLSTATE %q, want 22P02", sqlstate.Of(err))
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error %q does not mention %q", err, f)
		}
	}
}
