package types

import (
	"fmt"
	"strings"
)

// Kind is the family of a type.
type Kind uint8

// The kinds. KindNull is the kind of an untyped NULL literal only; a
// column never has it.
const (
	KindNull Kind = iota
	KindBoolean
	KindInt     // 32-bit signed
	KindBigint  // 64-bit signed
	KindDouble  // IEEE 754 binary64
	KindDecimal // fixed precision and scale
	KindString  // ksqlDB's STRING, also spelled VARCHAR
	KindBytes
	KindTimestamp // milliseconds since the epoch, UTC
	KindDate      // days since the epoch
	KindTime      // milliseconds since midnight
	KindArray
	KindMap
	KindStruct
)

var kindNames = [...]string{
	KindNull:      "NULL",
	KindBoolean:   "BOOLEAN",
	KindInt:       "INTEGER",
	KindBigint:    "BIGINT",
	KindDouble:    "DOUBLE",
	KindDecimal:   "DECIMAL",
	KindString:    "STRING",
	KindBytes:     "BYTES",
	KindTimestamp: "TIMESTAMP",
	KindDate:      "DATE",
	KindTime:      "TIME",
	KindArray:     "ARRAY",
	KindMap:       "MAP",
	KindStruct:    "STRUCT",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Type is a SQL type. Types are immutable values; share them freely.
type Type struct {
	Kind Kind
	// Precision and Scale apply to DECIMAL.
	Precision, Scale int
	// Elem is the element type of an ARRAY and the value type of a MAP.
	Elem *Type
	// Key is the key type of a MAP (ksqlDB allows only STRING keys, but
	// any primitive is accepted here).
	Key *Type
	// Fields are the fields of a STRUCT, in declaration order.
	Fields []Field
}

// Field is a named field of a STRUCT.
type Field struct {
	Name string
	Type Type
}

// Simple types.
var (
	Null      = Type{Kind: KindNull}
	Boolean   = Type{Kind: KindBoolean}
	Int       = Type{Kind: KindInt}
	Bigint    = Type{Kind: KindBigint}
	Double    = Type{Kind: KindDouble}
	String    = Type{Kind: KindString}
	Bytes     = Type{Kind: KindBytes}
	Timestamp = Type{Kind: KindTimestamp}
	Date      = Type{Kind: KindDate}
	Time      = Type{Kind: KindTime}
)

// Decimal returns DECIMAL(precision, scale).
func Decimal(precision, scale int) Type {
	return Type{Kind: KindDecimal, Precision: precision, Scale: scale}
}

// Array returns ARRAY<elem>.
func Array(elem Type) Type { return Type{Kind: KindArray, Elem: &elem} }

// Map returns MAP<key, elem>.
func Map(key, elem Type) Type { return Type{Kind: KindMap, Key: &key, Elem: &elem} }

// Struct returns STRUCT<fields...>.
func Struct(fields ...Field) Type { return Type{Kind: KindStruct, Fields: fields} }

// String renders the type as ksqlDB's DESCRIBE does, e.g.
// "ARRAY<STRING>", "DECIMAL(10, 2)", "STRUCT<`A` INTEGER, `B` STRING>".
func (t Type) String() string {
	switch t.Kind {
	case KindDecimal:
		return fmt.Sprintf("DECIMAL(%d, %d)", t.Precision, t.Scale)
	case KindArray:
		return "ARRAY<" + t.Elem.String() + ">"
	case KindMap:
		return "MAP<" + t.Key.String() + ", " + t.Elem.String() + ">"
	case KindStruct:
		var b strings.Builder
		b.WriteString("STRUCT<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("`" + strings.ReplaceAll(f.Name, "`", "``") + "` " + f.Type.String())
		}
		b.WriteString(">")
		return b.String()
	}
	return t.Kind.String()
}

// Equal reports whether two types are identical.
func (t Type) Equal(o Type) bool {
	if t.Kind != o.Kind {
		return false
	}
	switch t.Kind {
	case KindDecimal:
		return t.Precision == o.Precision && t.Scale == o.Scale
	case KindArray:
		return t.Elem.Equal(*o.Elem)
	case KindMap:
		return t.Key.Equal(*o.Key) && t.Elem.Equal(*o.Elem)
	case KindStruct:
		if len(t.Fields) != len(o.Fields) {
			return false
		}
		for i := range t.Fields {
			if t.Fields[i].Name != o.Fields[i].Name || !t.Fields[i].Type.Equal(o.Fields[i].Type) {
				return false
			}
		}
	}
	return true
}

// IsNumeric reports whether t is INT, BIGINT, DECIMAL or DOUBLE.
func (t Type) IsNumeric() bool {
	switch t.Kind {
	case KindInt, KindBigint, KindDecimal, KindDouble:
		return true
	}
	return false
}

// FieldIndex returns the index of the STRUCT field named name, or -1.
func (t Type) FieldIndex(name string) int {
	for i, f := range t.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Column is a named, typed column of a schema.
type Column struct {
	Name string
	Type Type
	// Key marks a key column (ksqlDB's KEY on a stream, PRIMARY KEY on a
	// table).
	Key bool
}
