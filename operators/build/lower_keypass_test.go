package build

import (
	"testing"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// TestKeyPass: a projection passes its input's key through only when
// its key columns are bare references to every input key column, each
// once (operators.Pipeline.KeyPass).
func TestKeyPass(t *testing.T) {
	in := []types.Column{
		{Name: "K", Type: types.Int, Key: true},
		{Name: "K2", Type: types.Int, Key: true},
		{Name: "V", Type: types.Int},
	}
	ref := func(i int) expr.Expr { return &expr.Column{Index: i, Name: in[i].Name, T: in[i].Type} }
	key := func(name string) types.Column { return types.Column{Name: name, Type: types.Int, Key: true} }
	val := func(name string) types.Column { return types.Column{Name: name, Type: types.Int} }
	tests := []struct {
		name  string
		out   []types.Column
		exprs []expr.Expr
		want  bool
	}{
		{"select *", []types.Column{key("K"), key("K2"), val("V")}, []expr.Expr{ref(0), ref(1), ref(2)}, true},
		{"renamed, reordered", []types.Column{key("B"), key("A"), val("V")}, []expr.Expr{ref(1), ref(0), ref(2)}, true},
		{"one key column left out", []types.Column{key("K"), val("V")}, []expr.Expr{ref(0), ref(2)}, false},
		{"a value column as key", []types.Column{key("K"), key("V")}, []expr.Expr{ref(0), ref(2)}, false},
		{"a key column twice", []types.Column{key("K"), key("K_2")}, []expr.Expr{ref(0), ref(0)}, false},
		{"a computed key", []types.Column{key("K"), key("K2")}, []expr.Expr{ref(0), &expr.Literal{Value: types.NewInt(1), T: types.Int}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := keyPass(tc.out, tc.exprs, in); got != tc.want {
				t.Errorf("keyPass = %v, want %v", got, tc.want)
			}
		})
	}
	if keyPass([]types.Column{val("V")}, []expr.Expr{ref(2)}, []types.Column{{Name: "V", Type: types.Int}}) {
		t.Error("keyPass of a key-less input = true, want false")
	}
}
