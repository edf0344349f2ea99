// Package types is Runnel's value system, the one every room shares: the
// SQL types of streams and tables (ksqlDB's BOOLEAN, INT, BIGINT, DOUBLE,
// DECIMAL(p,s), STRING, BYTES, TIMESTAMP, DATE, TIME, ARRAY, MAP, STRUCT),
// Value, the unboxed representation every operator evaluates, and the
// text forms of both:
//
//	types.go   Type, Field, Column: what a column is
//	value.go   Value and Row, Compare (a total order), Size (memory)
//	format.go  values as ksqlDB shows them: Format, and the one Java-double
//	           formatter (AppendDouble / FormatDouble), the one decimal
//	           formatter (AppendDecimal / FormatDecimal), ISO-8601 dates and
//	           times (FormatTimestamp, ParseTimestamp, ...)
//	parse.go   the one type-name parser (Parse, ParsePrefix): column types,
//	           CAST(x AS T) and x::T all read through it
//
// Every room that writes a value as text calls these: the record formats
// (operators/serde: JSON and DELIMITED write Java's doubles and plain
// decimals), CAST AS STRING and the functions (sql/expr), the pgwire text
// form of a DECIMAL (server), the statement parser (sql) for types. A
// second copy would drift, and TestOneHome fails if one appears.
//
// What stands where: this package knows values and their text, nothing of
// expressions; sql/expr binds and evaluates expressions over these values
// (operators, casts, functions, lambdas). This package knows nothing of
// parsing statements, storage or the wire either: those rooms convert to
// and from these values.
package types
