package pgcatalog

import (
	"fmt"

	"github.com/runnel/runnel/sql/types"
)

// pgType is one row of pg_type.
type pgType struct {
	oid      int64
	name     string // typname
	format   string // format_type's name
	len      int32
	category string
	array    int64 // the oid of its array type; 0 for an array type
	elem     int64 // an array type's element type
}

// pgTypes are the types the catalog presents: those Runnel's columns map
// to, those of the catalog's own columns, and their array types.
var pgTypes = func() []pgType {
	base := []pgType{
		{16, "bool", "boolean", 1, "B", 1000, 0},
		{17, "bytea", "bytea", -1, "U", 1001, 0},
		{18, "char", `"char"`, 1, "Z", 1002, 0},
		{19, "name", "name", 64, "S", 1003, 0},
		{20, "int8", "bigint", 8, "N", 1016, 0},
		{21, "int2", "smallint", 2, "N", 1005, 0},
		{23, "int4", "integer", 4, "N", 1007, 0},
		{25, "text", "text", -1, "S", 1009, 0},
		{26, "oid", "oid", 4, "N", 1028, 0},
		{114, "json", "json", -1, "U", 199, 0},
		{700, "float4", "real", 4, "N", 1021, 0},
		{701, "float8", "double precision", 8, "N", 1022, 0},
		{705, "unknown", "unknown", -2, "X", 0, 0},
		{1042, "bpchar", "character", -1, "S", 1014, 0},
		{1043, "varchar", "character varying", -1, "S", 1015, 0},
		{1082, "date", "date", 4, "D", 1182, 0},
		{1083, "time", "time without time zone", 8, "D", 1183, 0},
		{1114, "timestamp", "timestamp without time zone", 8, "D", 1115, 0},
		{1184, "timestamptz", "timestamp with time zone", 8, "D", 1185, 0},
		{1700, "numeric", "numeric", -1, "N", 1231, 0},
		{2205, "regclass", "regclass", 4, "N", 2210, 0},
		{3802, "jsonb", "jsonb", -1, "U", 3807, 0},
	}
	out := base
	for _, t := range base {
		if t.array != 0 {
			out = append(out, pgType{t.array, "_" + t.name, t.format + "[]", -1, "A", 0, t.oid})
		}
	}
	return out
}()

func pgTypeByOID(oid int64) (pgType, bool) {
	for _, t := range pgTypes {
		if t.oid == oid {
			return t, true
		}
	}
	return pgType{}, false
}

func pgTypeByName(name string) (pgType, bool) {
	for _, t := range pgTypes {
		if t.name == name || t.format == name {
			return t, true
		}
	}
	return pgType{}, false
}

// typeOID is the PostgreSQL type a Runnel column of type t has: the type
// the server sends in RowDescription for it (server.OID), so that what
// the catalog says and what a query returns agree. ARRAY, MAP and STRUCT
// travel as json.
func typeOID(t types.Type) int64 {
	switch t.Kind {
	case types.KindBoolean:
		return 16
	case types.KindInt:
		return 23
	case types.KindBigint:
		return 20
	case types.KindDouble:
		return 701
	case types.KindDecimal:
		return 1700
	case types.KindBytes:
		return 17
	case types.KindTimestamp:
		return 1114
	case types.KindDate:
		return 1082
	case types.KindTime:
		return 1083
	case types.KindArray, types.KindMap, types.KindStruct:
		return 114
	}
	return 25
}

// TypeOID is typeOID, for the test that checks it against the server's.
func TypeOID(t types.Type) int64 { return typeOID(t) }

// typeMod is a column's atttypmod: numeric(p,s) encodes ((p << 16) | s)
// + 4 as PostgreSQL does; every other type has none (-1).
func typeMod(t types.Type) int32 {
	if t.Kind == types.KindDecimal && t.Precision > 0 {
		return int32(t.Precision<<16|t.Scale) + 4
	}
	return -1
}

// formatType is format_type(oid, typmod).
func formatType(oid int64, typmod int64, hasMod bool) string {
	t, ok := pgTypeByOID(oid)
	if !ok {
		return "???"
	}
	if oid == 1700 && hasMod && typmod >= 4 {
		m := typmod - 4
		return fmt.Sprintf("numeric(%d,%d)", m>>16, m&0xffff)
	}
	return t.format
}
