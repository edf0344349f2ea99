package planner

import (
	"testing"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql/types"
)

// TestDefaultWrap covers ksql.persistence.wrap.single.values as ksqlDB's
// SerdeFeaturesFactory applies it: one value column, the format able to,
// and never over an explicit WRAP_SINGLE_VALUE.
func TestDefaultWrap(t *testing.T) {
	key := types.Column{Name: "K", Type: types.String, Key: true}
	v1 := types.Column{Name: "V1", Type: types.String}
	v2 := types.Column{Name: "V2", Type: types.Int}
	for _, c := range []struct {
		name     string
		def      string
		format   string
		cols     []types.Column
		explicit string
		want     string // "" for no WRAP_SINGLE_VALUE
	}{
		{name: "unset", def: "", format: "JSON", cols: []types.Column{key, v1}},
		{name: "false json", def: "false", format: "JSON", cols: []types.Column{key, v1}, want: "false"},
		{name: "true json", def: "TRUE", format: "JSON", cols: []types.Column{key, v1}, want: "true"},
		{name: "true default format", def: "true", format: "", cols: []types.Column{v1}, want: "true"},
		{name: "two values", def: "false", format: "JSON", cols: []types.Column{key, v1, v2}},
		{name: "true delimited", def: "true", format: "DELIMITED", cols: []types.Column{key, v1}},
		{name: "true kafka", def: "true", format: "KAFKA", cols: []types.Column{key, v1}},
		{name: "false delimited", def: "false", format: "DELIMITED", cols: []types.Column{key, v1}, want: "false"},
		{name: "explicit wins", def: "false", format: "JSON", cols: []types.Column{key, v1}, explicit: "true", want: "true"},
		{name: "not a boolean", def: "maybe", format: "JSON", cols: []types.Column{key, v1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &catalog.Source{Columns: c.cols, ValueFormat: c.format, Props: map[string]string{}}
			if c.explicit != "" {
				src.Props["WRAP_SINGLE_VALUE"] = c.explicit
			}
			(&Planner{WrapSingleValues: c.def}).defaultWrap(src)
			got, set := src.Props["WRAP_SINGLE_VALUE"]
			if c.want == "" && set || got != c.want {
				t.Fatalf("WRAP_SINGLE_VALUE = %q (set %v), want %q", got, set, c.want)
			}
		})
	}
}
