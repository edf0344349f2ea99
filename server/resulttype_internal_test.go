package server

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestSameResultType: what decides whether an execution's rows still fit
// the columns described when its statement was prepared (else 0A000).
func TestSameResultType(t *testing.T) {
	described := []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "A", Type: types.Decimal(4, 2)}}
	for _, tc := range []struct {
		name string
		now  []types.Column
		want bool
	}{
		{"same", []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "A", Type: types.Decimal(4, 2)}}, true},
		{"key mark is not described", []types.Column{{Name: "ID", Type: types.Int}, {Name: "A", Type: types.Decimal(4, 2)}}, true},
		{"column added", []types.Column{{Name: "ID", Type: types.Int}, {Name: "A", Type: types.Decimal(4, 2)}, {Name: "C", Type: types.Int}}, false},
		{"column gone", []types.Column{{Name: "ID", Type: types.Int}}, false},
		{"renamed", []types.Column{{Name: "ID", Type: types.Int}, {Name: "B", Type: types.Decimal(4, 2)}}, false},
		{"other type", []types.Column{{Name: "ID", Type: types.Bigint}, {Name: "A", Type: types.Decimal(4, 2)}}, false},
		{"other scale", []types.Column{{Name: "ID", Type: types.Int}, {Name: "A", Type: types.Decimal(4, 1)}}, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameResultType(tc.now, described); got != tc.want {
				t.Errorf("sameResultType = %v, want %v", got, tc.want)
			}
		})
	}
}
