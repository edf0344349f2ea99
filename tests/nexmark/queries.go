package nexmark

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// Query is one Nexmark query: its statement in Runnel SQL, or why Runnel
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

	// The rest is set for supported queries only.

	// SQL is the CREATE STREAM|TABLE ... AS SELECT of queries/<Name>.sql,
	// without its comments and final semicolon.
	SQL string
	// Input is the stream the query reads.
	Input Kind
	// Table is true when the query aggregates into a table (and so has
	// state); false for a stream of rows.
	Table bool
	// Sink is the stream or table the query creates, upper-cased as Runnel
	// names it.
	Sink string
}

// Supported reports whether Runnel runs the query.
func (q *Query) Supported() bool { return q.NotSupported == "" }

// joinsIssue is the reason of every query that needs a join.
const joinsIssue = "needs a join, which Runnel does not have yet (issue 7)"

// queryList is every query of nexmark-flink's suite, in order. Each
// supported query's statement is in queries/<name>.sql, whose comment says
// how it was checked against nexmark-flink's (and RisingWave's) text.
var queryList = []Query{
	{Name: "q0", Title: "pass through", Input: KindBid},
	{Name: "q1", Title: "currency conversion", Input: KindBid},
	{Name: "q2", Title: "selection", Input: KindBid},
	{Name: "q3", Title: "local item suggestion", NotSupported: joinsIssue + ": auctions with their sellers"},
	{Name: "q4", Title: "average price for a category", NotSupported: joinsIssue + ": bids within their auction's lifetime, then an aggregate of an aggregate"},
	{Name: "q5", Title: "hot items", NotSupported: joinsIssue + ": each hopping window's counts with the window's maximum count"},
	{Name: "q6", Title: "average selling price by seller", NotSupported: joinsIssue + ", and an OVER window of the last 10 rows (nexmark-flink does not run it either)"},
	{Name: "q7", Title: "highest bid", NotSupported: joinsIssue + ": bids with their tumbling window's highest price"},
	{Name: "q8", Title: "monitor new users", NotSupported: joinsIssue + ": people and auctions in the same tumbling window"},
	{Name: "q9", Title: "winning bids", NotSupported: joinsIssue + ", and ROW_NUMBER() for the top bid of each auction"},
	{Name: "q10", Title: "log to file system", Input: KindBid},
	{Name: "q11", Title: "user sessions", Input: KindBid, Table: true},
	{Name: "q12", Title: "processing time windows", NotSupported: "windows on processing time (PROCTIME()): Runnel's windows are on event time"},
	{Name: "q13", Title: "bounded side input join", NotSupported: joinsIssue + ": bids with a side input"},
	{Name: "q14", Title: "calculation", Input: KindBid},
	{Name: "q15", Title: "bidding statistics report", Input: KindBid, Table: true},
	{Name: "q16", Title: "channel statistics report", Input: KindBid, Table: true},
	{Name: "q17", Title: "auction statistics report", Input: KindBid, Table: true},
	{Name: "q18", Title: "find last bid", NotSupported: "needs ROW_NUMBER() to keep each bidder's latest bid per auction by event time; " +
		"LATEST_BY_OFFSET keeps the latest by offset, which differs once a key's bids span partitions"},
	{Name: "q19", Title: "auction top-10 price", NotSupported: "needs ROW_NUMBER() to keep each auction's 10 highest bids as rows; TOPK keeps values, not rows"},
	{Name: "q20", Title: "expand bid with auction", NotSupported: joinsIssue + ": bids with their auction"},
	{Name: "q21", Title: "add channel id", Input: KindBid},
	{Name: "q22", Title: "get URL directories", Input: KindBid},
	{Name: "q23", Title: "multi-way join", NotSupported: joinsIssue + ": bids with their bidder and auction"},
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
			q.SQL = statement(string(text))
			q.Sink = "NEXMARK_" + strings.ToUpper(q.Name)
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

// statement strips a query file's comment lines and final semicolon.
func statement(text string) string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		lines = append(lines, strings.TrimRight(line, " \t\r"))
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")
}
