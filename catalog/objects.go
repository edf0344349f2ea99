package catalog

import (
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// Kind tells a stream from a table.
type Kind string

const (
	KindStream Kind = "STREAM"
	KindTable  Kind = "TABLE"
)

// Source is a stream or a table over a topic.
type Source struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Topic is the topic the source reads and, for a sink, writes.
	Topic string `json:"topic"`
	// Columns are the key and value columns in declaration order.
	Columns []types.Column `json:"columns"`
	// KeyFormat is KAFKA, JSON or NONE (no key columns).
	KeyFormat string `json:"keyFormat"`
	// ValueFormat is JSON or DELIMITED.
	ValueFormat string `json:"valueFormat"`
	// Props are the other format and timestamp properties, upper-case keys:
	// WRAP_SINGLE_VALUE, VALUE_DELIMITER, TIMESTAMP, TIMESTAMP_FORMAT.
	Props map[string]string `json:"props,omitempty"`
	// Partitions is the topic's partition count when the source was made.
	Partitions int32 `json:"partitions"`
	// Statement is the SQL that created the source.
	Statement string `json:"statement"`
	// Query is the id of the persistent query that writes this source,
	// when it was made by CREATE ... AS SELECT.
	Query string `json:"query,omitempty"`
	// Window is set for a windowed table: its key carries the window.
	Window *WindowInfo `json:"window,omitempty"`
	// Seq is the catalog sequence of the command that made this version of
	// the source: it tells a re-created source from the old one.
	Seq int64 `json:"seq"`
	// System marks sources that Runnel itself maintains (the processing
	// log); they cannot be dropped.
	System bool `json:"system,omitempty"`
	// ReadOnly marks a source made by CREATE SOURCE STREAM|TABLE: it is
	// read, never written (no INSERT, no query into it, no DELETE TOPIC),
	// as in ksqlDB.
	ReadOnly bool `json:"readOnly,omitempty"`
}

// WindowInfo describes the windows of a windowed table's keys.
type WindowInfo struct {
	// Kind is TUMBLING, HOPPING or SESSION.
	Kind string `json:"kind"`
	// SizeMs is the size of time windows (0 for SESSION).
	SizeMs int64 `json:"sizeMs,omitempty"`
}

// KeyColumns returns the key columns, in order.
func (s *Source) KeyColumns() []types.Column {
	var out []types.Column
	for _, c := range s.Columns {
		if c.Key {
			out = append(out, c)
		}
	}
	return out
}

// ValueColumns returns the value columns, in order.
func (s *Source) ValueColumns() []types.Column {
	var out []types.Column
	for _, c := range s.Columns {
		if !c.Key {
			out = append(out, c)
		}
	}
	return out
}

// Column finds a column by canonical name.
func (s *Source) Column(name string) (types.Column, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return types.Column{}, false
}

// Query is a persistent query: CREATE ... AS SELECT or INSERT INTO ...
// SELECT.
type Query struct {
	// ID is e.g. CSAS_LONG_VIEWS_3 (the number is the catalog offset of its
	// command, so ids are unique and stable across restarts).
	ID string `json:"id"`
	// Statement is the SQL text the query is re-planned from at start.
	Statement string `json:"statement"`
	// Sink is the source the query writes.
	Sink string `json:"sink"`
	// Sources are the sources it reads.
	Sources []string `json:"sources"`
	// Props are the properties the session that created the query set
	// for it (ksqlDB's overridden properties): num.standby.replicas.
	// They are stored with the query so that every node runs it alike;
	// nil for a query that takes the servers' settings.
	Props map[string]string `json:"props,omitempty"`
}

// QueryIDPrefix returns ksqlDB's id prefix for a query writing a sink of
// kind k: CSAS_ for streams, CTAS_ for tables; INSERTQUERY_ for INSERT INTO.
func QueryIDPrefix(k Kind, insert bool) string {
	switch {
	case insert:
		return "INSERTQUERY_"
	case k == KindTable:
		return "CTAS_"
	}
	return "CSAS_"
}

// TypeAlias is a custom type (CREATE TYPE name AS type): a name usable
// wherever a type is written. Statements resolve it when they are parsed,
// so a source or query keeps the type it was made with after the alias
// is dropped or made again.
type TypeAlias struct {
	Name string     `json:"name"`
	Type types.Type `json:"type"`
}

// canonical upper-cases nothing: names arrive canonical from the parser.
// It exists so that map keys are built in one place.
func sourceKey(name string) string { return "source/" + name }
func queryKey(id string) string    { return "query/" + strings.ToUpper(id) }
func typeKey(name string) string   { return "type/" + name }
