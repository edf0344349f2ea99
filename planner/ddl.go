package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// DDL binding: CREATE STREAM|TABLE turns into a catalog entry here, and so
// does the sink of CREATE ... AS SELECT. What needs the log — does the
// topic exist, with how many partitions, within this server's limits — is
// the engine's to check afterwards (it owns the log); everything else is
// decided here, so that EXPLAIN, the engine and the tests bind DDL one way.

// sourceProps are the WITH properties CREATE STREAM|TABLE accepts.
var sourceProps = map[string]bool{
	"KAFKA_TOPIC": true, "VALUE_FORMAT": true, "KEY_FORMAT": true, "FORMAT": true,
	"PARTITIONS": true, "REPLICAS": true, "TIMESTAMP": true, "TIMESTAMP_FORMAT": true,
	"WRAP_SINGLE_VALUE": true, "VALUE_DELIMITER": true, "KEY_DELIMITER": true,
	"WINDOW_TYPE": true, "WINDOW_SIZE": true,
}

// FormatChecker reports whether a source's key and value formats can carry
// its columns (and its TIMESTAMP column be read), as the runtime will
// decode and encode them. The engine supplies it from operators/build, so
// that a statement is refused when it is planned rather than when its
// first record arrives, and the planner never imports the operators.
type FormatChecker func(src *catalog.Source) error

// PlanSource binds CREATE STREAM|TABLE (columns) WITH (...) into the
// catalog entry it creates: columns (keys first, as every ksqlDB schema
// lists them), formats, properties and the TIMESTAMP column, all checked.
// Its Partitions is left 0: the engine sets it from the topic it finds or
// creates.
func (p *Planner) PlanSource(st *sql.CreateSource) (*catalog.Source, error) {
	if len(st.Columns) == 0 || st.Query != nil {
		return nil, ErrSyntax.Errorf("CREATE %s %s needs a column list or AS SELECT", st.Kind, st.Name)
	}
	for k := range st.With {
		if !sourceProps[k] {
			return nil, ErrInvalidProperty.Errorf("unknown property %s in WITH", k)
		}
	}
	if err := checkFormatProps(st.With); err != nil {
		return nil, err
	}
	src := &catalog.Source{
		Name:        st.Name,
		Kind:        catalog.KindStream,
		Topic:       st.Name,
		KeyFormat:   "KAFKA",
		ValueFormat: "JSON",
		Statement:   st.Text(),
		Props:       map[string]string{},
		ReadOnly:    st.Source,
	}
	if st.Kind == sql.Table {
		src.Kind = catalog.KindTable
	}
	var err error
	if src.Window, err = windowInfo(st.With); err != nil {
		return nil, err
	}
	// KAFKA_TOPIC='' is a bad topic name (the engine says so when it
	// checks the topic), not a request for the default.
	if t, ok := st.With["KAFKA_TOPIC"]; ok {
		src.Topic = t
	}
	if f := st.With["FORMAT"]; f != "" {
		src.KeyFormat, src.ValueFormat = strings.ToUpper(f), strings.ToUpper(f)
	}
	if f := st.With["KEY_FORMAT"]; f != "" {
		src.KeyFormat = strings.ToUpper(f)
	}
	if f := st.With["VALUE_FORMAT"]; f != "" {
		src.ValueFormat = strings.ToUpper(f)
	}
	for _, k := range []string{"TIMESTAMP", "TIMESTAMP_FORMAT", "WRAP_SINGLE_VALUE", "VALUE_DELIMITER", "KEY_DELIMITER", "REPLICAS"} {
		if v, ok := st.With[k]; ok {
			src.Props[k] = v
		}
	}
	seen := map[string]bool{}
	var keys, vals []types.Column
	for _, c := range st.Columns {
		if seen[c.Name] {
			return nil, ErrDuplicateColumn.Errorf("column %s is declared more than once", c.Name)
		}
		seen[c.Name] = true
		switch c.Name {
		case RowTime, RowPartition, RowOffset, WindowStart, WindowEnd:
			return nil, ErrReservedName.Errorf("%s is a reserved column name", c.Name)
		}
		col := types.Column{Name: c.Name, Type: c.Type, Key: c.Key}
		if c.Key {
			keys = append(keys, col)
		} else {
			vals = append(vals, col)
		}
	}
	if src.Kind == catalog.KindTable && len(keys) == 0 {
		return nil, ErrInvalidTableDef.Errorf("table %s needs a PRIMARY KEY column", st.Name)
	}
	// A stream without key columns keeps the key format it declares (or
	// KAFKA), as ksqlDB does: its keys are ignored on read and absent on
	// write whatever the format, and a CREATE ... AS SELECT that keys it
	// (PARTITION BY, GROUP BY) inherits the format.
	if len(keys) > 0 {
		if err := checkKeyFormat(src.KeyFormat, keys); err != nil {
			return nil, err
		}
	}
	src.Columns = append(keys, vals...)
	if ts := src.Props["TIMESTAMP"]; ts != "" {
		ts = strings.ToUpper(ts)
		c, ok := src.Column(ts)
		if !ok {
			return nil, ErrUnknownColumn.Errorf("TIMESTAMP column %s does not exist", ts)
		}
		switch c.Type.Kind {
		case types.KindBigint, types.KindTimestamp, types.KindString:
		default:
			return nil, ErrTypeMismatch.Errorf("TIMESTAMP column %s must be BIGINT, TIMESTAMP or STRING, not %s", ts, c.Type)
		}
		src.Props["TIMESTAMP"] = ts
	}
	p.defaultWrap(src)
	if err := p.checkFormats(src); err != nil {
		return nil, err
	}
	return src, nil
}

// defaultWrap applies WrapSingleValues (ksqlDB's
// ksql.persistence.wrap.single.values) to a source or sink whose WITH
// gives no WRAP_SINGLE_VALUE, as ksqlDB's SerdeFeaturesFactory does: only
// to a value of exactly one column, and only where the value format can
// do it — JSON wraps and unwraps, DELIMITED and KAFKA only ever write a
// bare value, so "true" passes them by silently (an explicit
// WRAP_SINGLE_VALUE=true is refused by the format instead). The choice is
// recorded in the source's properties, so that it outlives the session
// and a restart.
func (p *Planner) defaultWrap(src *catalog.Source) {
	def := strings.ToLower(p.WrapSingleValues)
	if def != "true" && def != "false" {
		return
	}
	if _, set := src.Props["WRAP_SINGLE_VALUE"]; set {
		return
	}
	values := 0
	for _, c := range src.Columns {
		if !c.Key {
			values++
		}
	}
	if values != 1 {
		return
	}
	if def == "true" && src.ValueFormat != "" && !strings.EqualFold(src.ValueFormat, "JSON") {
		return
	}
	src.Props["WRAP_SINGLE_VALUE"] = def
}

// checkFormats runs the Formats hook, when there is one.
func (p *Planner) checkFormats(src *catalog.Source) error {
	if p.Formats == nil {
		return nil
	}
	return p.Formats(src)
}

// CheckUpgrade refuses a CREATE OR REPLACE whose new sink schema would
// break readers and writers of the old one: as in ksqlDB, the key must
// stay the same and value columns may only be added.
func CheckUpgrade(old, next *catalog.Source) error {
	for _, c := range old.Columns {
		n, ok := next.Column(c.Name)
		switch {
		case !ok:
			return ErrUpgrade.Errorf("cannot upgrade %s: column %s would be removed", old.Name, c.Name)
		case !n.Type.Equal(c.Type):
			return ErrUpgrade.Errorf("cannot upgrade %s: column %s would change type from %s to %s", old.Name, c.Name, c.Type, n.Type)
		case n.Key != c.Key:
			return ErrUpgrade.Errorf("cannot upgrade %s: the key would change at column %s", old.Name, c.Name)
		}
	}
	for _, c := range next.Columns {
		if _, ok := old.Column(c.Name); !ok && c.Key {
			return ErrUpgrade.Errorf("cannot upgrade %s: key column %s would be added", old.Name, c.Name)
		}
	}
	return nil
}

// sinkSource builds the catalog entry of a CREATE ... AS SELECT sink from
// the query's output and the WITH properties. As in ksqlDB (its Analyzer
// and LogicalPlanner), the sink inherits the input's key and value
// formats, and their delimiters when it keeps the format, unless WITH
// names others; a key format inherited as NONE becomes KAFKA (ksqlDB's
// default key format) once the output has a key, and PARTITION BY NULL
// makes it NONE. The key format must hold the output's key: ksqlDB does
// not switch an inherited KAFKA to another format for a key of several
// columns or of a type KAFKA lacks, it refuses the statement. Joins keyed
// by several columns, which ksqlDB does not have, take JSON then.
func (p *Planner) sinkSource(in *catalog.Source, out []types.Column, agg *Aggregation, keying sinkKeying, sink SinkSpec) (*catalog.Source, error) {
	with := sink.With
	if err := checkFormatProps(with); err != nil {
		return nil, err
	}
	src := &catalog.Source{
		Name:        sink.Name,
		Kind:        catalog.KindStream,
		Topic:       sink.Name,
		Columns:     out,
		KeyFormat:   in.KeyFormat,
		ValueFormat: in.ValueFormat,
		Partitions:  in.Partitions,
		Statement:   sink.Statement,
		Props:       map[string]string{},
	}
	if sink.Kind == sql.Table {
		src.Kind = catalog.KindTable
	}
	for k, v := range with {
		switch k {
		case "KAFKA_TOPIC":
			src.Topic = v
		case "VALUE_FORMAT":
			src.ValueFormat = strings.ToUpper(v)
		case "KEY_FORMAT":
			src.KeyFormat = strings.ToUpper(v)
		case "FORMAT":
			src.KeyFormat, src.ValueFormat = strings.ToUpper(v), strings.ToUpper(v)
		case "PARTITIONS":
			// The value's form; this server's limit on it is the engine's
			// to check, against the topic it creates or finds.
			n, err := catalog.ParsePartitions(v, 0)
			if err != nil {
				return nil, err
			}
			src.Partitions = n
		case "REPLICAS":
			if _, err := catalog.ParseReplicas(v); err != nil {
				return nil, err
			}
			src.Props[k] = v
		case "WRAP_SINGLE_VALUE", "VALUE_DELIMITER", "KEY_DELIMITER", "TIMESTAMP", "TIMESTAMP_FORMAT":
			src.Props[k] = v
		default:
			return nil, ErrInvalidProperty.Errorf("unknown property %s in WITH", k)
		}
	}
	// A delimiter goes with its format: kept when the format is.
	inherit := func(prop, sinkFormat, inFormat string) {
		if v, ok := in.Props[prop]; ok && strings.EqualFold(sinkFormat, inFormat) {
			if _, set := with[prop]; !set {
				src.Props[prop] = v
			}
		}
	}
	inherit("VALUE_DELIMITER", src.ValueFormat, in.ValueFormat)
	inherit("KEY_DELIMITER", src.KeyFormat, in.KeyFormat)

	keys := src.KeyColumns()
	explicitKey := with["KEY_FORMAT"] != "" || with["FORMAT"] != ""
	switch {
	case keying.unkeyed:
		if explicitKey && !strings.EqualFold(src.KeyFormat, "NONE") {
			return nil, ErrInvalidProperty.Errorf("Key format specified for stream without key columns.")
		}
		src.KeyFormat = "NONE"
	case src.KeyFormat == "" || !explicitKey && src.KeyFormat == "NONE" && len(keys) > 0:
		src.KeyFormat = "KAFKA"
	}
	if keying.joined && !explicitKey && strings.EqualFold(src.KeyFormat, "KAFKA") && len(keys) > 0 &&
		(len(keys) > 1 || !kafkaKeyType(keys[0].Type)) {
		src.KeyFormat = "JSON"
	}
	if len(keys) > 0 {
		if err := checkKeyFormat(src.KeyFormat, keys); err != nil {
			return nil, err
		}
	}
	switch {
	case agg != nil && agg.Window != nil:
		src.Window = &catalog.WindowInfo{Kind: windowKindName(agg.Window.Kind), SizeMs: agg.Window.Size.Milliseconds()}
	case agg == nil && in.Window != nil && len(keys) > 0:
		// A windowed stream's rows keep their windowed keys, as in
		// ksqlDB (tumbling-windows.json "import tumbling stream").
		w := *in.Window
		src.Window = &w
	}
	p.defaultWrap(src)
	if err := p.checkFormats(src); err != nil {
		return nil, err
	}
	return src, nil
}

// sinkKeying is what decides a created sink's key format besides its
// input and its WITH clause.
type sinkKeying struct {
	// unkeyed: PARTITION BY NULL, no key (ksqlDB's key format NONE).
	unkeyed bool
	// joined: the query joins, and may be keyed by several columns.
	joined bool
}

// checkFormatProps refuses what ksqlDB's CommonCreateConfigs refuses of
// the format properties of a WITH clause, with its messages: FORMAT
// beside KEY_FORMAT or VALUE_FORMAT, and a WRAP_SINGLE_VALUE that is not
// a boolean. (The formats themselves check their names, delimiters and
// wrapping.)
func checkFormatProps(with map[string]string) error {
	if _, ok := with["FORMAT"]; ok {
		for _, k := range []string{"KEY_FORMAT", "VALUE_FORMAT"} {
			if _, ok := with[k]; ok {
				return ErrInvalidProperty.Errorf("Cannot supply both '%s' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'.", k)
			}
		}
	}
	for _, k := range []string{"VALUE_DELIMITER", "KEY_DELIMITER"} {
		// The runtime's formats read "" as unset; a delimiter given
		// empty is refused here, with the message a blank one gets.
		if v, ok := with[k]; ok && v == "" {
			return ErrInvalidProperty.Errorf("Configuration %s is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'", k)
		}
	}
	if v, ok := with["WRAP_SINGLE_VALUE"]; ok && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		return ErrInvalidProperty.Errorf("Invalid value %s for configuration WRAP_SINGLE_VALUE: Expected value to be either true or false", v)
	}
	return nil
}

// checkInsertSchema checks that a query's output fits the sink of INSERT
// INTO ... SELECT: the same columns, names, types and keys, in order.
func checkInsertSchema(sink *catalog.Source, out []types.Column) error {
	if len(sink.Columns) != len(out) {
		return ErrTypeMismatch.Errorf("incompatible schema: %s has %d columns, the query produces %d", sink.Name, len(sink.Columns), len(out))
	}
	for i, c := range sink.Columns {
		o := out[i]
		if c.Name != o.Name || !c.Type.Equal(o.Type) || c.Key != o.Key {
			return ErrTypeMismatch.Errorf("incompatible schema: %s has column %s, the query produces %s",
				sink.Name, describeColumn(c), describeColumn(o))
		}
	}
	return nil
}

func describeColumn(c types.Column) string {
	s := quoteName(c.Name) + " " + c.Type.String()
	if c.Key {
		s += " KEY"
	}
	return s
}

// checkKeyFormat refuses key columns that a key format cannot hold, with
// ksqlDB's messages: no key type may hold a MAP (whatever the format);
// KAFKA carries one column, of a primitive type it has a serializer for;
// DELIMITED carries primitive columns. (The runtime's Formats hook
// checks the rest.)
func checkKeyFormat(format string, keys []types.Column) error {
	for _, k := range keys {
		if containsMap(k.Type) {
			return ErrUnsupported.Errorf("Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `%s`. Column type: %s. See https://github.com/confluentinc/ksql/issues/6621 for more.",
				k.Name, k.Type)
		}
	}
	format = strings.ToUpper(format)
	reason := ""
	switch format {
	case "KAFKA":
		switch {
		case len(keys) > 1:
			reason = "The 'KAFKA' format only supports a single field. Got: " + persistenceColumns(keys)
		case !kafkaKeyType(keys[0].Type):
			reason = "The 'KAFKA' format does not support type '" + keys[0].Type.Kind.String() + "'"
		}
	case "DELIMITED":
		for _, k := range keys {
			switch k.Type.Kind {
			case types.KindArray, types.KindStruct:
				reason = "The 'DELIMITED' format does not support type '" + k.Type.Kind.String() + "', column: `" + k.Name + "`"
			}
			if reason != "" {
				break
			}
		}
	}
	if reason == "" {
		return nil
	}
	return ErrUnsupported.Errorf("Key format does not support schema.\nformat: %s\nschema: Persistence{columns=%s, features=[]}\nreason: %s",
		format, persistenceColumns(keys), reason)
}

// containsMap reports whether t is a MAP or holds one.
func containsMap(t types.Type) bool {
	switch t.Kind {
	case types.KindMap:
		return true
	case types.KindArray:
		return containsMap(*t.Elem)
	case types.KindStruct:
		for _, f := range t.Fields {
			if containsMap(f.Type) {
				return true
			}
		}
	}
	return false
}

// persistenceColumns renders key columns as ksqlDB's messages do:
// [`A` INTEGER KEY, `B` STRING KEY].
func persistenceColumns(keys []types.Column) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "`" + k.Name + "` " + k.Type.String() + " KEY"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// windowInfo reads WINDOW_TYPE and WINDOW_SIZE, which declare a source
// whose keys carry a window (ksqlDB's windowed sources: a windowed
// table's topic read as a stream or a table); nil when absent. The
// messages are ksqlDB's (its CreateSourceProperties).
func windowInfo(with map[string]string) (*catalog.WindowInfo, error) {
	kind, hasKind := with["WINDOW_TYPE"]
	size, hasSize := with["WINDOW_SIZE"]
	if !hasKind {
		if hasSize {
			return nil, ErrInvalidProperty.Errorf("'WINDOW_SIZE' needs 'WINDOW_TYPE' in the WITH clause")
		}
		return nil, nil
	}
	w := &catalog.WindowInfo{Kind: strings.ToUpper(kind)}
	switch w.Kind {
	case "TUMBLING", "HOPPING", "SESSION":
	default:
		return nil, ErrInvalidProperty.Errorf("Error in WITH clause property 'WINDOW_TYPE': Unknown window type: '%s' (expected SESSION, HOPPING or TUMBLING)", kind)
	}
	switch {
	case w.Kind != "SESSION" && !hasSize:
		return nil, ErrInvalidProperty.Errorf("%s windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'", w.Kind)
	case w.Kind == "SESSION" && hasSize:
		return nil, ErrInvalidProperty.Errorf("'WINDOW_SIZE' should not be set for SESSION windows.")
	case hasSize:
		ms, err := parseDuration(size)
		if err != nil {
			return nil, ErrInvalidProperty.Errorf("Configuration WINDOW_SIZE is invalid: Invalid duration: '%s'. %v", size, err)
		}
		w.SizeMs = ms
	}
	return w, nil
}

// parseDuration reads ksqlDB's "<n> <unit>" durations ('10 SECONDS') into
// milliseconds.
func parseDuration(s string) (int64, error) {
	parts := strings.Fields(s)
	if len(parts) != 2 {
		//lint:ignore ST1005 ksqlDB's message, word for word
		return 0, fmt.Errorf("Expected 2 tokens, got: %d", len(parts))
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || n <= 0 {
		//lint:ignore ST1005 ksqlDB's message, word for word
		return 0, fmt.Errorf("Not a positive number: '%s'", parts[0])
	}
	unit := strings.ToUpper(parts[1])
	ms := map[string]int64{
		"MILLISECOND": 1, "MILLISECONDS": 1, "SECOND": 1000, "SECONDS": 1000, "MINUTE": 60_000, "MINUTES": 60_000,
		"HOUR": 3_600_000, "HOURS": 3_600_000, "DAY": 86_400_000, "DAYS": 86_400_000,
	}[unit]
	if ms == 0 {
		//lint:ignore ST1005 ksqlDB's message, word for word
		return 0, fmt.Errorf("Unknown time unit: '%s'", unit)
	}
	if n > (1<<62)/ms {
		return 0, fmt.Errorf("too long")
	}
	return n * ms, nil
}
