package agg

import (
	"strings"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// maxK bounds TOPK's k and the n of LATEST/EARLIEST_BY_OFFSET, whose state
// is sized by it. ksqlDB takes any k; a k over maxK is refused when the
// query is planned (22023), since every group would keep up to k values.
const maxK = 10000

// CollectLimit caps the values COLLECT_LIST keeps and the distinct values
// COLLECT_SET and HISTOGRAM keep: 1000. ksqlDB's caps are the server
// settings ksql.functions.collect_list.limit and
// ksql.functions.collect_set.limit, unlimited unless set (Confluent Cloud
// fixes them at 1000, and ksqlDB before 0.8 had 1000 built in); HISTOGRAM
// has 1000 built in. Runnel keeps 1000 fixed so that a group's state is
// bounded. At the cap, further values are ignored silently, as in ksqlDB.
const CollectLimit = 1000

// CollectMaxBytes caps the memory (types.Value.Size) of the values those
// accumulators keep, with the same effect as CollectLimit: 16 MiB, the
// default limit on any one value (expr.DefaultMaxValueBytes), which their
// result is.
const CollectMaxBytes = expr.DefaultMaxValueBytes

// retractable lists every aggregate and whether it can aggregate a table
// (its rows retracted on update and delete).
var retractable = map[string]bool{
	"COUNT":              true,
	"COUNT_DISTINCT":     true,
	"SUM":                true,
	"SUM_LIST":           true,
	"AVG":                true,
	"COLLECT_LIST":       true,
	"COLLECT_SET":        true,
	"HISTOGRAM":          true,
	"STDDEV_SAMP":        true,
	"STDDEV_SAMPLE":      true,
	"STDDEV_POP":         true,
	"VAR_SAMP":           true,
	"VAR_POP":            true,
	"CORRELATION":        true,
	"ATTR":               true,
	"MIN":                false,
	"MAX":                false,
	"TOPK":               false,
	"TOPKDISTINCT":       false,
	"LATEST_BY_OFFSET":   false,
	"EARLIEST_BY_OFFSET": false,
}

// IsAggregateName reports whether name (any case) is an aggregate
// function, so the planner can tell aggregates from scalar functions.
func IsAggregateName(name string) bool {
	_, ok := retractable[strings.ToUpper(name)]
	return ok
}

// IsRetractableName reports whether the aggregate name (any case) can
// aggregate a table; false for unknown names. It agrees with
// Func.Retractable for every variant Resolve returns.
func IsRetractableName(name string) bool { return retractable[strings.ToUpper(name)] }

// Resolve returns the aggregate function name (upper-case) for a call
// whose non-constant arguments have argTypes (none for COUNT(*)) and whose
// trailing constant arguments evaluated to consts (TOPK's k; the n and
// ignoreNulls of LATEST_BY_OFFSET and EARLIEST_BY_OFFSET). distinct is
// the DISTINCT of e.g. COUNT(DISTINCT x).
//
// Errors wrap ErrUnknownFunction and ErrBadArguments (42883),
// ErrBadConstant (22023), ErrUnsupported (0A000).
func Resolve(name string, argTypes []types.Type, consts []types.Value, distinct bool) (Func, error) {
	name = strings.ToUpper(name)
	if _, ok := retractable[name]; !ok {
		return nil, newError(ErrUnknownFunction, "%s", name)
	}
	if name == "COUNT" && len(argTypes) == 0 && len(consts) == 0 {
		if distinct {
			return nil, newError(ErrBadArguments, "COUNT(DISTINCT) needs an argument")
		}
		return newCountFunc(true), nil
	}
	for _, t := range argTypes {
		if t.Kind == types.KindNull || t.Kind == types.KindArray && t.Elem == nil ||
			t.Kind == types.KindMap && (t.Key == nil || t.Elem == nil) {
			return nil, badArgs(name, argTypes, consts)
		}
	}
	switch {
	case name == "CORRELATION":
		// ksqlDB's CORRELATION(DOUBLE, DOUBLE), INT and BIGINT widened.
		if len(argTypes) != 2 || len(consts) != 0 || distinct || !isNumber(argTypes[0]) || !isNumber(argTypes[1]) {
			return nil, badArgs(name, argTypes, consts)
		}
		return newCorrelationFunc(), nil
	case name == "TOPK" && len(argTypes) > 1:
		// TOPK(col, other1, ..., k): the rows of the k largest values.
		if len(consts) != 1 || distinct || !orderable(argTypes[0]) {
			return nil, badArgs(name, argTypes, consts)
		}
		k, err := intConst(name, "k", consts[0])
		if err != nil {
			return nil, err
		}
		return newTopkFunc(name, k, false, argTypes[0], argTypes[1:]), nil
	}
	if len(argTypes) != 1 {
		return nil, badArgs(name, argTypes, consts)
	}
	t := argTypes[0]
	switch name {
	case "TOPK", "TOPKDISTINCT":
		return resolveTopk(name, t, argTypes, consts, distinct)
	case "LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET":
		if distinct {
			return nil, newError(ErrUnsupported, "%s(DISTINCT ...) is not supported", name)
		}
		return resolveOffset(name, t, argTypes, consts)
	}
	if len(consts) != 0 {
		return nil, badArgs(name, argTypes, consts)
	}
	var f *function
	switch name {
	case "COUNT":
		if distinct {
			return newSetFunc("COUNT_DISTINCT", types.Bigint), nil
		}
		return newCountFunc(false), nil
	case "COUNT_DISTINCT":
		return newSetFunc(name, types.Bigint), nil
	case "COLLECT_SET":
		return newSetFunc(name, types.Array(t)), nil
	case "HISTOGRAM":
		if t.Kind != types.KindString {
			return nil, badArgs(name, argTypes, consts)
		}
		f = newSetFunc(name, types.Map(types.String, types.Bigint))
		// HISTOGRAM(DISTINCT x) would count everything once: refuse it.
		if distinct {
			return nil, newError(ErrUnsupported, "HISTOGRAM(DISTINCT ...) is not supported")
		}
		return f, nil
	case "MIN", "MAX":
		if !orderable(t) {
			return nil, badArgs(name, argTypes, consts)
		}
		// DISTINCT changes nothing for MIN and MAX.
		return newMinMaxFunc(name == "MAX", t), nil
	case "SUM":
		if !t.IsNumeric() {
			return nil, badArgs(name, argTypes, consts)
		}
		f = newSumFunc(t)
	case "SUM_LIST":
		// ksqlDB's ListSumUdaf: ARRAY<INT>, ARRAY<BIGINT>, ARRAY<DOUBLE>.
		if t.Kind != types.KindArray {
			return nil, badArgs(name, argTypes, consts)
		}
		if f = newSumListFunc(*t.Elem); f == nil {
			return nil, badArgs(name, argTypes, consts)
		}
	case "AVG":
		if !t.IsNumeric() {
			return nil, badArgs(name, argTypes, consts)
		}
		f = newAvgFunc(t)
	case "STDDEV_SAMP", "STDDEV_SAMPLE", "STDDEV_POP", "VAR_SAMP", "VAR_POP":
		if !t.IsNumeric() {
			return nil, badArgs(name, argTypes, consts)
		}
		stat := map[string]statKind{
			"STDDEV_SAMP": statStddevSamp, "STDDEV_SAMPLE": statStddevSamp,
			"STDDEV_POP": statStddevPop, "VAR_SAMP": statVarSamp, "VAR_POP": statVarPop,
		}[name]
		f = newMomentsFunc(name, stat, t)
	case "COLLECT_LIST":
		f = newListFunc(t)
	case "ATTR":
		if distinct {
			return nil, newError(ErrUnsupported, "ATTR(DISTINCT ...) is not supported")
		}
		return newAttrFunc(t), nil
	}
	if distinct {
		return newDistinctFunc(f), nil
	}
	return f, nil
}

func badArgs(name string, argTypes []types.Type, consts []types.Value) error {
	parts := make([]string, 0, len(argTypes)+len(consts))
	for _, t := range argTypes {
		parts = append(parts, t.String())
	}
	for _, c := range consts {
		parts = append(parts, c.Kind().String()+" constant")
	}
	return newError(ErrBadArguments, "%s(%s)", name, strings.Join(parts, ", "))
}

// orderable reports whether MIN, MAX and TOPK accept t. BYTES order as
// their unsigned bytes do, as everywhere in Runnel (ksqlDB orders them
// as Java's ByteBuffer does, by signed bytes).
func orderable(t types.Type) bool {
	switch t.Kind {
	case types.KindInt, types.KindBigint, types.KindDouble, types.KindDecimal,
		types.KindString, types.KindTimestamp, types.KindDate, types.KindTime, types.KindBytes:
		return true
	}
	return false
}

// isNumber reports whether CORRELATION takes t: INT, BIGINT or DOUBLE.
func isNumber(t types.Type) bool {
	return t.Kind == types.KindInt || t.Kind == types.KindBigint || t.Kind == types.KindDouble
}

// intConst reads an integer constant in [1, maxK].
func intConst(name, what string, c types.Value) (int, error) {
	switch c.Kind() {
	case types.KindInt, types.KindBigint:
	default:
		return 0, newError(ErrBadArguments, "%s: %s must be an integer constant, got %s", name, what, c.Kind())
	}
	n := c.Int()
	if n < 1 || n > maxK {
		return 0, newError(ErrBadConstant, "%s: %s must be between 1 and %d, got %d", name, what, maxK, n)
	}
	return int(n), nil
}

func resolveTopk(name string, t types.Type, argTypes []types.Type, consts []types.Value, distinct bool) (Func, error) {
	if len(consts) != 1 || !orderable(t) {
		return nil, badArgs(name, argTypes, consts)
	}
	k, err := intConst(name, "k", consts[0])
	if err != nil {
		return nil, err
	}
	// TOPK(DISTINCT x, k) is TOPKDISTINCT(x, k).
	return newTopkFunc(name, k, distinct || name == "TOPKDISTINCT", t, nil), nil
}

func resolveOffset(name string, t types.Type, argTypes []types.Type, consts []types.Value) (Func, error) {
	cfg := &offsetCfg{name: name, latest: name == "LATEST_BY_OFFSET", n: 1, ignoreNulls: true}
	rest := consts
	if len(rest) > 0 && rest[0].Kind() != types.KindBoolean {
		n, err := intConst(name, "n", rest[0])
		if err != nil {
			return nil, err
		}
		cfg.n, cfg.array = n, true
		rest = rest[1:]
	}
	if len(rest) > 0 {
		if rest[0].Kind() != types.KindBoolean {
			return nil, badArgs(name, argTypes, consts)
		}
		cfg.ignoreNulls = rest[0].Bool()
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return nil, badArgs(name, argTypes, consts)
	}
	return newOffsetFunc(cfg, t), nil
}
