// Package planner binds statements against the catalog: a query into a
// plan tree, CREATE STREAM|TABLE into the catalog entry it creates, the
// sink of CREATE ... AS SELECT into its entry too. It checks names, types
// and the query's shape, and says what it cannot do with a SQLSTATE.
//
//	sql.Query ──bind (catalog, expr.Binder)──▶ Plan (a tree of Nodes) ──operators/build──▶ tasks, pipelines, scans
//	sql.CreateSource ──PlanSource──▶ catalog.Source
//
// # Plans are trees
//
// A Plan is a tree of logical nodes (node.go holds the contract, nodes.go
// and join.go the nodes). Each node says what it is, holds its children and
// produces rows whose layout is its Columns; the expressions of a node are
// bound over its child's columns by index. The root is a Sink for a
// persistent query and a Result for a transient one. For example
//
//	CREATE TABLE per_page AS SELECT pageid, COUNT(*) AS n FROM pageviews
//	  WHERE viewtime > 10 GROUP BY pageid HAVING COUNT(*) > 1
//
// is the tree
//
//	Sink PER_PAGE
//	 └─ Project   PAGEID, COUNT(1) AS N       (over the post-aggregation row)
//	     └─ Having  COUNT(1) > 1
//	         └─ Aggregate  GROUP BY PAGEID, COUNT(1)
//	             └─ Repartition  by the group key
//	                 └─ Filter  VIEWTIME > 10
//	                     └─ Scan  PAGEVIEWS   (its columns, then ROWTIME, ROWPARTITION, ROWOFFSET)
//
// and EXPLAIN is a walk of it that prints each node's Describe line, one
// level of indentation per level of the tree. A new operator is a new
// node.
//
// # Joins
//
// A FROM clause that joins binds into a left-deep chain of Join nodes,
// one per JOIN in the order written (joinbind.go): each step's kind
// (stream-stream, stream-table, table-table, foreign key) comes from its
// inputs' kinds, its ON condition splits into key equalities (one side
// over each input; several are joined by AND) and an extra predicate,
// and a stream input that is not partitioned by its join key — or not in
// the join's partition count, a table side's — gets a Repartition under
// it. Names resolve in a scope over every source (scope.go): qualified by
// alias or name, unqualified when only one source has the column.
// joinproject.go names the select list's columns and finds the result's
// key: the first column equivalent to the join key that the list
// selects, which then reads the join key itself. Every refusal is
// ksqlDB's message with a SQLSTATE (tests/suites/joins/README.md lists
// them) and, where the query's text has what it is about, a position
// there (Planner.at in errors.go: the right source, the WITHIN clause,
// the join's first keyword, the equality at fault; an unknown column or
// source at its name); the builder refuses the kinds whose runtime does
// not exist yet.
//
//	CREATE STREAM enriched AS SELECT c.userid, c.url, u.region
//	  FROM clicks c JOIN users u ON c.userid = u.id
//
//	Sink ENRICHED
//	 └─ Project   C.USERID AS USERID (the join key), C.URL, U.REGION
//	     └─ Join  INNER STREAM-TABLE ON C.USERID = U.ID
//	         ├─ Repartition  by C.USERID, into USERS' partition count
//	         │   └─ Scan CLICKS  (keyless: joined on a value column)
//	         └─ Scan USERS
//
// # GROUP BY and keys
//
// groupby.go holds ksqlDB's GROUP BY rules: GROUP BY 1 is a constant and
// GROUP BY (a, b) a list; a grouping expression anywhere in the select
// list or HAVING reads its group column (a binder hook matches the
// expression's text); a column outside them only in an aggregate. A
// persistent query must project its key — the grouping expressions, the
// PARTITION BY expressions, or the source's key columns — once each, and
// at least one value column (bound.checkPersistent, ksqlDB's messages).
// AS_VALUE(x) is the planner's own function: x, never a key (withHooks
// gives every binder of a statement the hook that binds it).
//
// Rewrites are small pure functions of the Rule shape, applied with
// Transform: PushKeyLookup hands a pull query's `key = constant` to its
// scan, KeysFirst lays out a sink's schema with its keys first.
//
// # What the planner never knows
//
// The planner never imports the runtime (operators) or reads the log. What
// it needs of the runtime comes in as hooks the engine supplies from
// operators/build: the result type of an aggregate call (Aggregates) and
// whether a source's formats carry its columns (Formats). What needs the
// log — whether a topic exists, how many partitions it has, this server's
// limits on them — the engine checks after planning. The builder cuts
// the tree into stages at its Repartition nodes and at each later join of
// a chain, and names the internal topics and stores. A join's are named
// here (Join.InputTopicSuffix, StoreSuffix), after the query id, so that
// EXPLAIN of a running query (Plan.ExplainQuery) shows the names its
// topics and stores have; the others are the builder's alone.
//
// ARCHITECTURE.md lists window among the nodes: here a window is part of
// the Aggregate (it is how an aggregation keys its state), and the tree
// has nodes the picture leaves out — PartitionBy, Having, Sort, Result,
// Values, and FlatMap, the select list's table functions (tablefn.go).
package planner
