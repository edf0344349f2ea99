package build

import (
	"reflect"
	"testing"
)

// TestStreamStreamStoresReadColumns: a stream-stream join's state keeps,
// of each side's records, the columns the query reads of the joined row
// (projection, WHERE, the rest of the ON condition, grouping and
// aggregate arguments, table functions' arguments), its side's join key
// and ROWTIME; nothing else. Side rows are the stream's columns, then
// ROWTIME, ROWPARTITION, ROWOFFSET.
func TestStreamStreamStoresReadColumns(t *testing.T) {
	f := newFixture(t)
	for _, ddl := range []string{pageviewsDDL, pv3DDL, clicksDDL, ordersDDL, shipmentsDDL} {
		f.declare(ddl)
	}
	for _, tc := range []struct {
		name        string
		query       string
		left, right []int
	}{
		// orders: id, shop, amount, ROWTIME (3); shipments: sid, orderid,
		// shop, carrier, ROWTIME (4).
		{"projection and WHERE", `CREATE STREAM s1 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > 5`,
			[]int{0, 2, 3}, []int{1, 3, 4}},
		{"two key equalities", `CREATE STREAM s2 AS SELECT o.id AS id, o.amount FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid AND o.shop = s.shop`,
			[]int{0, 1, 2, 3}, []int{1, 2, 4}},
		{"the rest of the ON condition", `CREATE STREAM s3 AS SELECT o.id AS id, o.amount FROM orders o LEFT JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid AND s.carrier <> o.shop`,
			[]int{0, 1, 2, 3}, []int{1, 3, 4}},
		{"an aggregation", `CREATE TABLE s4 AS SELECT s.carrier AS carrier, SUM(o.amount) AS total FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid GROUP BY s.carrier`,
			[]int{0, 2, 3}, []int{1, 3, 4}},
		// pv: userid, pageid, viewtime, ROWTIME (3); clicks: id, userid,
		// url, ROWTIME (3), ROWPARTITION (4); pv3: userid, pageid,
		// ROWTIME (2).
		{"pseudo columns", `CREATE STREAM s5 AS SELECT p.userid AS userid, c.url, c.ROWPARTITION AS part FROM pv p JOIN clicks c WITHIN 1 MINUTE ON p.userid = c.userid`,
			[]int{0, 3}, []int{1, 2, 3, 4}},
		{"a star", `CREATE STREAM s6 AS SELECT * FROM pv p JOIN pv3 q WITHIN 1 MINUTE ON p.userid = q.userid`,
			[]int{0, 1, 2, 3}, []int{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := f.planPersistent(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			root := plan.Sink()
			st, ok, err := lowerJoinRows(root.Input)
			var rt joinRuntime
			if ok {
				rt = st.st
			} else {
				ja, ok, err2 := lowerJoinAggregation(root.Input)
				if !ok {
					t.Fatalf("neither rows nor an aggregation over a join: %v %v", err, err2)
				}
				rt, err = ja.st, err2
			}
			if err != nil {
				t.Fatal(err)
			}
			ss, ok := rt.(*streamStream)
			if !ok {
				t.Fatalf("lowered to %T", rt)
			}
			got := [2][]int{ss.spec.Sides[0].Stored, ss.spec.Sides[1].Stored}
			if want := [2][]int{tc.left, tc.right}; !reflect.DeepEqual(got, want) {
				t.Errorf("stored columns %v, want %v", got, want)
			}
		})
	}
}

// TestStreamTableStoresReadColumns: a stream-table join's state keeps, of
// the table's rows, the columns the query reads and the table's ROWTIME;
// a chain's first join keeps them all. users: id, region, age, ROWTIME
// (3), ROWPARTITION, ROWOFFSET.
func TestStreamTableStoresReadColumns(t *testing.T) {
	f := newFixture(t)
	for _, ddl := range []string{pageviewsDDL, usersDDL} {
		f.declare(ddl)
	}
	for _, tc := range []struct {
		name   string
		query  string
		stored []int
	}{
		{"projection", `CREATE STREAM t1 AS SELECT p.userid AS userid, u.region FROM pv p JOIN users u ON p.userid = u.id`, []int{1, 3}},
		{"WHERE only", `CREATE STREAM t2 AS SELECT p.userid AS userid, p.pageid FROM pv p LEFT JOIN users u ON p.userid = u.id WHERE u.age > 3`, []int{2, 3}},
		{"the key column projected", `CREATE STREAM t3 AS SELECT p.userid AS userid, u.id AS uid FROM pv p JOIN users u ON p.userid = u.id`, []int{0, 3}},
		{"an aggregation", `CREATE TABLE t4 AS SELECT u.region AS region, SUM(u.age) AS s FROM pv p JOIN users u ON p.userid = u.id GROUP BY u.region`, []int{1, 2, 3}},
		{"nothing read", `CREATE STREAM t5 AS SELECT p.userid AS userid, p.pageid FROM pv p JOIN users u ON p.userid = u.id`, []int{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := f.planPersistent(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			root := plan.Sink()
			var rt joinRuntime
			if r, ok, err := lowerJoinRows(root.Input); ok {
				if err != nil {
					t.Fatal(err)
				}
				rt = r.st
			} else if ja, ok, err := lowerJoinAggregation(root.Input); ok {
				if err != nil {
					t.Fatal(err)
				}
				rt = ja.st
			} else {
				t.Fatal("neither rows nor an aggregation over a join")
			}
			st, ok := rt.(*streamTable)
			if !ok {
				t.Fatalf("lowered to %T", rt)
			}
			if got := st.spec.TableStored; !reflect.DeepEqual(got, tc.stored) {
				t.Errorf("stored columns %v, want %v", got, tc.stored)
			}
		})
	}
}

// TestStreamStreamFilterSides: an inner join's WHERE that reads one
// side's columns only becomes that side's Filter, so that its records
// the WHERE drops are neither matched nor stored; any other WHERE stays
// above the join alone.
func TestStreamStreamFilterSides(t *testing.T) {
	f := newFixture(t)
	for _, ddl := range []string{ordersDDL, shipmentsDDL} {
		f.declare(ddl)
	}
	for _, tc := range []struct {
		name        string
		query       string
		left, right bool
	}{
		{"the right side's columns", `CREATE STREAM f1 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE s.carrier = 'ups' AND s.shop <> 'x'`,
			false, true},
		{"the left side's columns", `CREATE STREAM f2 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > 5`,
			true, false},
		{"under an aggregation", `CREATE TABLE f3 AS SELECT s.carrier AS carrier, SUM(o.amount) AS total FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > 5 GROUP BY s.carrier`,
			true, false},
		{"both sides", `CREATE STREAM f4 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > 5 OR s.carrier = 'ups'`,
			false, false},
		{"a LEFT join", `CREATE STREAM f5 AS SELECT o.id AS id, s.carrier FROM orders o LEFT JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > 5`,
			false, false},
		{"the rest of an ON condition", `CREATE STREAM f6 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid AND s.shop <> o.shop WHERE o.amount > 5`,
			false, false},
		{"volatile", `CREATE STREAM f7 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > RANDOM() * 10`,
			false, false},
		{"a side's ROWTIME", `CREATE STREAM f8 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE s.ROWTIME > 5`,
			false, true},
		{"no WHERE", `CREATE STREAM f9 AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid`,
			false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := f.planPersistent(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			root := plan.Sink()
			var rt joinRuntime
			if r, ok, err := lowerJoinRows(root.Input); ok {
				if err != nil {
					t.Fatal(err)
				}
				rt = r.st
			} else {
				ja, ok, err := lowerJoinAggregation(root.Input)
				if !ok || err != nil {
					t.Fatalf("neither rows nor an aggregation over a join: %v", err)
				}
				rt = ja.st
			}
			ss, ok := rt.(*streamStream)
			if !ok {
				t.Fatalf("lowered to %T", rt)
			}
			got := [2]bool{ss.spec.Sides[0].Filter != nil, ss.spec.Sides[1].Filter != nil}
			if want := [2]bool{tc.left, tc.right}; got != want {
				t.Errorf("sides filtered %v, want %v", got, want)
			}
		})
	}
}
