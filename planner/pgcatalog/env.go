package pgcatalog

import (
	"strings"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql/expr"
)

// Env is what one catalog query sees: a snapshot of the catalog and the
// session. It is built for each execution and not modified after.
type Env struct {
	// Sources are the streams and tables to present.
	Sources []*catalog.Source
	// Functions are the scalar functions to present in pg_proc; nil
	// presents none.
	Functions []*expr.Function
	// Types are the custom types (CREATE TYPE) to present in pg_type,
	// sorted by name (customtypes.go); nil presents none.
	Types []*catalog.TypeAlias
	// User is the session's user, the owner of every object. Default
	// (""): "runnel".
	User string
	// Database is the database the client named at startup. Default
	// (""): "runnel".
	Database string
	// BackendPID is what pg_backend_pid() returns: the key of the
	// session's cancel requests.
	BackendPID int32
	// Now is the transaction's timestamp, what now() returns. Default
	// (zero): the time Bind is called.
	Now time.Time
	// Settings answer current_setting() and pg_settings, by lower-case
	// name.
	Settings map[string]string
	// MaxRows bounds the rows of every intermediate result. Default (0):
	// DefaultMaxRows.
	MaxRows int
	// MaxWork bounds the row combinations one query examines. Default
	// (0): DefaultMaxWork.
	MaxWork int64
}

// Defaults of Env's bounds.
const (
	DefaultMaxRows = 100_000
	DefaultMaxWork = 2_000_000
)

// EnsureDefaults fills in the defaults.
func (e *Env) EnsureDefaults() {
	if e.User == "" {
		e.User = "runnel"
	}
	if e.Database == "" {
		e.Database = "runnel"
	}
	if e.Now.IsZero() {
		e.Now = time.Now()
	}
	if e.MaxRows <= 0 {
		e.MaxRows = DefaultMaxRows
	}
	if e.MaxWork <= 0 {
		e.MaxWork = DefaultMaxWork
	}
}

// Object identifiers of the catalog: PostgreSQL's own where PostgreSQL
// fixes them, so that tools that know them (10 is the bootstrap
// superuser, 11 pg_catalog, 2200 public) are right.
const (
	oidSuperuser         = 10
	oidNamespaceCatalog  = 11
	oidNamespacePublic   = 2200
	oidNamespaceInfo     = 13000
	oidDatabase          = 16383
	oidFirstSource       = 16384
	oidFirstFunction     = 20000
	oidIndexOffset       = 1 << 30 // a table's primary key index: its oid + this
	oidConstraintOffset  = 1<<30 + 1<<29
	oidAccessMethodHeap  = 2
	oidAccessMethodBtree = 403
	oidCollationDefault  = 100
)

// systemRelations are the oids PostgreSQL gives its catalog tables, for
// 'pg_class'::regclass and friends (pgjdbc compares pg_description's
// classoid with one).
var systemRelations = map[string]int64{
	"pg_class": 1259, "pg_attribute": 1249, "pg_type": 1247, "pg_proc": 1255,
	"pg_namespace": 2615, "pg_database": 1262, "pg_description": 2609,
	"pg_constraint": 2606, "pg_index": 2610, "pg_authid": 1260, "pg_am": 2601,
	"pg_collation": 3456, "pg_attrdef": 2604, "pg_settings": 12000,
}

// relation is one stream or table as the catalog presents it.
type relation struct {
	src  *catalog.Source
	oid  int64
	name string // PostgreSQL's form of the name (see pgName)
}

// relations lists the sources with their oids, in catalog order.
func (e *Env) relations() []relation {
	out := make([]relation, 0, len(e.Sources))
	for _, s := range e.Sources {
		out = append(out, relation{src: s, oid: sourceOID(s), name: pgName(s.Name)})
	}
	return out
}

// sourceOID is a source's oid: stable for one creation of the source (its
// catalog sequence), new when it is re-created, as in PostgreSQL.
func sourceOID(s *catalog.Source) int64 {
	return oidFirstSource + s.Seq%(1<<29)
}

// pgName is a canonical Runnel name in PostgreSQL's form: a name without
// lower-case letters (what an unquoted name folds to) is lower-cased, as
// PostgreSQL folds unquoted names; any other keeps its case.
func pgName(name string) string {
	if strings.ToUpper(name) == name {
		return strings.ToLower(name)
	}
	return name
}

// relationByOID finds a relation.
func (e *Env) relationByOID(oid int64) (relation, bool) {
	for _, r := range e.relations() {
		if r.oid == oid {
			return r, true
		}
	}
	return relation{}, false
}

// relationByName finds a relation by its PostgreSQL name or its canonical
// name, with an optional public. or pg_catalog. qualifier.
func (e *Env) relationByName(name string) (relation, bool) {
	name = strings.TrimPrefix(name, "public.")
	for _, r := range e.relations() {
		if r.name == name || r.src.Name == name {
			return r, true
		}
	}
	return relation{}, false
}
