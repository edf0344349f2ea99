package pgcatalog

import (
	"fmt"
	"hash/fnv"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql/types"
)

// Custom types (CREATE TYPE) appear in pg_type as PostgreSQL presents a
// domain (CREATE DOMAIN): a type of schema public, typtype 'd', over the
// base type its values travel as (json for a STRUCT, ARRAY or MAP, int8
// for a BIGINT, ...; typeOID). psql's \dT lists them with their ksqlDB
// definition as the description, and format_type names them.

// customType is one custom type as the catalog presents it.
type customType struct {
	alias *catalog.TypeAlias
	oid   int64
	name  string // PostgreSQL's form of the name (see pgName)
	base  pgType
}

// Custom types' oids: a hash of the name in a range of their own (above
// every source's, below the indexes'), so that a type keeps its oid
// across restarts and the creation of others; a collision moves to the
// next free oid, in name order.
const (
	oidFirstType = 1<<29 + 1<<28
	oidTypeRange = 1 << 20
)

// customTypes lists the custom types with their oids, in name order.
func (e *Env) customTypes() []customType {
	out := make([]customType, 0, len(e.Types))
	used := make(map[int64]bool, len(e.Types))
	for _, a := range e.Types {
		h := fnv.New32a()
		h.Write([]byte(a.Name))
		oid := oidFirstType + int64(h.Sum32()%oidTypeRange)
		for used[oid] {
			oid = oidFirstType + (oid-oidFirstType+1)%oidTypeRange
		}
		used[oid] = true
		base, _ := pgTypeByOID(typeOID(a.Type))
		out = append(out, customType{alias: a, oid: oid, name: pgName(a.Name), base: base})
	}
	return out
}

// customTypeByOID finds a custom type.
func (e *Env) customTypeByOID(oid int64) (customType, bool) {
	if oid < oidFirstType || oid >= oidFirstType+oidTypeRange {
		return customType{}, false
	}
	for _, t := range e.customTypes() {
		if t.oid == oid {
			return t, true
		}
	}
	return customType{}, false
}

// describeType is a custom type's description: its ksqlDB definition.
func describeType(t customType) string {
	return fmt.Sprintf("ksqlDB type %s AS %s", t.alias.Name, t.alias.Type)
}

// customTypeRow is a custom type's row of pg_type.
func customTypeRow(t customType) map[string]types.Value {
	return map[string]types.Value{"oid": o(t.oid), "typname": s(t.name), "typnamespace": o(oidNamespacePublic),
		"typowner": o(oidSuperuser), "typlen": i4(t.base.len), "typbyval": b(t.base.len > 0 && t.base.len <= 8), "typtype": s("d"),
		"typcategory": s(t.base.category), "typisdefined": b(true), "typdelim": s(","), "typalign": s("i"), "typstorage": s("p"),
		"typbasetype": o(t.base.oid), "typtypmod": i4(typeMod(t.alias.Type))}
}
