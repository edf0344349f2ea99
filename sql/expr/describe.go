package expr

import (
	"sort"
	"strings"
)

// FunctionKind is what SHOW FUNCTIONS calls a function's type, as ksqlDB
// does: SCALAR, AGGREGATE or TABLE.
type FunctionKind uint8

// The kinds of function.
const (
	KindScalar FunctionKind = iota
	KindAggregate
	KindTable
)

func (k FunctionKind) String() string {
	switch k {
	case KindAggregate:
		return "AGGREGATE"
	case KindTable:
		return "TABLE"
	}
	return "SCALAR"
}

// Description is a function as SHOW FUNCTIONS and DESCRIBE FUNCTION
// present it: every kind of function, the scalar functions of the
// registry, the aggregates the planner hands to its aggregate hook and
// the table functions (table.go).
type Description struct {
	Name        string // upper-case
	Kind        FunctionKind
	Category    string
	Description string
	// Signatures has one line per overload, e.g. "SUM(INT) -> INT".
	Signatures []string
}

// aggregateDoc describes one aggregate. The operators implement them
// (operators/agg); this package only needs their names, to hand a call
// to the Binder's Aggregate hook, and their descriptions.
type aggregateDoc struct {
	desc string
	sigs []string
}

// aggregates are ksqlDB's aggregate functions Runnel has (and three of
// its own: STDDEV_POP, VAR_SAMP and VAR_POP), with the overloads the
// aggregate operators accept (operators/agg resolves them; a name here
// that it does not know fails when a query is planned).
var aggregates = map[string]aggregateDoc{
	"ATTR": {"Returns the value of a column if every row of the group has that value (NULL counting as one), NULL otherwise.",
		[]string{"ATTR(T) -> T"}},
	"AVG": {"Returns the average value of a column.",
		[]string{"AVG(INT) -> DOUBLE", "AVG(BIGINT) -> DOUBLE", "AVG(DOUBLE) -> DOUBLE", "AVG(DECIMAL) -> DOUBLE"}},
	"COLLECT_LIST": {"Returns an array of all the values of a column in the group, up to 1000.",
		[]string{"COLLECT_LIST(T) -> ARRAY<T>"}},
	"COLLECT_SET": {"Returns an array of the distinct values of a column in the group, up to 1000.",
		[]string{"COLLECT_SET(T) -> ARRAY<T>"}},
	"CORRELATION": {"Returns the Pearson correlation coefficient of two columns over the rows where neither is NULL; NaN for fewer than two.",
		[]string{"CORRELATION(DOUBLE, DOUBLE) -> DOUBLE", "CORRELATION(INT, INT) -> DOUBLE", "CORRELATION(BIGINT, BIGINT) -> DOUBLE"}},
	"COUNT": {"Counts the rows, or the rows where the column is not NULL.",
		[]string{"COUNT(*) -> BIGINT", "COUNT(T) -> BIGINT"}},
	"COUNT_DISTINCT": {"Returns the number of distinct values of a column (exactly, where ksqlDB estimates).",
		[]string{"COUNT_DISTINCT(T) -> BIGINT"}},
	"EARLIEST_BY_OFFSET": {"Returns the earliest value of a column, or the earliest n as an array; NULLs are ignored unless ignoreNulls is false.",
		[]string{"EARLIEST_BY_OFFSET(T) -> T", "EARLIEST_BY_OFFSET(T, BOOLEAN) -> T", "EARLIEST_BY_OFFSET(T, INT) -> ARRAY<T>", "EARLIEST_BY_OFFSET(T, INT, BOOLEAN) -> ARRAY<T>"}},
	"HISTOGRAM": {"Returns a map of each distinct value of a column to the number of times it occurs, up to 1000 values.",
		[]string{"HISTOGRAM(STRING) -> MAP<STRING, BIGINT>"}},
	"LATEST_BY_OFFSET": {"Returns the latest value of a column, or the latest n as an array; NULLs are ignored unless ignoreNulls is false.",
		[]string{"LATEST_BY_OFFSET(T) -> T", "LATEST_BY_OFFSET(T, BOOLEAN) -> T", "LATEST_BY_OFFSET(T, INT) -> ARRAY<T>", "LATEST_BY_OFFSET(T, INT, BOOLEAN) -> ARRAY<T>"}},
	"MAX": {"Returns the largest value of a column; NULLs are ignored.",
		[]string{"MAX(INT) -> INT", "MAX(BIGINT) -> BIGINT", "MAX(DOUBLE) -> DOUBLE", "MAX(DECIMAL) -> DECIMAL", "MAX(STRING) -> STRING", "MAX(BYTES) -> BYTES", "MAX(DATE) -> DATE", "MAX(TIME) -> TIME", "MAX(TIMESTAMP) -> TIMESTAMP"}},
	"MIN": {"Returns the smallest value of a column; NULLs are ignored.",
		[]string{"MIN(INT) -> INT", "MIN(BIGINT) -> BIGINT", "MIN(DOUBLE) -> DOUBLE", "MIN(DECIMAL) -> DECIMAL", "MIN(STRING) -> STRING", "MIN(BYTES) -> BYTES", "MIN(DATE) -> DATE", "MIN(TIME) -> TIME", "MIN(TIMESTAMP) -> TIMESTAMP"}},
	"STDDEV_POP": {"Returns the population standard deviation of a column (Runnel's; not in ksqlDB).",
		[]string{"STDDEV_POP(INT) -> DOUBLE", "STDDEV_POP(BIGINT) -> DOUBLE", "STDDEV_POP(DOUBLE) -> DOUBLE", "STDDEV_POP(DECIMAL) -> DOUBLE"}},
	"STDDEV_SAMP": {"Returns the sample standard deviation of a column.",
		[]string{"STDDEV_SAMP(INT) -> DOUBLE", "STDDEV_SAMP(BIGINT) -> DOUBLE", "STDDEV_SAMP(DOUBLE) -> DOUBLE", "STDDEV_SAMP(DECIMAL) -> DOUBLE"}},
	"STDDEV_SAMPLE": {"Returns the sample standard deviation of a column.",
		[]string{"STDDEV_SAMPLE(INT) -> DOUBLE", "STDDEV_SAMPLE(BIGINT) -> DOUBLE", "STDDEV_SAMPLE(DOUBLE) -> DOUBLE", "STDDEV_SAMPLE(DECIMAL) -> DOUBLE"}},
	"SUM": {"Sums a column; NULLs are ignored.",
		[]string{"SUM(INT) -> INT", "SUM(BIGINT) -> BIGINT", "SUM(DOUBLE) -> DOUBLE", "SUM(DECIMAL) -> DECIMAL"}},
	"SUM_LIST": {"Sums the elements of the arrays of a column, from 0; NULL arrays and elements are ignored.",
		[]string{"SUM_LIST(ARRAY<INT>) -> INT", "SUM_LIST(ARRAY<BIGINT>) -> BIGINT", "SUM_LIST(ARRAY<DOUBLE>) -> DOUBLE"}},
	"TOPK": {"Returns the k largest values of a column, largest first; with other columns, their rows as STRUCTs of sort_col and col0, col1, ...",
		[]string{"TOPK(T, INT) -> ARRAY<T>", "TOPK(T, U..., INT) -> ARRAY<STRUCT<sort_col T, col0 U, ...>>"}},
	"TOPKDISTINCT": {"Returns the k largest distinct values of a column, largest first.",
		[]string{"TOPKDISTINCT(T, INT) -> ARRAY<T>"}},
	"VAR_POP": {"Returns the population variance of a column (Runnel's; not in ksqlDB).",
		[]string{"VAR_POP(INT) -> DOUBLE", "VAR_POP(BIGINT) -> DOUBLE", "VAR_POP(DOUBLE) -> DOUBLE", "VAR_POP(DECIMAL) -> DOUBLE"}},
	"VAR_SAMP": {"Returns the sample variance of a column (Runnel's; not in ksqlDB).",
		[]string{"VAR_SAMP(INT) -> DOUBLE", "VAR_SAMP(BIGINT) -> DOUBLE", "VAR_SAMP(DOUBLE) -> DOUBLE", "VAR_SAMP(DECIMAL) -> DOUBLE"}},
}

// IsAggregate reports whether name (any case) is one of the aggregate
// functions.
func IsAggregate(name string) bool {
	_, ok := aggregates[strings.ToUpper(name)]
	return ok
}

// Aggregates lists the aggregate functions' names, sorted.
func Aggregates() []string {
	out := make([]string, 0, len(aggregates))
	for n := range aggregates {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Describe describes the function called name (any case) of any kind.
func Describe(name string) (Description, bool) {
	name = strings.ToUpper(name)
	if f, ok := Lookup(name); ok {
		return Description{Name: f.Name, Kind: KindScalar, Category: f.Category, Description: f.Description, Signatures: f.Signatures()}, true
	}
	if a, ok := aggregates[name]; ok {
		return Description{Name: name, Kind: KindAggregate, Category: "AGGREGATE", Description: a.desc, Signatures: a.sigs}, true
	}
	if t, ok := tableFunctions[name]; ok {
		return Description{Name: name, Kind: KindTable, Category: "TABLE", Description: t.Description, Signatures: t.Sigs}, true
	}
	return Description{}, false
}

// Descriptions lists every function of every kind, sorted by name, for
// SHOW FUNCTIONS.
func Descriptions() []Description {
	var out []Description
	for _, f := range Functions() {
		d, _ := Describe(f.Name)
		out = append(out, d)
	}
	for _, n := range Aggregates() {
		d, _ := Describe(n)
		out = append(out, d)
	}
	for _, n := range TableFunctions() {
		d, _ := Describe(n)
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
