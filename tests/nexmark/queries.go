package nexmark

import (
	"embed"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// Query is one Nexmark query: its statements in Runnel SQL, or why Runnel
// cannot run it yet.
type Query struct {
	// Name is the query's number, "q0" to "q23", as nexmark-flink numbers
	// them.
	Name string
	// Title is what the query computes, in the suite's words.
	Title string
	// NotSupported, when set, is why Runnel cannot express the query: the
	// query is listed, never rewritten into something else.
	NotSupported string

	// The rest is set for supported queries only, from queries/<Name>.sql.

	// Stages are the file's statements in order, each a persistent query
	// (CREATE STREAM|TABLE ... AS SELECT, or INSERT INTO an earlier
	// stage's stream) or a declaration over an earlier stage's sink topic:
	// most queries have one; one that Runnel can only write as several (it
	// has no subqueries) has a stage per step, each reading the events or
	// earlier stages' sinks, and the last writing the query's result.
	Stages []Stage
	// SQL is every stage's statement, separated by ";\n\n" (without the
	// last semicolon).
	SQL string
	// Inputs are the event streams the query reads, through any stage,
	// in Kind order: their records are the query's events.
	Inputs []Kind
	// Table is true when the last stage writes a table; false for a
	// stream of rows.
	Table bool
	// Sink is the last stage's stream or table, upper-cased as Runnel
	// names it: NEXMARK_<NAME>.
	Sink string
}

// Stage is one statement of a query.
type Stage struct {
	// SQL is the CREATE STREAM|TABLE ... AS SELECT, or the declaration
	// CREATE STREAM|TABLE name (columns) WITH (kafka_topic='...', ...),
	// without comments and final semicolon.
	SQL string
	// Sink is the stream or table it creates, upper-cased.
	Sink string
	// Topic is Sink's topic: Sink itself for a persistent query, the
	// kafka_topic of a declaration (an earlier stage's topic).
	Topic string
	// Table is true when it creates a table.
	Table bool
	// Declared is true for a declaration: it starts no persistent query,
	// so it has no query id, nothing to wait for, and dropping it leaves
	// its topic to the stage that writes it. q5 reads a table's changelog
	// back as a stream this way.
	Declared bool
	// Insert is true for an INSERT INTO an earlier stage's stream: a
	// persistent query of its own, writing into that stage's topic, which
	// it leaves to that stage to drop. q7 writes the bids that meet two
	// windows into its one keyed stream this way.
	Insert bool
	// Inputs are the topics it reads: event topics, or the topics of
	// earlier stages. A declaration reads its Topic.
	Inputs []string
}

// readsEvents reports whether the stage reads only event topics.
func (s *Stage) readsEvents() bool {
	for _, in := range s.Inputs {
		if kindOfTopic(in) < 0 {
			return false
		}
	}
	return true
}

// kindOfTopic is the event kind whose topic is topic, or -1.
func kindOfTopic(topic string) int {
	for k, t := range Topics {
		if t == topic {
			return k
		}
	}
	return -1
}

// Supported reports whether Runnel runs the query.
func (q *Query) Supported() bool { return q.NotSupported == "" }

// queryList is every query of nexmark-flink's suite, in order. Each
// supported query's statements are in queries/<name>.sql, whose comment
// says how they were checked against nexmark-flink's (and RisingWave's)
// text; what a query reads and writes is read from its statements.
var queryList = []Query{
	{Name: "q0", Title: "pass through"},
	{Name: "q1", Title: "currency conversion"},
	{Name: "q2", Title: "selection"},
	{Name: "q3", Title: "local item suggestion"},
	{Name: "q4", Title: "average price for a category"},
	{Name: "q5", Title: "hot items"},
	{Name: "q6", Title: "average selling price by seller", NotSupported: "needs an OVER window (AVG over each seller's last 10 final prices, " +
		"ROWS BETWEEN 10 PRECEDING AND CURRENT ROW): Runnel has none (nexmark-flink does not run q6 either)"},
	{Name: "q7", Title: "highest bid"},
	{Name: "q8", Title: "monitor new users"},
	{Name: "q9", Title: "winning bids", NotSupported: "needs each auction's highest bid within its lifetime kept as a row, ties going to the earliest bid: " +
		"ksqlDB has no ROW_NUMBER(); its TOPK with other columns keeps rows (q18 uses it) but orders them by one column, earlier arrivals first among equal values, " +
		"so price descending then time ascending would need one sort column that compares as that pair; not written yet"},
	{Name: "q10", Title: "log to file system"},
	{Name: "q11", Title: "user sessions"},
	{Name: "q12", Title: "processing time windows", NotSupported: "windows on processing time (PROCTIME()): Runnel's windows are on event time"},
	{Name: "q13", Title: "bounded side input join", NotSupported: "joins the bids with a side input read from a file at processing time " +
		"(FOR SYSTEM_TIME AS OF PROCTIME()): Runnel reads topics only, and joins on event time"},
	{Name: "q14", Title: "calculation"},
	{Name: "q15", Title: "bidding statistics report"},
	{Name: "q16", Title: "channel statistics report"},
	{Name: "q17", Title: "auction statistics report"},
	{Name: "q18", Title: "find last bid"},
	{Name: "q19", Title: "auction top-10 price", NotSupported: "needs each auction's 10 highest bids as rows with their rank: ksqlDB has no ROW_NUMBER(); " +
		"its TOPK with other columns (q18 uses it) keeps the 10 rows as one array per auction, and rows need that table's changelog read back as a stream, " +
		"exploded with each element's position and regrouped per auction and position; not written yet, and ties on price are broken differently " +
		"(nexmark-flink leaves their order unspecified, TOPK puts earlier arrivals first)"},
	{Name: "q20", Title: "expand bid with auction"},
	{Name: "q21", Title: "add channel id"},
	{Name: "q22", Title: "get URL directories"},
	{Name: "q23", Title: "multi-way join", NotSupported: "not written yet: a regular (unwindowed) three-way join of the bids with the people " +
		"who bid and the auctions those people sell; Runnel's n-way chains start with a stream and window their stream-stream steps, " +
		"and whether a window can hold every match (a bidder may have registered 50,000 events earlier) is not worked out"},
}

// Queries returns every query of the suite, supported or not, in order.
func Queries() []Query {
	out := make([]Query, len(queryList))
	for i, q := range queryList {
		if q.Supported() {
			text, err := queryFiles.ReadFile("queries/" + q.Name + ".sql")
			if err != nil {
				// The test TestQueryFiles keeps the list and the files in
				// step; a mismatch is a build of a broken tree.
				panic(fmt.Sprintf("nexmark: query %s has no file: %v", q.Name, err))
			}
			if err := q.parse(string(text)); err != nil {
				panic(fmt.Sprintf("nexmark: queries/%s.sql: %v", q.Name, err))
			}
		}
		out[i] = q
	}
	return out
}

// Lookup returns the query called name ("q3"), or false.
func Lookup(name string) (Query, bool) {
	for _, q := range Queries() {
		if strings.EqualFold(q.Name, name) {
			return q, true
		}
	}
	return Query{}, false
}

var (
	createRE  = regexp.MustCompile(`(?is)^CREATE\s+(STREAM|TABLE)\s+(\w+)\s+(?:WITH\s*\([^)]*\)\s*)?AS\s`)
	insertRE  = regexp.MustCompile(`(?is)^INSERT\s+INTO\s+(\w+)\s+SELECT\s`)
	declareRE = regexp.MustCompile(`(?is)^CREATE\s+(STREAM|TABLE)\s+(\w+)\s*\(.*\)\s*WITH\s*\((.*)\)$`)
	topicRE   = regexp.MustCompile(`(?i)\bkafka_topic\s*=\s*'([^']*)'`)
	sourceRE  = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+(\w+)`)
)

// parse fills in the stages of a query file's text: statements separated
// by semicolons at the ends of lines, the last one's sink NEXMARK_<NAME>.
func (q *Query) parse(text string) error {
	topics := map[string]string{} // earlier stages' sinks, upper-cased, to their topics
	inputs := map[Kind]bool{}
	var sqls []string
	for _, st := range statements(text) {
		s, err := parseStage(st, topics, inputs)
		if err != nil {
			return err
		}
		topics[s.Sink] = s.Topic
		q.Stages = append(q.Stages, s)
		sqls = append(sqls, st)
	}
	if len(q.Stages) == 0 {
		return errors.New("no statement")
	}
	last := q.Stages[len(q.Stages)-1]
	if want := "NEXMARK_" + strings.ToUpper(q.Name); last.Sink != want || last.Declared || last.Insert {
		return fmt.Errorf("the last statement creates %s, not %s AS SELECT", last.Sink, want)
	}
	for k := range Streams {
		if inputs[Kind(k)] {
			q.Inputs = append(q.Inputs, Kind(k))
		}
	}
	q.SQL = strings.Join(sqls, ";\n\n")
	q.Table, q.Sink = last.Table, last.Sink
	return nil
}

// parseStage reads one statement. topics maps the earlier stages' sinks
// to their topics; inputs gets the event kinds the statement reads.
func parseStage(st string, topics map[string]string, inputs map[Kind]bool) (Stage, error) {
	if m := declareRE.FindStringSubmatch(st); m != nil && createRE.FindStringSubmatch(st) == nil {
		// A declaration over an earlier stage's topic: an event stream is
		// declared by DDL, never by a query.
		t := topicRE.FindStringSubmatch(m[3])
		if t == nil {
			return Stage{}, fmt.Errorf("declaration of %s names no kafka_topic: %q", m[2], st)
		}
		if !slices.Contains(slices.Collect(maps.Values(topics)), t[1]) {
			return Stage{}, fmt.Errorf("%s is declared over %s, not an earlier stage's topic", m[2], t[1])
		}
		return Stage{SQL: st, Sink: strings.ToUpper(m[2]), Topic: t[1], Table: strings.EqualFold(m[1], "TABLE"),
			Declared: true, Inputs: []string{t[1]}}, nil
	}
	var s Stage
	if m := insertRE.FindStringSubmatch(st); m != nil {
		sink := strings.ToUpper(m[1])
		topic, ok := topics[sink]
		if !ok {
			return Stage{}, fmt.Errorf("INSERT INTO %s, not an earlier stage", m[1])
		}
		s = Stage{SQL: st, Sink: sink, Topic: topic, Insert: true}
	} else if m := createRE.FindStringSubmatch(st); m != nil {
		s = Stage{SQL: st, Sink: strings.ToUpper(m[2]), Table: strings.EqualFold(m[1], "TABLE")}
		s.Topic = s.Sink
	} else {
		return Stage{}, fmt.Errorf("not a CREATE STREAM|TABLE ... AS, an INSERT INTO ... SELECT, nor a declaration over a stage's topic: %q", st)
	}
	for _, src := range sourceRE.FindAllStringSubmatch(st, -1) {
		name := strings.ToLower(src[1])
		topic := ""
		for k, n := range Streams {
			if n == name {
				topic = Topics[k]
				inputs[Kind(k)] = true
			}
		}
		if topic == "" {
			var ok bool
			if topic, ok = topics[strings.ToUpper(name)]; !ok {
				return Stage{}, fmt.Errorf("%s reads %s, neither an event stream nor an earlier stage", s.Sink, name)
			}
		}
		if !slices.Contains(s.Inputs, topic) {
			s.Inputs = append(s.Inputs, topic)
		}
	}
	if len(s.Inputs) == 0 {
		return Stage{}, fmt.Errorf("%s reads nothing", s.Sink)
	}
	return s, nil
}

// statements strips a query file's comment lines and splits it into its
// statements, at semicolons that end a line.
func statements(text string) []string {
	var out []string
	var lines []string
	flush := func() {
		if st := strings.TrimSpace(strings.Join(lines, "\n")); st != "" {
			out = append(out, st)
		}
		lines = lines[:0]
	}
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		line = strings.TrimRight(line, " \t\r")
		if strings.HasSuffix(line, ";") {
			lines = append(lines, strings.TrimSuffix(line, ";"))
			flush()
			continue
		}
		lines = append(lines, line)
	}
	flush()
	return out
}
