package build

import (
	"testing"
	"time"

	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/types"
)

// TestCombines: which aggregations' first stages combine. Time windows do
// (EMIT FINAL even with the emit cache off, for it shows no row's change),
// sessions and a join's aggregation in windows do not, nor anything over a
// table, a query created before partials (or windowed, before windows'
// partials), or a function that does not combine.
func TestCombines(t *testing.T) {
	count, err := agg.Resolve("COUNT", nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := agg.Resolve("SUM", []types.Type{types.Bigint}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	tumbling := &window.Spec{Kind: window.Tumbling, Size: time.Minute}
	session := &window.Spec{Kind: window.Session, Gap: time.Minute}
	for _, tc := range []struct {
		name     string
		combine  bool
		cache    int
		retract  bool
		funcs    []agg.Func
		win      *window.Spec
		final    bool
		windows  bool
		combines bool
	}{
		{"unwindowed", true, 1, false, []agg.Func{count}, nil, false, true, true},
		{"unwindowed in a join", true, 1, false, []agg.Func{count}, nil, false, false, true},
		{"emit cache off", true, 0, false, []agg.Func{count}, nil, false, true, false},
		{"over a table", true, 1, true, []agg.Func{count}, nil, false, true, false},
		{"created before partials", false, 1, false, []agg.Func{count}, nil, false, true, false},
		{"SUM", true, 1, false, []agg.Func{sum}, nil, false, true, false},
		{"tumbling", true, 1, false, []agg.Func{count}, tumbling, false, true, true},
		{"tumbling in a join", true, 1, false, []agg.Func{count}, tumbling, false, false, false},
		{"tumbling, emit cache off", true, 0, false, []agg.Func{count}, tumbling, false, true, false},
		{"tumbling EMIT FINAL, emit cache off", true, 0, false, []agg.Func{count}, tumbling, true, true, true},
		{"session", true, 1, false, []agg.Func{count}, session, false, true, false},
		{"session EMIT FINAL", true, 0, false, []agg.Func{count}, session, true, true, false},
	} {
		sc := &stageContext{combine: tc.combine, combineWindows: tc.combine, emitCacheBytes: tc.cache}
		spec := &operators.AggregateSpec{Funcs: tc.funcs, Window: tc.win, Final: tc.final}
		if got := combines(sc, &planner.Repartition{Retract: tc.retract}, spec, tc.windows); got != tc.combines {
			t.Errorf("%s: combines = %v, want %v", tc.name, got, tc.combines)
		}
	}
	// A windowed query created before windows' partials: rows.
	sc := &stageContext{combine: true, emitCacheBytes: 1}
	if combines(sc, &planner.Repartition{}, &operators.AggregateSpec{Funcs: []agg.Func{count}, Window: tumbling}, true) {
		t.Error("a query without CombineWindows combines its windows")
	}
	if !combines(sc, &planner.Repartition{}, &operators.AggregateSpec{Funcs: []agg.Func{count}}, true) {
		t.Error("a query without CombineWindows does not combine its unwindowed aggregation")
	}
}
