package planner_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// users is a table as the catalog holds it: ID is its key.
func usersTable() *catalog.Source {
	return &catalog.Source{Name: "USERS", Kind: catalog.KindTable, Topic: "users", Partitions: 2, KeyFormat: "KAFKA", ValueFormat: "JSON",
		Columns: []types.Column{{Name: "ID", Type: types.String, Key: true}, {Name: "REGION", Type: types.String}, {Name: "AGE", Type: types.Int}}}
}

func col(i int, c types.Column) expr.Expr { return &expr.Column{Index: i, Name: c.Name, T: c.Type} }

func lit(s string) expr.Expr { return &expr.Literal{Value: types.NewString(s), T: types.String} }

// everyNode returns one of each node type, over leaves of its own.
func everyNode() []planner.Node {
	src := usersTable()
	scan := func() *planner.Scan {
		return &planner.Scan{Source: src, Cols: planner.InputColumns(src)}
	}
	agg := &planner.Aggregation{GroupBy: []expr.Expr{col(1, src.Columns[1])},
		Row: []types.Column{{Name: "REGION", Type: types.String, Key: true}}, KeyNames: []string{"REGION"}}
	return []planner.Node{
		scan(),
		&planner.Values{},
		&planner.Filter{Input: scan(), Predicate: &expr.Literal{Value: types.NewBoolean(true), T: types.Boolean}},
		&planner.PartitionBy{Input: scan(), Keys: []expr.Expr{col(1, src.Columns[1])}},
		&planner.Project{Input: scan(), Exprs: []expr.Expr{col(0, src.Columns[0])}, Cols: src.Columns[:1]},
		&planner.Repartition{Input: scan(), Keys: agg.GroupBy, Purpose: "the group key", Retract: true},
		&planner.Aggregate{Input: scan(), Aggregation: agg},
		&planner.Having{Input: &planner.Aggregate{Input: scan(), Aggregation: agg}, Predicate: &expr.Literal{Value: types.NewBoolean(true), T: types.Boolean}},
		&planner.Sort{Input: scan(), Items: []planner.OrderItem{{Expr: col(2, src.Columns[2]), Desc: true}}},
		&planner.Sink{Input: scan(), Target: src},
		&planner.Result{Input: scan(), Mode: planner.Push},
		&planner.Join{Left: scan(), Right: scan(), Kind: planner.TableTable, Type: planner.InnerJoin,
			LeftKeys: []expr.Expr{col(0, src.Columns[0])}, RightKeys: []expr.Expr{col(0, src.Columns[0])}},
	}
}

// TestNodeContract: every node copies itself over new children (and
// refuses the wrong number), leaves the original as it was, and describes
// itself on one line in the "[ NAME ] | ..." form.
func TestNodeContract(t *testing.T) {
	for _, n := range everyNode() {
		name := strings.TrimPrefix(strings.Split(n.Describe(), " | ")[0], "[ ")
		kids := n.Children()
		if _, err := n.WithChildren(append(kids, &planner.Values{})...); err == nil {
			t.Errorf("%T: WithChildren took %d children", n, len(kids)+1)
		}
		fresh := make([]planner.Node, len(kids))
		for i := range fresh {
			fresh[i] = &planner.Values{}
		}
		c, err := n.WithChildren(fresh...)
		if err != nil {
			t.Fatalf("%T: %v", n, err)
		}
		for i, k := range c.Children() {
			if k != fresh[i] {
				t.Errorf("%T: child %d of the copy is not the new one", n, i)
			}
		}
		for i, k := range n.Children() {
			if k != kids[i] {
				t.Errorf("%T: WithChildren changed the original's child %d", n, i)
			}
		}
		d := n.Describe()
		if !strings.HasPrefix(d, "[ ") || strings.Contains(d, "\n") || name == "" {
			t.Errorf("%T: describes itself as %q", n, d)
		}
	}
}

// TestJoinDescribe: the join node prints its type, kind, keys, extra
// condition, window, partition count and state.
func TestJoinDescribe(t *testing.T) {
	users := usersTable()
	views := &catalog.Source{Name: "VIEWS", Kind: catalog.KindStream, Topic: "views", Partitions: 2, KeyFormat: "KAFKA", ValueFormat: "JSON",
		Columns: []types.Column{{Name: "USERID", Type: types.String, Key: true}, {Name: "SHOP", Type: types.String}}}
	left := &planner.Scan{Source: views, Alias: "V", Cols: planner.InputColumns(views)}
	right := &planner.Scan{Source: users, Alias: "U", Cols: planner.InputColumns(users)}
	cols := append(append([]types.Column(nil), left.Cols...), right.Cols...)
	for _, tc := range []struct {
		join planner.Join
		want string
	}{
		{planner.Join{Kind: planner.StreamTable, Type: planner.LeftJoin,
			LeftKeys:  []expr.Expr{&expr.Column{Index: 0, Qualifier: "V", Name: "USERID", T: types.String}},
			RightKeys: []expr.Expr{&expr.Column{Index: 0, Qualifier: "U", Name: "ID", T: types.String}}, Partitions: 4},
			"[ JOIN ] | LEFT OUTER STREAM-TABLE | ON V.USERID = U.ID | 4 partitions, inputs merged by ROWTIME | state store per task (<id>/join/<partition>): the table's rows by key"},
		{planner.Join{Kind: planner.StreamStream, Type: planner.FullJoin,
			LeftKeys:  []expr.Expr{col(0, left.Cols[0]), col(1, left.Cols[1])},
			RightKeys: []expr.Expr{col(0, right.Cols[0]), col(1, right.Cols[1])},
			Extra:     &expr.Literal{Value: types.NewBoolean(true), T: types.Boolean},
			Within:    &planner.JoinWindow{Before: time.Hour, After: time.Hour, Grace: time.Minute, HasGrace: true},
			Synthetic: true, KeyNames: []string{"ROWKEY", "ROWKEY_1"}},
			"[ JOIN ] | FULL OUTER STREAM-STREAM | ON USERID = ID AND SHOP = REGION AND TRUE | WITHIN 1h0m0s GRACE PERIOD 1m0s | synthetic key ROWKEY, ROWKEY_1 | state store per task (<id>/join/<partition>): both sides' rows within the window"},
		{planner.Join{Kind: planner.StreamStream, Type: planner.InnerJoin,
			LeftKeys: []expr.Expr{col(0, left.Cols[0])}, RightKeys: []expr.Expr{col(0, right.Cols[0])},
			Within: &planner.JoinWindow{Before: 10 * time.Second, After: time.Hour}},
			"[ JOIN ] | INNER STREAM-STREAM | ON USERID = ID | WITHIN (10s, 1h0m0s) | state store per task (<id>/join/<partition>): both sides' rows within the window"},
		{planner.Join{Kind: planner.ForeignKey, Type: planner.InnerJoin,
			LeftKeys: []expr.Expr{col(1, left.Cols[1])}, RightKeys: []expr.Expr{col(0, right.Cols[0])}},
			"[ JOIN ] | INNER FOREIGN KEY | ON SHOP = ID | one task reads every partition of both tables, merged by ROWTIME | state store (<id>/join/0): both tables' rows, the left ones indexed by foreign key"},
	} {
		j := tc.join
		j.Left, j.Right, j.Cols = left, right, cols
		if got := j.Describe(); got != tc.want {
			t.Errorf("Describe() = %q\nwant         %q", got, tc.want)
		}
		if len(j.Columns()) != len(left.Cols)+len(right.Cols) || j.Children()[0] != left || j.Children()[1] != right {
			t.Errorf("%s: columns or children wrong", tc.want)
		}
	}
	tree := planner.Explain(&planner.Sink{Target: users, Input: &planner.Join{Left: left, Right: right, Kind: planner.TableTable, Type: planner.InnerJoin,
		LeftKeys: []expr.Expr{col(0, left.Cols[0])}, RightKeys: []expr.Expr{col(0, right.Cols[0])}, Cols: cols}})
	if lines := strings.Split(tree, "\n"); len(lines) != 4 || !strings.HasPrefix(lines[2], "    > [ SOURCE ] | STREAM VIEWS") ||
		!strings.HasPrefix(lines[3], "    > [ SOURCE ] | TABLE USERS") {
		t.Errorf("EXPLAIN of a join prints both inputs one level in:\n%s", tree)
	}

	// A chain: join 2 reads join 1's rows through an internal topic that
	// EXPLAIN shows between them, named after the query when it runs.
	first := &planner.Join{Left: left, Right: right, Kind: planner.TableTable, Type: planner.InnerJoin, Step: 1, Partitions: 2,
		LeftKeys: []expr.Expr{col(0, left.Cols[0])}, RightKeys: []expr.Expr{col(0, right.Cols[0])}, Cols: cols}
	second := &planner.Join{Left: first, Right: right, Kind: planner.TableTable, Type: planner.LeftJoin, Step: 2, Partitions: 2,
		LeftKeys: []expr.Expr{col(0, left.Cols[0])}, RightKeys: []expr.Expr{col(0, right.Cols[0])}, Cols: cols}
	plan := &planner.Plan{Root: &planner.Sink{Target: users, Input: second}}
	for id, want := range map[string][]string{
		planner.UnknownQueryID: {
			"  > [ JOIN ] | LEFT OUTER TABLE-TABLE | ON USERID = ID | 2 partitions, inputs merged by ROWTIME | join 2 of the chain, a stage of its own | state store per task (<id>/join2/<partition>): both tables' rows",
			"    > [ INTERNAL TOPIC ] | _runnel_<id>_join2_repartition | the rows of join 1, keyed by join 2's key, 2 partitions",
			"      > [ JOIN ] | INNER TABLE-TABLE | ON USERID = ID | 2 partitions, inputs merged by ROWTIME | state store per task (<id>/join/<partition>): both tables' rows",
		},
		"CTAS_X_3": {
			"  > [ JOIN ] | LEFT OUTER TABLE-TABLE | ON USERID = ID | 2 partitions, inputs merged by ROWTIME | join 2 of the chain, a stage of its own | state store per task (CTAS_X_3/join2/<partition>): both tables' rows",
			"    > [ INTERNAL TOPIC ] | _runnel_CTAS_X_3_join2_repartition | the rows of join 1, keyed by join 2's key, 2 partitions",
			"      > [ JOIN ] | INNER TABLE-TABLE | ON USERID = ID | 2 partitions, inputs merged by ROWTIME | state store per task (CTAS_X_3/join/<partition>): both tables' rows",
		},
	} {
		text := plan.Explain()
		if id != planner.UnknownQueryID {
			text = plan.ExplainQuery(id)
		}
		lines := strings.Split(text, "\n")
		if len(lines) != 7 || !reflect.DeepEqual(lines[1:4], want) || !strings.HasPrefix(lines[6], "    > [ SOURCE ] | TABLE USERS") {
			t.Errorf("EXPLAIN of a chain for %s:\n%s\nwant lines 2-4\n%s", id, text, strings.Join(want, "\n"))
		}
	}
	if got := second.InputTopicSuffix(0); got != "_join2_repartition" {
		t.Errorf("join 2's left topic suffix %q", got)
	}
}

// TestTransform: a rule that changes nothing costs no copies; one that
// replaces a leaf copies the path to it and leaves the old tree as it was.
func TestTransform(t *testing.T) {
	src := usersTable()
	scan := &planner.Scan{Source: src, Cols: planner.InputColumns(src)}
	filter := &planner.Filter{Input: scan, Predicate: &expr.Literal{Value: types.NewBoolean(true), T: types.Boolean}}
	root := &planner.Result{Input: &planner.Project{Input: filter, Exprs: []expr.Expr{col(0, src.Columns[0])}, Cols: src.Columns[:1]}, Mode: planner.Pull}

	same, changed, err := planner.Transform(root, func(n planner.Node) (planner.Node, bool, error) { return n, false, nil })
	if err != nil || changed || same != planner.Node(root) {
		t.Fatalf("an idle rule: %v %v %v", same, changed, err)
	}
	other := &planner.Scan{Source: src, Cols: scan.Cols, Materialized: true}
	got, changed, err := planner.Transform(root, func(n planner.Node) (planner.Node, bool, error) {
		if n == planner.Node(scan) {
			return other, true, nil
		}
		return n, false, nil
	})
	if err != nil || !changed {
		t.Fatalf("replacing the scan: changed %v, %v", changed, err)
	}
	if planner.Find[*planner.Scan](got) != other || planner.Find[*planner.Scan](root) != scan {
		t.Errorf("the new tree must hold the new scan and the old one the old")
	}
	if planner.Find[*planner.Filter](got) == filter {
		t.Errorf("the filter above the replaced scan was not copied")
	}
	boom := errors.New("boom")
	if _, _, err := planner.Transform(root, func(n planner.Node) (planner.Node, bool, error) { return n, false, boom }); !errors.Is(err, boom) {
		t.Errorf("a rule's error: %v", err)
	}
}

func TestPushKeyLookup(t *testing.T) {
	src := usersTable()
	key := lit("alice")
	for _, tc := range []struct {
		name   string
		scan   planner.Scan
		lookup expr.Expr
		pushed bool
	}{
		{"pull with a key term", planner.Scan{Materialized: true}, key, true},
		{"pull without one", planner.Scan{Materialized: true}, nil, false},
		{"push over the table", planner.Scan{}, key, false},
		{"already looked up", planner.Scan{Materialized: true, Lookup: lit("bob")}, key, false},
	} {
		scan := tc.scan
		scan.Source, scan.Cols = src, planner.InputColumns(src)
		f := &planner.Filter{Input: &scan, Predicate: &expr.Literal{Value: types.NewBoolean(true), T: types.Boolean}, KeyLookup: tc.lookup}
		n, changed, err := planner.PushKeyLookup(f)
		if err != nil || changed != tc.pushed {
			t.Errorf("%s: changed %v, %v", tc.name, changed, err)
			continue
		}
		got := n.(*planner.Filter).Input.(*planner.Scan)
		if tc.pushed && (got.Lookup != key || n == planner.Node(f) || scan.Lookup != nil) {
			t.Errorf("%s: the lookup was not pushed into a new scan", tc.name)
		}
		if !tc.pushed && n != planner.Node(f) {
			t.Errorf("%s: the filter was replaced", tc.name)
		}
	}
	if n, changed, _ := planner.PushKeyLookup(&planner.Values{}); changed || n == nil {
		t.Errorf("PushKeyLookup changed a node that is not a filter")
	}
}

func TestKeysFirst(t *testing.T) {
	src := usersTable()
	scan := &planner.Scan{Source: src, Cols: planner.InputColumns(src)}
	// SELECT region, age, id: the key comes first in the sink.
	p := &planner.Project{Input: scan, Exprs: []expr.Expr{col(1, src.Columns[1]), col(2, src.Columns[2]), col(0, src.Columns[0])},
		Cols: []types.Column{src.Columns[1], src.Columns[2], src.Columns[0]}}
	n, changed, err := planner.KeysFirst(p)
	if err != nil || !changed {
		t.Fatalf("changed %v, %v", changed, err)
	}
	if got := names(n.Columns()); got != "ID*,REGION,AGE" {
		t.Errorf("columns %s, want ID*,REGION,AGE", got)
	}
	if got := names(p.Cols); got != "REGION,AGE,ID*" {
		t.Errorf("KeysFirst changed the project it was given: %s", got)
	}
	if again, changed, _ := planner.KeysFirst(n); changed || again != n {
		t.Errorf("a keys-first project was rewritten again")
	}

	// An aggregation's key is its group columns, in GROUP BY order,
	// including one the select list left out, named as the list names it.
	agg := &planner.Aggregation{
		GroupBy:  []expr.Expr{col(1, src.Columns[1]), col(2, src.Columns[2])},
		Row:      []types.Column{{Name: "REGION", Type: types.String, Key: true}, {Name: "AGE", Type: types.Int, Key: true}, {Name: "KSQL_AGG_0", Type: types.Bigint}},
		KeyNames: []string{"R", "AGE"},
		Emit:     sql.EmitChanges,
	}
	having := &planner.Having{Input: &planner.Aggregate{Input: scan, Aggregation: agg}, Predicate: &expr.Literal{Value: types.NewBoolean(true), T: types.Boolean}}
	p = &planner.Project{Input: having, Exprs: []expr.Expr{col(2, agg.Row[2]), col(0, agg.Row[0])},
		Cols: []types.Column{{Name: "N", Type: types.Bigint}, {Name: "R", Type: types.String, Key: true}}}
	n, changed, err = planner.KeysFirst(p)
	if err != nil || !changed {
		t.Fatalf("aggregate: changed %v, %v", changed, err)
	}
	if got := names(n.Columns()); got != "R*,AGE*,N" {
		t.Errorf("aggregate columns %s, want R*,AGE*,N", got)
	}
}

func names(cols []types.Column) string {
	var out []string
	for _, c := range cols {
		n := c.Name
		if c.Key {
			n += "*"
		}
		out = append(out, n)
	}
	return strings.Join(out, ",")
}

func TestReadColumns(t *testing.T) {
	src := usersTable()
	cols := planner.InputColumns(src) // ID, REGION, AGE, then the pseudo columns
	scan := func() *planner.Scan { return &planner.Scan{Source: src, Cols: cols} }
	id, region, age := col(0, cols[0]), col(1, cols[1]), col(2, cols[2])
	rowtime := col(3, cols[3])
	// The rule only looks for column references, so a column stands for
	// a predicate that reads it.
	pred := func(e expr.Expr) expr.Expr { return e }
	agg := func(in planner.Node, group []expr.Expr, args ...expr.Expr) *planner.Aggregate {
		return &planner.Aggregate{Input: in, Aggregation: &planner.Aggregation{GroupBy: group,
			Calls: []planner.AggCall{{Name: "SUM", Args: args, Text: "SUM"}}}}
	}
	for _, tc := range []struct {
		name  string
		root  planner.Node
		reads []bool // nil: the scan is left alone
	}{
		{"a project reads its expressions",
			&planner.Project{Input: scan(), Exprs: []expr.Expr{region}, Cols: cols[1:2]},
			[]bool{false, true, false, false, false, false}},
		{"through a filter, which reads its predicate",
			&planner.Project{Input: &planner.Filter{Input: scan(), Predicate: pred(age)}, Exprs: []expr.Expr{id}, Cols: cols[:1]},
			[]bool{true, false, true, false, false, false}},
		{"through partition by and sort",
			&planner.Project{Input: &planner.Sort{Input: &planner.PartitionBy{Input: scan(), Keys: []expr.Expr{region}},
				Items: []planner.OrderItem{{Expr: rowtime}}}, Exprs: []expr.Expr{id}, Cols: cols[:1]},
			[]bool{true, true, false, true, false, false}},
		{"an aggregate reads its groups and arguments, through a repartition",
			agg(&planner.Repartition{Input: scan(), Keys: []expr.Expr{region}}, []expr.Expr{region}, age),
			[]bool{false, true, true, false, false, false}},
		{"a constant select list reads nothing",
			&planner.Project{Input: scan(), Exprs: []expr.Expr{lit("x")}, Cols: cols[1:2]},
			[]bool{false, false, false, false, false, false}},
		{"a join's scans are left alone",
			&planner.Project{Input: &planner.Join{Left: scan(), Right: scan(), Kind: planner.TableTable, Type: planner.InnerJoin,
				LeftKeys: []expr.Expr{id}, RightKeys: []expr.Expr{id}}, Exprs: []expr.Expr{id}, Cols: cols[:1]},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := planner.Find[*planner.Scan](tc.root)
			got, changed, err := planner.Transform(tc.root, planner.ReadColumns)
			if err != nil {
				t.Fatal(err)
			}
			if before.Reads != nil {
				t.Fatalf("the rule changed the scan it was given")
			}
			s := planner.Find[*planner.Scan](got)
			if tc.reads == nil {
				if changed || s.Reads != nil {
					t.Fatalf("changed %v, reads %v; want the tree as it was", changed, s.Reads)
				}
				return
			}
			if !changed || fmt.Sprint(s.Reads) != fmt.Sprint(tc.reads) {
				t.Fatalf("changed %v, reads %v; want %v", changed, s.Reads, tc.reads)
			}
			if again, changed, _ := planner.Transform(got, planner.ReadColumns); changed || again != got {
				t.Fatalf("a second pass changed the tree")
			}
		})
	}
}
