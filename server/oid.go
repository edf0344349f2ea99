package server

import "github.com/runnel/runnel/sql/types"

// PostgreSQL type OIDs the server speaks.
const (
	oidBool        uint32 = 16
	oidBytea       uint32 = 17
	oidName        uint32 = 19
	oidInt8        uint32 = 20
	oidInt2        uint32 = 21
	oidInt4        uint32 = 23
	oidText        uint32 = 25
	oidJSON        uint32 = 114
	oidFloat4      uint32 = 700
	oidFloat8      uint32 = 701
	oidUnknown     uint32 = 705
	oidBpchar      uint32 = 1042
	oidVarchar     uint32 = 1043
	oidDate        uint32 = 1082
	oidTime        uint32 = 1083
	oidTimestamp   uint32 = 1114
	oidTimestamptz uint32 = 1184
	oidNumeric     uint32 = 1700
	oidJSONB       uint32 = 3802
)

// OID returns the PostgreSQL type OID that represents t on the wire.
// ARRAY, MAP and STRUCT travel as json; the type of an untyped NULL as
// text.
func OID(t types.Type) uint32 {
	switch t.Kind {
	case types.KindBoolean:
		return oidBool
	case types.KindInt:
		return oidInt4
	case types.KindBigint:
		return oidInt8
	case types.KindDouble:
		return oidFloat8
	case types.KindDecimal:
		return oidNumeric
	case types.KindBytes:
		return oidBytea
	case types.KindTimestamp:
		return oidTimestamp
	case types.KindDate:
		return oidDate
	case types.KindTime:
		return oidTime
	case types.KindArray, types.KindMap, types.KindStruct:
		return oidJSON
	}
	return oidText
}

// typeSize is RowDescription's DataTypeSize for t: the fixed width, or -1.
func typeSize(t types.Type) int16 {
	switch t.Kind {
	case types.KindBoolean:
		return 1
	case types.KindInt, types.KindDate:
		return 4
	case types.KindBigint, types.KindDouble, types.KindTimestamp, types.KindTime:
		return 8
	}
	return -1
}

// typeModifier is RowDescription's TypeModifier: numeric(p,s) encodes
// ((p << 16) | s) + 4 as PostgreSQL does; everything else has none.
func typeModifier(t types.Type) int32 {
	if t.Kind == types.KindDecimal && t.Precision > 0 {
		return int32(t.Precision<<16|t.Scale) + 4
	}
	return -1
}
