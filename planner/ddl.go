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
	"WRAP_SINGLE_VALUE": true, "VALUE_DELIMITER": true,
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
	for _, k := range []string{"TIMESTAMP", "TIMESTAMP_FORMAT", "WRAP_SINGLE_VALUE", "VALUE_DELIMITER", "REPLICAS"} {
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
	if len(keys) == 0 {
		src.KeyFormat = "NONE"
	} else if err := checkKeyFormat(src.KeyFormat, keys); err != nil {
		return nil, err
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
	if err := p.checkFormats(src); err != nil {
		return nil, err
	}
	return src, nil
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
// the query's output and the WITH properties, defaulting to the input's
// formats and partition count as ksqlDB does.
func (p *Planner) sinkSource(in *catalog.Source, out []types.Column, agg *Aggregation, sink SinkSpec) (*catalog.Source, error) {
	with := sink.With
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
		case "WRAP_SINGLE_VALUE", "VALUE_DELIMITER", "TIMESTAMP", "TIMESTAMP_FORMAT":
			src.Props[k] = v
		default:
			return nil, ErrInvalidProperty.Errorf("unknown property %s in WITH", k)
		}
	}
	keys := src.KeyColumns()
	_, userKeyFormat := with["KEY_FORMAT"]
	if _, ok := with["FORMAT"]; ok {
		userKeyFormat = true
	}
	if userKeyFormat && len(keys) > 0 {
		if err := checkKeyFormat(src.KeyFormat, keys); err != nil {
			return nil, err
		}
	}
	switch {
	case len(keys) == 0:
		src.KeyFormat = "NONE"
	case !userKeyFormat && (len(keys) > 1 || !kafkaKeyType(keys[0].Type)):
		// KAFKA carries one primitive key; a compound or other key
		// defaults to JSON, which carries any.
		src.KeyFormat = "JSON"
	case src.KeyFormat == "NONE" || src.KeyFormat == "":
		src.KeyFormat = "KAFKA"
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
	if err := p.checkFormats(src); err != nil {
		return nil, err
	}
	return src, nil
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

// checkKeyFormat refuses key columns that the KAFKA key format cannot
// hold, with ksqlDB's message: KAFKA carries one column, of a primitive
// type it has a serializer for. (Other formats are checked by the
// runtime's Formats hook.)
func checkKeyFormat(format string, keys []types.Column) error {
	if format != "KAFKA" {
		return nil
	}
	reason := ""
	switch {
	case len(keys) > 1:
		reason = "The 'KAFKA' format only supports a single field. Got: " + persistenceColumns(keys)
	case !kafkaKeyType(keys[0].Type):
		name := keys[0].Type.String()
		if i := strings.IndexAny(name, "(<"); i >= 0 {
			name = name[:i]
		}
		reason = "The 'KAFKA' format does not support type '" + name + "'"
	default:
		return nil
	}
	return ErrUnsupported.Errorf("Key format does not support schema.\nformat: KAFKA\nschema: Persistence{columns=%s, features=[]}\nreason: %s",
		persistenceColumns(keys), reason)
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
		return 0, fmt.Errorf("Expected 2 tokens, got: %d", len(parts))
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("Not a positive number: '%s'", parts[0])
	}
	unit := strings.ToUpper(parts[1])
	ms := map[string]int64{
		"MILLISECOND": 1, "MILLISECONDS": 1, "SECOND": 1000, "SECONDS": 1000, "MINUTE": 60_000, "MINUTES": 60_000,
		"HOUR": 3_600_000, "HOURS": 3_600_000, "DAY": 86_400_000, "DAYS": 86_400_000,
	}[unit]
	if ms == 0 {
		return 0, fmt.Errorf("Unknown time unit: '%s'", unit)
	}
	if n > (1<<62)/ms {
		return 0, fmt.Errorf("too long")
	}
	return n * ms, nil
}
