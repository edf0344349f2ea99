package build

import (
	"slices"
	"testing"

	"github.com/runnel/runnel/sql/expr"
)

// TestJoinSideFilters: the terms of a WHERE's top-level AND that read one
// side only go to that side of a two-way join when every result row made
// of that side's row contains it (both sides of INNER, the kept side of
// LEFT and RIGHT, none of FULL OUTER, only inner stream-stream joins);
// a stream-table join's stream takes its terms for INNER and LEFT, its
// table for INNER only; a term that reads both sides, nothing, the key or ROWTIME of the joined
// row, or is volatile stays above only, and a chain of tables pushes
// nothing. The WHERE above the join is the whole condition in every case.
func TestJoinSideFilters(t *testing.T) {
	f := newFixture(t)
	for _, ddl := range []string{usersDDL, phonesDDL, regionsDDL, emailsDDL, ordersDDL, shipmentsDDL, pageviewsDDL} {
		f.declare(ddl)
	}
	str := func(e expr.Expr) string {
		if e == nil {
			return "-"
		}
		return e.String()
	}
	const where = ` WHERE u.age > 30 AND p.phone LIKE '5%' AND u.age + LEN(p.phone) > 3 AND RANDOM() < 2 AND (u.region = 'eu' OR u.region IS NULL)`
	for _, tc := range []struct {
		name, query string
		left, right string // the sides' filters, "-" for none
	}{
		{"inner on the key", `CREATE TABLE a AS SELECT u.id AS id, p.phone FROM users u JOIN phones p ON u.id = p.id` + where,
			`((U.AGE > 30) AND ((U.REGION = 'eu') OR (U.REGION IS NULL)))`, `(P.PHONE LIKE '5%')`},
		{"left on the key", `CREATE TABLE b AS SELECT u.id AS id, p.phone FROM users u LEFT JOIN phones p ON u.id = p.id` + where,
			`((U.AGE > 30) AND ((U.REGION = 'eu') OR (U.REGION IS NULL)))`, `-`},
		{"right on the key", `CREATE TABLE c AS SELECT p.id AS id, u.age FROM users u RIGHT JOIN phones p ON u.id = p.id` + where,
			`-`, `(P.PHONE LIKE '5%')`},
		{"full on the key", `CREATE TABLE d AS SELECT ROWKEY AS id, u.age, p.phone FROM users u FULL OUTER JOIN phones p ON u.id = p.id` + where,
			`-`, `-`},
		{"inner on a foreign key", `CREATE TABLE e AS SELECT u.id AS id, r.boss FROM users u JOIN regions r ON u.region = r.name WHERE u.age > 30 AND r.boss = 'mia' AND u.id <> r.boss`,
			`(U.AGE > 30)`, `(R.BOSS = 'mia')`},
		{"left on a foreign key", `CREATE TABLE g AS SELECT u.id AS id, r.boss FROM users u LEFT JOIN regions r ON u.region = r.name WHERE u.age > 30 AND r.boss = 'mia'`,
			`(U.AGE > 30)`, `-`},
		{"one term", `CREATE TABLE h AS SELECT u.id AS id, r.boss FROM users u JOIN regions r ON u.region = r.name WHERE r.boss = 'mia'`,
			`-`, `(R.BOSS = 'mia')`},
		{"aggregated", `CREATE TABLE i AS SELECT r.boss AS boss, COUNT(*) AS n FROM users u JOIN regions r ON u.region = r.name WHERE u.age > 30 AND r.boss = 'mia' GROUP BY r.boss`,
			`(U.AGE > 30)`, `(R.BOSS = 'mia')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := f.persistent(tc.query)
			rows, agg, err := lowerTableJoinQuery(plan.Sink().Input)
			if err != nil {
				t.Fatal(err)
			}
			c, filter := (*tableChain)(nil), expr.Expr(nil)
			if rows != nil {
				c, filter = rows.c, rows.pipe.Filter
			} else {
				c, filter = agg.c, agg.grouper.Filter
			}
			tj := c.first
			l, r := "", ""
			if tj.fk != nil {
				l, r = str(tj.fk.Left.Filter), str(tj.fk.Right.Filter)
			} else {
				l, r = str(tj.pk.Left.Filter), str(tj.pk.Right.Filter)
			}
			if l != tc.left || r != tc.right {
				t.Errorf("side filters\n %s\n %s\nwant\n %s\n %s", l, r, tc.left, tc.right)
			}
			if len(expr.Conjuncts(filter)) < 2 && tc.name != "one term" {
				t.Errorf("the WHERE above is %s, not the whole condition", filter)
			}
		})
	}

	t.Run("chain of tables", func(t *testing.T) {
		plan := f.persistent(`CREATE TABLE j AS SELECT u.id AS id, p.phone, e.email FROM users u JOIN phones p ON u.id = p.id JOIN emails e ON u.id = e.id WHERE u.age > 30 AND e.email = 'x'`)
		rows, _, err := lowerTableJoinQuery(plan.Sink().Input)
		if err != nil {
			t.Fatal(err)
		}
		if l, r := rows.c.first.pk.Left.Filter, rows.c.first.pk.Right.Filter; l != nil || r != nil {
			t.Errorf("a chain's first join has filters %v, %v", l, r)
		}
	})

	for _, tc := range []struct {
		name, query   string
		stream, table string
	}{
		{"inner stream-table", `CREATE STREAM n AS SELECT pv.userid AS userid, u.region FROM pv JOIN users u ON pv.userid = u.id WHERE pv.viewtime > 3 AND u.age > 30 AND pv.pageid <> u.region`,
			`(PV.VIEWTIME > 3)`, `(U.AGE > 30)`},
		{"left stream-table", `CREATE STREAM o AS SELECT pv.userid AS userid, u.region FROM pv LEFT JOIN users u ON pv.userid = u.id WHERE pv.viewtime > 3 AND u.age > 30`,
			`(PV.VIEWTIME > 3)`, `-`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := f.persistent(tc.query)
			r, ok, err := lowerJoinRows(plan.Sink().Input)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			s := r.st.(*streamTable).spec
			if l, r := str(s.StreamFilter), str(s.TableFilter); l != tc.stream || r != tc.table {
				t.Errorf("side filters\n %s\n %s\nwant\n %s\n %s", l, r, tc.stream, tc.table)
			}
		})
	}

	for _, tc := range []struct {
		name, query string
		left, right string
	}{
		{"inner stream-stream", `CREATE STREAM k AS SELECT o.id AS id, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > 3 AND s.carrier = 'dhl' AND o.shop = s.shop`,
			`(O.AMOUNT > 3)`, `(S.CARRIER = 'dhl')`},
		{"left stream-stream", `CREATE STREAM m AS SELECT o.id AS id, s.carrier FROM orders o LEFT JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE o.amount > 3 AND s.carrier = 'dhl'`,
			`-`, `-`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := f.persistent(tc.query)
			r, ok, err := lowerJoinRows(plan.Sink().Input)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			ss := r.st.(*streamStream)
			if l, r := str(ss.spec.Sides[0].Filter), str(ss.spec.Sides[1].Filter); l != tc.left || r != tc.right {
				t.Errorf("side filters\n %s\n %s\nwant\n %s\n %s", l, r, tc.left, tc.right)
			}
		})
	}
}

// TestTableJoinStoresColumnsRead: a join of two tables keeps of each
// table's rows only the columns the query over it reads (its select
// list, its WHERE, its grouping and aggregate arguments), the rest of the
// ON condition, its join key and ROWTIME; a chain keeps every column.
func TestTableJoinStoresColumnsRead(t *testing.T) {
	f := newFixture(t)
	for _, ddl := range []string{usersDDL, phonesDDL, regionsDDL, emailsDDL} {
		f.declare(ddl)
	}
	// users: ID 0, REGION 1, AGE 2, ROWTIME 3; regions: NAME 0, BOSS 1,
	// ROWTIME 2.
	for _, tc := range []struct {
		name, query string
		left, right []int
	}{
		{"a foreign key, AGE unread", `CREATE TABLE a AS SELECT u.id AS id, r.boss FROM users u JOIN regions r ON u.region = r.name`,
			[]int{0, 1, 3}, []int{0, 1, 2}},
		{"a foreign key, BOSS in the WHERE only", `CREATE TABLE b AS SELECT u.id AS id, u.age FROM users u JOIN regions r ON u.region = r.name WHERE r.boss = 'mia'`,
			[]int{0, 1, 2, 3}, []int{0, 1, 2}},
		{"a foreign key, the ON condition's rest", `CREATE TABLE c AS SELECT u.id AS id, u.region FROM users u LEFT JOIN regions r ON u.region = r.name AND u.age > 3`,
			[]int{0, 1, 2, 3}, []int{0, 2}},
		{"aggregated", `CREATE TABLE d AS SELECT r.boss AS boss, SUM(u.age) AS n FROM users u JOIN regions r ON u.region = r.name GROUP BY r.boss`,
			[]int{1, 2, 3}, []int{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := f.persistent(tc.query)
			rows, agg, err := lowerTableJoinQuery(plan.Sink().Input)
			if err != nil {
				t.Fatal(err)
			}
			c := (*tableChain)(nil)
			if rows != nil {
				c = rows.c
			} else {
				c = agg.c
			}
			fk := c.first.fk
			if fk == nil {
				t.Fatal("not a foreign-key join")
			}
			if !slices.Equal(fk.Left.Stored, tc.left) || !slices.Equal(fk.Right.Stored, tc.right) {
				t.Errorf("stored %v and %v, want %v and %v", fk.Left.Stored, fk.Right.Stored, tc.left, tc.right)
			}
		})
	}
	t.Run("chain of tables", func(t *testing.T) {
		plan := f.persistent(`CREATE TABLE j AS SELECT u.id AS id, p.phone, e.email FROM users u JOIN phones p ON u.id = p.id JOIN emails e ON u.id = e.id`)
		rows, _, err := lowerTableJoinQuery(plan.Sink().Input)
		if err != nil {
			t.Fatal(err)
		}
		if l, r := rows.c.first.pk.Left.Stored, rows.c.first.pk.Right.Stored; l != nil || r != nil {
			t.Errorf("a chain's first join stores %v and %v, not every column", l, r)
		}
	})
}
