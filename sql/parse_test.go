package sql

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/runnel/runnel/sql/types"
)

func TestParseCreateSource(t *testing.T) {
	tests := []struct {
		text string
		want CreateSource
	}{
		{
			text: "CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR KEY, pageid STRING) " +
				"WITH (kafka_topic='pageviews', value_format='JSON', Partitions=4, REPLICAS=1, timestamp='viewtime', timestamp_format='yyyy-MM-dd''T''HH:mm:ss')",
			want: CreateSource{
				Kind: Stream, Name: "PAGEVIEWS",
				Columns: []ColumnDef{
					{Name: "VIEWTIME", Type: types.Bigint},
					{Name: "USERID", Type: types.String, Key: true},
					{Name: "PAGEID", Type: types.String},
				},
				With: map[string]string{
					"KAFKA_TOPIC": "pageviews", "VALUE_FORMAT": "JSON", "PARTITIONS": "4",
					"REPLICAS": "1", "TIMESTAMP": "viewtime", "TIMESTAMP_FORMAT": "yyyy-MM-dd'T'HH:mm:ss",
				},
			},
		},
		{
			text: "create or replace table if not exists `Users` (`id` INT PRIMARY KEY, \"Name\" string, tags ARRAY<STRING>, " +
				"addr STRUCT<street VARCHAR(20), `zip` INT>, m MAP<STRING, DECIMAL(10, 2)>) with (KAFKA_TOPIC='users', KEY_FORMAT='KAFKA', wrap_single_value=false)",
			want: CreateSource{
				Kind: Table, Name: "Users", OrReplace: true, IfNotExists: true,
				Columns: []ColumnDef{
					{Name: "id", Type: types.Int, Key: true},
					{Name: "Name", Type: types.String},
					{Name: "TAGS", Type: types.Array(types.String)},
					{Name: "ADDR", Type: types.Struct(types.Field{Name: "STREET", Type: types.String}, types.Field{Name: "zip", Type: types.Int})},
					{Name: "M", Type: types.Map(types.String, types.Decimal(10, 2))},
				},
				With: map[string]string{"KAFKA_TOPIC": "users", "KEY_FORMAT": "KAFKA", "WRAP_SINGLE_VALUE": "FALSE"},
			},
		},
		{
			text: "CREATE STREAM s WITH (kafka_topic='t', value_format='JSON')",
			want: CreateSource{Kind: Stream, Name: "S", With: map[string]string{"KAFKA_TOPIC": "t", "VALUE_FORMAT": "JSON"}},
		},
		{
			text: "CREATE STREAM s (ts TIMESTAMP, d DATE, t TIME, b BYTES, ok BOOLEAN, x DOUBLE, n INTEGER)",
			want: CreateSource{Kind: Stream, Name: "S", Columns: []ColumnDef{
				{Name: "TS", Type: types.Timestamp}, {Name: "D", Type: types.Date}, {Name: "T", Type: types.Time},
				{Name: "B", Type: types.Bytes}, {Name: "OK", Type: types.Boolean}, {Name: "X", Type: types.Double},
				{Name: "N", Type: types.Int},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got, ok := parseOne(t, tc.text).(*CreateSource)
			if !ok {
				t.Fatalf("got %T, want *CreateSource", got)
			}
			if got.Text() != tc.text {
				t.Errorf("Text() = %q, want %q", got.Text(), tc.text)
			}
			tc.want.text = tc.text
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestParseCreateAsSelect(t *testing.T) {
	text := "CREATE TABLE pageviews_per_region WITH (kafka_topic='pvr', partitions=2) AS " +
		"SELECT regionid, COUNT(*) AS numusers FROM pageviews WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) " +
		"WHERE userid <> 'x' GROUP BY regionid HAVING COUNT(*) > 1 EMIT FINAL"
	c := parseOne(t, text).(*CreateSource)
	if c.Kind != Table || c.Name != "PAGEVIEWS_PER_REGION" || c.Columns != nil {
		t.Errorf("got %+v", c)
	}
	if want := map[string]string{"KAFKA_TOPIC": "pvr", "PARTITIONS": "2"}; !reflect.DeepEqual(c.With, want) {
		t.Errorf("With = %v, want %v", c.With, want)
	}
	q := c.Query
	if q == nil {
		t.Fatal("Query is nil")
	}
	if wantText := text[len("CREATE TABLE pageviews_per_region WITH (kafka_topic='pvr', partitions=2) AS "):]; q.Text() != wantText {
		t.Errorf("Query.Text() = %q, want %q", q.Text(), wantText)
	}
	if q.Emit != EmitFinal {
		t.Errorf("Emit = %v, want EmitFinal", q.Emit)
	}
	wantW := Window{Kind: Hopping, Size: 30 * time.Second, Advance: 10 * time.Second}
	if q.Window == nil || *q.Window != wantW {
		t.Errorf("Window = %+v, want %+v", q.Window, wantW)
	}
	if got, want := restore(t, q.Select), "SELECT `REGIONID`,COUNT(1) AS `NUMUSERS` FROM `PAGEVIEWS` WHERE `USERID`!=_UTF8MB4'x' GROUP BY `REGIONID` HAVING COUNT(1)>1"; got != want {
		t.Errorf("Select = %s\nwant     %s", got, want)
	}

	// CREATE STREAM ... AS SELECT without WITH, OR REPLACE.
	c = parseOne(t, "create or replace stream s2 as select * from s partition by k emit changes").(*CreateSource)
	if !c.OrReplace || c.Kind != Stream || c.Name != "S2" || c.With != nil || c.Query == nil || c.Query.Emit != EmitChanges || len(c.Query.PartitionBy) != 1 {
		t.Errorf("got %+v", c)
	}
}

func TestParseWindows(t *testing.T) {
	tests := []struct {
		clause string
		want   Window
	}{
		{"WINDOW TUMBLING (SIZE 1 HOUR)", Window{Kind: Tumbling, Size: time.Hour}},
		{"window tumbling (size 5 minutes, retention 7 days, grace period 0 seconds)",
			Window{Kind: Tumbling, Size: 5 * time.Minute, Retention: 7 * 24 * time.Hour, HasGrace: true}},
		{"WINDOW TUMBLING (SIZE 100 MILLISECONDS, GRACE PERIOD 1 MILLISECOND)",
			Window{Kind: Tumbling, Size: 100 * time.Millisecond, Grace: time.Millisecond, HasGrace: true}},
		{"WINDOW HOPPING (SIZE 1 DAY, ADVANCE BY 1 HOUR, RETENTION 2 DAYS, GRACE PERIOD 10 MINUTES)",
			Window{Kind: Hopping, Size: 24 * time.Hour, Advance: time.Hour, Retention: 48 * time.Hour, Grace: 10 * time.Minute, HasGrace: true}},
		{"WINDOW SESSION (60 SECONDS)", Window{Kind: Session, Size: time.Minute}},
		{"WINDOW SESSION (1 MINUTE, GRACE PERIOD 2 SECONDS)", Window{Kind: Session, Size: time.Minute, Grace: 2 * time.Second, HasGrace: true}},
	}
	for _, tc := range tests {
		t.Run(tc.clause, func(t *testing.T) {
			q := parseQuery(t, "SELECT k, COUNT(*) FROM s "+tc.clause+" GROUP BY k EMIT CHANGES")
			if q.Window == nil || *q.Window != tc.want {
				t.Errorf("Window = %+v, want %+v", q.Window, tc.want)
			}
			if got, want := restore(t, q.Select), "SELECT `K`,COUNT(1) FROM `S` GROUP BY `K`"; got != want {
				t.Errorf("Select = %s, want %s", got, want)
			}
		})
	}
	// The clause may also come after WHERE.
	q := parseQuery(t, "SELECT k FROM s WHERE a = 1 WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY k")
	if q.Window == nil || q.Window.Size != time.Second || q.Select.Where == nil || q.Select.GroupBy == nil {
		t.Errorf("got window %+v, select %s", q.Window, restore(t, q.Select))
	}
}

func TestParseSelectClauses(t *testing.T) {
	q := parseQuery(t, "SELECT * FROM s EMIT CHANGES LIMIT 5")
	if q.Emit != EmitChanges || q.Window != nil || q.PartitionBy != nil {
		t.Errorf("got %+v", q)
	}
	if got, want := restore(t, q.Select), "SELECT * FROM `S` LIMIT 5"; got != want {
		t.Errorf("Select = %s, want %s", got, want)
	}

	q = parseQuery(t, "select a, b from t where k = 'x'")
	if q.Emit != EmitNone {
		t.Errorf("Emit = %v, want EmitNone", q.Emit)
	}

	q = parseQuery(t, "SELECT a FROM s WHERE a > 0 PARTITION BY a->b, UCASE(c), key HAVING x EMIT CHANGES")
	var parts []string
	for _, e := range q.PartitionBy {
		parts = append(parts, restore(t, e))
	}
	if want := []string{"RUNNEL_FIELD(`A`, _UTF8MB4'B')", "UCASE(`C`)", "`KEY`"}; !reflect.DeepEqual(parts, want) {
		t.Errorf("PartitionBy = %q, want %q", parts, want)
	}
	if got, want := restore(t, q.Select), "SELECT `A` FROM `S` WHERE `A`>0 HAVING `X`"; got != want {
		t.Errorf("Select = %s, want %s", got, want)
	}

	// Joins, aliases and qualified names pass through to TiDB.
	q = parseQuery(t, "SELECT o.id, c.name AS cname FROM orders o LEFT JOIN customers AS c ON o.cid = c.id EMIT CHANGES")
	if got, want := restore(t, q.Select), "SELECT `O`.`ID`,`C`.`NAME` AS `CNAME` FROM `ORDERS` AS `O` LEFT JOIN `CUSTOMERS` AS `C` ON `O`.`CID`=`C`.`ID`"; got != want {
		t.Errorf("Select = %s\nwant     %s", got, want)
	}

	// Columns named like the streaming clauses' keywords still work.
	q = parseQuery(t, "SELECT emit, window, partition FROM s")
	if got, want := restore(t, q.Select), "SELECT `EMIT`,`WINDOW`,`PARTITION` FROM `S`"; got != want {
		t.Errorf("Select = %s, want %s", got, want)
	}
}

func TestParseInsert(t *testing.T) {
	ins := parseOne(t, "INSERT INTO s (id, `Name`, key) VALUES (1, 'a', NULL), ($1, ARRAY[1, 2], STRUCT(x := 1))").(*Insert)
	if ins.Target != "S" || !reflect.DeepEqual(ins.Columns, []string{"ID", "Name", "KEY"}) || ins.Query != nil {
		t.Errorf("got %+v", ins)
	}
	var rows [][]string
	for _, r := range ins.Rows {
		var row []string
		for _, e := range r {
			row = append(row, restore(t, e))
		}
		rows = append(rows, row)
	}
	want := [][]string{
		{"1", "_UTF8MB4'a'", "NULL"},
		{"RUNNEL_PARAM(1)", "RUNNEL_ARRAY(1, 2)", "RUNNEL_STRUCT(_UTF8MB4'X', 1)"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("Rows = %q, want %q", rows, want)
	}

	ins = parseOne(t, "insert into t values (1)").(*Insert)
	if ins.Target != "T" || ins.Columns != nil || len(ins.Rows) != 1 {
		t.Errorf("got %+v", ins)
	}

	ins = parseOne(t, "INSERT INTO all_events SELECT * FROM new_events EMIT CHANGES").(*Insert)
	if ins.Target != "ALL_EVENTS" || ins.Rows != nil || ins.Query == nil || ins.Query.Emit != EmitChanges {
		t.Errorf("got %+v", ins)
	}
	if ins.Query.Text() != "SELECT * FROM new_events EMIT CHANGES" {
		t.Errorf("Query.Text() = %q", ins.Query.Text())
	}
}

func TestParseCommands(t *testing.T) {
	tests := []struct {
		text string
		want Statement
	}{
		{"SHOW STREAMS", &Show{What: ShowStreams}},
		{"list tables extended", &Show{What: ShowTables, Extended: true}},
		{"SHOW QUERIES", &Show{What: ShowQueries}},
		{"SHOW TOPICS", &Show{What: ShowTopics}},
		{"SHOW ALL TOPICS EXTENDED", &Show{What: ShowTopics, Extended: true}},
		{"LIST PROPERTIES", &Show{What: ShowProperties}},
		{"show functions", &Show{What: ShowFunctions}},
		{"SHOW NODES", &Show{What: ShowNodes}},
		{"list nodes extended", &Show{What: ShowNodes, Extended: true}},
		{"DESCRIBE pageviews", &Describe{Name: "PAGEVIEWS"}},
		{"DESCRIBE EXTENDED `pv`", &Describe{Name: "pv", Extended: true}},
		{"describe pv extended", &Describe{Name: "PV", Extended: true}},
		{"DESCRIBE FUNCTION ucase", &Describe{Name: "UCASE", Function: true}},
		{"DESCRIBE extended", &Describe{Name: "EXTENDED"}},
		{"DROP STREAM s", &Drop{Kind: Stream, Name: "S"}},
		{"drop table if exists \"T\" delete topic", &Drop{Kind: Table, Name: "T", IfExists: true, DeleteTopic: true}},
		{"TERMINATE csas_s2_1", &Terminate{QueryID: "CSAS_S2_1"}},
		{"TERMINATE ALL", &Terminate{All: true}},
		{"SET 'auto.offset.reset' = 'earliest'", &Set{Name: "auto.offset.reset", Value: "earliest"}},
		{"SET 'ksql.streams.num.stream.threads'=4", &Set{Name: "ksql.streams.num.stream.threads", Value: "4"}},
		{"UNSET 'auto.offset.reset'", &Unset{Name: "auto.offset.reset"}},
		{"PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 10", &Print{Topic: "my-topic", FromBeginning: true, Interval: 2, Limit: 10}},
		{"print pageViews", &Print{Topic: "pageViews"}},
		{"PRINT my-topic.v1 LIMIT 3", &Print{Topic: "my-topic.v1", Limit: 3}},
		{"PRINT `Topic` SAMPLE 5", &Print{Topic: "Topic", Interval: 5}},
		{"EXPLAIN csas_s2_1", &Explain{QueryID: "CSAS_S2_1"}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got := parseOne(t, tc.text)
			if got.Text() != tc.text {
				t.Errorf("Text() = %q, want %q", got.Text(), tc.text)
			}
			setText(tc.want, tc.text)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// setText fills the unexported text field of an expected statement.
func setText(s Statement, text string) {
	switch s := s.(type) {
	case *Show:
		s.text = text
	case *Describe:
		s.text = text
	case *Drop:
		s.text = text
	case *Terminate:
		s.text = text
	case *Set:
		s.text = text
	case *Unset:
		s.text = text
	case *Print:
		s.text = text
	case *Explain:
		s.text = text
	}
}

func TestParseExplain(t *testing.T) {
	e := parseOne(t, "EXPLAIN SELECT * FROM s EMIT CHANGES").(*Explain)
	sel, ok := e.Statement.(*Select)
	if !ok || sel.Query.Emit != EmitChanges || e.QueryID != "" {
		t.Fatalf("got %+v", e)
	}
	if sel.Text() != "SELECT * FROM s EMIT CHANGES" || e.Text() != "EXPLAIN SELECT * FROM s EMIT CHANGES" {
		t.Errorf("texts %q / %q", sel.Text(), e.Text())
	}
	e = parseOne(t, "explain create stream x as select * from s").(*Explain)
	if c, ok := e.Statement.(*CreateSource); !ok || c.Name != "X" || c.Query == nil {
		t.Errorf("got %+v", e.Statement)
	}
	e = parseOne(t, "EXPLAIN INSERT INTO x SELECT * FROM s").(*Explain)
	if i, ok := e.Statement.(*Insert); !ok || i.Target != "X" || i.Query == nil {
		t.Errorf("got %+v", e.Statement)
	}
}

func TestParseSplitting(t *testing.T) {
	text := "SELECT 'a;b' AS \"x;y\", `c;d` FROM s; -- comment; here\n" +
		"/* block; comment */ SHOW STREAMS ;;; \n  ; DROP STREAM s /* trailing */ ; -- end"
	stmts, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, s := range stmts {
		texts = append(texts, s.Text())
	}
	want := []string{"SELECT 'a;b' AS \"x;y\", `c;d` FROM s", "SHOW STREAMS", "DROP STREAM s"}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("texts = %q, want %q", texts, want)
	}
	q := stmts[0].(*Select).Query
	if got, want := restore(t, q.Select), "SELECT _UTF8MB4'a;b' AS `x;y`,`c;d` FROM `S`"; got != want {
		t.Errorf("Select = %s, want %s", got, want)
	}
	for _, empty := range []string{"", "  ", ";", " ; ;", "-- only a comment", "/* x */;"} {
		stmts, err := Parse(empty)
		if err != nil || len(stmts) != 0 {
			t.Errorf("Parse(%q) = %v, %v; want no statements", empty, stmts, err)
		}
	}
}

func TestIdentifierCase(t *testing.T) {
	q := parseQuery(t, "SELECT myCol, \"myCol\", `MyCol`, t.Col, \"T\".\"c\" FROM myStream t")
	var got []string
	for _, f := range q.Select.Fields.Fields {
		got = append(got, restore(t, f.Expr))
	}
	want := []string{"`MYCOL`", "`myCol`", "`MyCol`", "`T`.`COL`", "`T`.`c`"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
	c := parseOne(t, "CREATE STREAM abc (x INT) WITH (kafka_topic='Abc')").(*CreateSource)
	if c.Name != "ABC" || c.Columns[0].Name != "X" || c.With["KAFKA_TOPIC"] != "Abc" {
		t.Errorf("got %+v", c)
	}
	// String literals are never touched by case folding.
	q = parseQuery(t, "SELECT 'MiXeD' FROM s")
	if got, want := restore(t, q.Select), "SELECT _UTF8MB4'MiXeD' FROM `S`"; got != want {
		t.Errorf("Select = %s, want %s", got, want)
	}
}

func TestParseJoinWithin(t *testing.T) {
	tests := []struct{ text, want string }{
		{
			"SELECT * FROM a JOIN b WITHIN 1 HOUR ON a.id = b.id EMIT CHANGES",
			"SELECT * FROM `A` JOIN `B` ON RUNNEL_WITHIN(3600000, 3600000) AND (`A`.`ID`=`B`.`ID`)",
		},
		{
			"SELECT * FROM a LEFT JOIN b WITHIN (10 SECONDS, 1 MINUTE) GRACE PERIOD 5 SECONDS ON a.id = b.id OR a.x = 1 WHERE a.y > 0",
			"SELECT * FROM `A` LEFT JOIN `B` ON RUNNEL_WITHIN(10000, 60000, 5000) AND (`A`.`ID`=`B`.`ID` OR `A`.`X`=1) WHERE `A`.`Y`>0",
		},
		{
			"SELECT * FROM a JOIN b WITHIN 1 SECOND ON a.k = b.k JOIN c WITHIN 2 SECONDS ON (a.k = c.k) PARTITION BY a.k",
			"SELECT * FROM (`A` JOIN `B` ON RUNNEL_WITHIN(1000, 1000) AND (`A`.`K`=`B`.`K`)) JOIN `C` ON RUNNEL_WITHIN(2000, 2000) AND ((`A`.`K`=`C`.`K`))",
		},
		{
			// A stream-table join has no WITHIN and is left alone.
			"SELECT * FROM s JOIN t ON s.k = t.k",
			"SELECT * FROM `S` JOIN `T` ON `S`.`K`=`T`.`K`",
		},
		{
			// FULL [OUTER] JOIN, which TiDB lacks: a LEFT JOIN marked in ON.
			"SELECT * FROM a FULL OUTER JOIN b ON a.id = b.id",
			"SELECT * FROM `A` LEFT JOIN `B` ON RUNNEL_FULL_JOIN() AND (`A`.`ID`=`B`.`ID`)",
		},
		{
			// Without OUTER FULL is not taken for an alias of a.
			"SELECT * FROM a full JOIN b ON a.id = b.id",
			"SELECT * FROM `A` LEFT JOIN `B` ON RUNNEL_FULL_JOIN() AND (`A`.`ID`=`B`.`ID`)",
		},
		{
			"SELECT * FROM a x FULL JOIN b y WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 0 SECONDS ON x.id = y.id AND x.v > 1",
			"SELECT * FROM `A` AS `X` LEFT JOIN `B` AS `Y` ON RUNNEL_FULL_JOIN() AND RUNNEL_WITHIN(1000, 2000, 0) AND (`X`.`ID`=`Y`.`ID` AND `X`.`V`>1)",
		},
		{
			// An n-way chain mixing the kinds.
			"SELECT * FROM s JOIN s2 WITHIN 10 SECONDS ON s.id = s2.id FULL OUTER JOIN t ON s.id = t.id RIGHT OUTER JOIN u ON s.id = u.id LEFT JOIN v ON s.id = v.id",
			"SELECT * FROM (((`S` JOIN `S2` ON RUNNEL_WITHIN(10000, 10000) AND (`S`.`ID`=`S2`.`ID`)) LEFT JOIN `T` ON RUNNEL_FULL_JOIN() AND (`S`.`ID`=`T`.`ID`)) RIGHT JOIN `U` ON `S`.`ID`=`U`.`ID`) LEFT JOIN `V` ON `S`.`ID`=`V`.`ID`",
		},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			q := parseQuery(t, tc.text)
			if got := restore(t, q.Select); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{
		"SELECT * FROM a JOIN b WITHIN 1 HOUR WHERE x",
		"SELECT * FROM a JOIN b WITHIN (1 HOUR) ON a.k = b.k",
		"SELECT * FROM a JOIN b WITHIN 1 HOUR ON",
		"SELECT * FROM a FULL JOIN b",
		"SELECT * FROM a FULL OUTER JOIN b WHERE a.x = 1",
		"SELECT * FROM a FULL JOIN b WITHIN 1 HOUR",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", bad)
		}
	}
}

// TestPostgresSessionStatements: what PostgreSQL drivers send on their own.
func TestPostgresSessionStatements(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Statement
	}{
		{"SET extra_float_digits = 3", &Set{Name: "extra_float_digits", Value: "3"}},
		{"SET SESSION application_name TO 'psql'", &Set{Name: "application_name", Value: "psql"}},
		{"SET search_path TO public, other", &Set{Name: "search_path", Value: "public, other"}},
		{"SET TIME ZONE 'UTC'", &Set{Name: "timezone", Value: "UTC"}},
		{"SET 'auto.offset.reset' = 'earliest'", &Set{Name: "auto.offset.reset", Value: "earliest"}},
		{"RESET ALL", &Unset{All: true}},
		{"RESET statement_timeout", &Unset{Name: "statement_timeout"}},
		{"SHOW server_version", &ShowVariable{Name: "server_version"}},
		{"SHOW TRANSACTION ISOLATION LEVEL", &ShowVariable{Name: "transaction isolation level"}},
		{"BEGIN", &Transaction{Kind: TxnBegin, Verb: "BEGIN"}},
		{"START TRANSACTION READ ONLY", &Transaction{Kind: TxnBegin, Verb: "BEGIN", Modes: TxnModes{ReadOnly: true, ReadOnlySet: true}}},
		{"COMMIT", &Transaction{Kind: TxnCommit, Verb: "COMMIT"}},
		{"ROLLBACK WORK", &Transaction{Kind: TxnRollback, Verb: "ROLLBACK"}},
	} {
		stmts, err := Parse(tc.text)
		if err != nil {
			t.Errorf("%s: %v", tc.text, err)
			continue
		}
		got := stmts[0]
		// Compare without the source text.
		switch g := got.(type) {
		case *Set:
			g.text = ""
		case *Unset:
			g.text = ""
		case *ShowVariable:
			g.text = ""
		case *Transaction:
			g.text = ""
		}
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.text, got, tc.want)
		}
	}
}
