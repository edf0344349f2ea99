package pgcatalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql/types"
)

// vtable is a virtual table: its columns, and its rows computed from an
// Env when a query reads it.
type vtable struct {
	schema string // pg_catalog or information_schema
	name   string
	cols   []types.Column // names lower-case, as PostgreSQL's
	// kinds are the PostgreSQL types of the columns ("oid", "name", ...):
	// they decide the defaults of unset cells.
	kinds []string
	rows  func(e *Env, add func(map[string]types.Value))
}

// Column types of PostgreSQL's catalog columns, as Runnel values: oid and
// friends are BIGINT (an oid is unsigned 32-bit), name, text and "char"
// are STRING, arrays are ARRAYs.
var kindTypes = map[string]types.Type{
	"oid": types.Bigint, "regproc": types.Bigint, "xid": types.Bigint, "int8": types.Bigint,
	"int4": types.Int, "int2": types.Int, "float4": types.Double, "float8": types.Double,
	"bool": types.Boolean, "name": types.String, "text": types.String, "char": types.String,
	"pg_node_tree": types.String, "timestamptz": types.Timestamp,
	"oid[]": types.Array(types.Bigint), "text[]": types.Array(types.String), "name[]": types.Array(types.String),
	"char[]": types.Array(types.String), "aclitem[]": types.Array(types.String), "int2[]": types.Array(types.Int),
	"int2vector": types.Array(types.Int), "oidvector": types.Array(types.Bigint), "float4[]": types.Array(types.Double),
}

// table declares a virtual table from "name:kind" pairs.
func table(schema, name, spec string, rows func(e *Env, add func(map[string]types.Value))) *vtable {
	t := &vtable{schema: schema, name: name, rows: rows}
	for _, f := range strings.Fields(spec) {
		n, k, _ := strings.Cut(f, ":")
		typ, ok := kindTypes[k]
		if !ok {
			panic("pgcatalog: unknown column kind " + k)
		}
		t.cols = append(t.cols, types.Column{Name: n, Type: typ})
		t.kinds = append(t.kinds, k)
	}
	return t
}

// build computes the table's rows. A cell left unset is PostgreSQL's
// value for an object without the property: false, 0, ” for "char", and
// NULL for names, texts and arrays.
func (t *vtable) build(e *Env) []types.Row {
	var out []types.Row
	idx := make(map[string]int, len(t.cols))
	for i, c := range t.cols {
		idx[c.Name] = i
	}
	t.rows(e, func(m map[string]types.Value) {
		r := make(types.Row, len(t.cols))
		for i, k := range t.kinds {
			switch k {
			case "bool":
				r[i] = types.NewBoolean(false)
			case "oid", "regproc", "xid", "int8":
				r[i] = types.NewBigint(0)
			case "int4", "int2":
				r[i] = types.NewInt(0)
			case "char":
				r[i] = types.NewString("")
			}
		}
		for k, v := range m {
			i, ok := idx[k]
			if !ok {
				panic(fmt.Sprintf("pgcatalog: %s has no column %s", t.name, k))
			}
			r[i] = v
		}
		out = append(out, r)
	})
	return out
}

// Shorthands for cells.
func s(v string) types.Value { return types.NewString(v) }
func o(v int64) types.Value  { return types.NewBigint(v) }
func i4(v int32) types.Value { return types.NewInt(v) }
func b(v bool) types.Value   { return types.NewBoolean(v) }
func strs(v ...string) types.Value {
	l := make([]types.Value, len(v))
	for i, x := range v {
		l[i] = s(x)
	}
	return types.NewArray(l)
}

var noRows = func(*Env, func(map[string]types.Value)) {}

// describe is a source's description, pg_description's text for it.
func describe(src *catalog.Source) string {
	return fmt.Sprintf("%s over topic %s (key format %s, value format %s)", src.Kind, src.Topic, src.KeyFormat, src.ValueFormat)
}

// namespaces are pg_namespace's rows: name and oid.
var namespaces = []struct {
	name string
	oid  int64
}{{"pg_catalog", oidNamespaceCatalog}, {"public", oidNamespacePublic}, {"information_schema", oidNamespaceInfo}}

func namespaceName(oid int64) (string, bool) {
	for _, n := range namespaces {
		if n.oid == oid {
			return n.name, true
		}
	}
	return "", false
}

// vtables are the virtual tables, by schema and name.
var vtables = func() map[string]*vtable {
	list := []*vtable{
		table("pg_catalog", "pg_namespace", "oid:oid nspname:name nspowner:oid nspacl:aclitem[]", func(e *Env, add func(map[string]types.Value)) {
			for _, n := range namespaces {
				add(map[string]types.Value{"oid": o(n.oid), "nspname": s(n.name), "nspowner": o(oidSuperuser)})
			}
		}),
		table("pg_catalog", "pg_class", `oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid relam:oid
			relfilenode:oid reltablespace:oid relpages:int4 reltuples:float4 relallvisible:int4 reltoastrelid:oid
			relhasindex:bool relisshared:bool relpersistence:char relkind:char relnatts:int2 relchecks:int2
			relhasrules:bool relhastriggers:bool relhassubclass:bool relrowsecurity:bool relforcerowsecurity:bool
			relispopulated:bool relreplident:char relispartition:bool relrewrite:oid relfrozenxid:xid relminmxid:xid
			relacl:aclitem[] reloptions:text[] relpartbound:pg_node_tree`, func(e *Env, add func(map[string]types.Value)) {
			for _, r := range e.relations() {
				pk := r.src.Kind == catalog.KindTable && len(r.src.KeyColumns()) > 0
				add(map[string]types.Value{"oid": o(r.oid), "relname": s(r.name), "relnamespace": o(oidNamespacePublic),
					"relowner": o(oidSuperuser), "relam": o(oidAccessMethodHeap), "relfilenode": o(r.oid), "relkind": s("r"),
					"relpersistence": s("p"), "relnatts": i4(int32(len(r.src.Columns))), "relhasindex": b(pk),
					"relispopulated": b(true), "relreplident": s("d"), "reltuples": types.NewDouble(-1)})
				if pk {
					add(map[string]types.Value{"oid": o(r.oid + oidIndexOffset), "relname": s(r.name + "_pkey"),
						"relnamespace": o(oidNamespacePublic), "relowner": o(oidSuperuser), "relam": o(oidAccessMethodBtree),
						"relkind": s("i"), "relpersistence": s("p"), "relnatts": i4(int32(len(r.src.KeyColumns()))),
						"relispopulated": b(true), "relreplident": s("n"), "reltuples": types.NewDouble(-1)})
				}
			}
		}),
		table("pg_catalog", "pg_attribute", `attrelid:oid attname:name atttypid:oid attstattarget:int4 attlen:int2 attnum:int2
			attndims:int4 attcacheoff:int4 atttypmod:int4 attbyval:bool attalign:char attstorage:char attcompression:char
			attnotnull:bool atthasdef:bool atthasmissing:bool attidentity:char attgenerated:char attisdropped:bool
			attislocal:bool attinhcount:int4 attcollation:oid attacl:aclitem[] attoptions:text[]`, func(e *Env, add func(map[string]types.Value)) {
			for _, r := range e.relations() {
				for i, c := range r.src.Columns {
					oid := typeOID(c.Type)
					t, _ := pgTypeByOID(oid)
					coll := int64(0)
					if t.category == "S" {
						coll = oidCollationDefault
					}
					storage := "p"
					if t.len < 0 {
						storage = "x"
					}
					add(map[string]types.Value{"attrelid": o(r.oid), "attname": s(pgName(c.Name)), "atttypid": o(oid),
						"attstattarget": i4(-1), "attlen": i4(t.len), "attnum": i4(int32(i + 1)), "atttypmod": i4(typeMod(c.Type)),
						"attbyval": b(t.len > 0 && t.len <= 8), "attalign": s("i"), "attstorage": s(storage),
						"attnotnull": b(c.Key && r.src.Kind == catalog.KindTable), "attislocal": b(true), "attcollation": o(coll)})
				}
				if r.src.Kind == catalog.KindTable {
					for i, c := range r.src.KeyColumns() {
						t, _ := pgTypeByOID(typeOID(c.Type))
						add(map[string]types.Value{"attrelid": o(r.oid + oidIndexOffset), "attname": s(pgName(c.Name)),
							"atttypid": o(t.oid), "attlen": i4(t.len), "attnum": i4(int32(i + 1)), "atttypmod": i4(typeMod(c.Type)),
							"attislocal": b(true), "attstattarget": i4(-1)})
					}
				}
			}
		}),
		table("pg_catalog", "pg_type", `oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool
			typtype:char typcategory:char typispreferred:bool typisdefined:bool typdelim:char typrelid:oid typsubscript:regproc
			typelem:oid typarray:oid typinput:regproc typoutput:regproc typreceive:regproc typsend:regproc typalign:char
			typstorage:char typnotnull:bool typbasetype:oid typtypmod:int4 typndims:int4 typcollation:oid
			typdefaultbin:pg_node_tree typdefault:text typacl:aclitem[]`, func(e *Env, add func(map[string]types.Value)) {
			for _, t := range pgTypes {
				coll := int64(0)
				if t.category == "S" {
					coll = oidCollationDefault
				}
				add(map[string]types.Value{"oid": o(t.oid), "typname": s(t.name), "typnamespace": o(oidNamespaceCatalog),
					"typowner": o(oidSuperuser), "typlen": i4(t.len), "typbyval": b(t.len > 0 && t.len <= 8), "typtype": s("b"),
					"typcategory": s(t.category), "typisdefined": b(true), "typdelim": s(","), "typelem": o(t.elem),
					"typarray": o(t.array), "typalign": s("i"), "typstorage": s("p"), "typtypmod": i4(-1), "typcollation": o(coll)})
			}
			for _, t := range e.customTypes() {
				add(customTypeRow(t))
			}
		}),
		table("pg_catalog", "pg_database", `oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char datistemplate:bool
			datallowconn:bool datconnlimit:int4 datfrozenxid:xid datminmxid:xid dattablespace:oid datcollate:text
			datctype:text daticulocale:text datcollversion:text datacl:aclitem[]`, func(e *Env, add func(map[string]types.Value)) {
			add(map[string]types.Value{"oid": o(oidDatabase), "datname": s(e.Database), "datdba": o(oidSuperuser),
				"encoding": i4(6), "datlocprovider": s("c"), "datallowconn": b(true), "datconnlimit": i4(-1),
				"datcollate": s("C"), "datctype": s("C"), "dattablespace": o(1663)})
		}),
		table("pg_catalog", "pg_roles", `rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool
			rolcanlogin:bool rolreplication:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz
			rolbypassrls:bool rolconfig:text[] oid:oid`, func(e *Env, add func(map[string]types.Value)) {
			add(map[string]types.Value{"oid": o(oidSuperuser), "rolname": s(e.User), "rolsuper": b(true), "rolinherit": b(true),
				"rolcreaterole": b(true), "rolcreatedb": b(true), "rolcanlogin": b(true), "rolconnlimit": i4(-1), "rolpassword": s("********")})
		}),
		table("pg_catalog", "pg_user", `usename:name usesysid:oid usecreatedb:bool usesuper:bool userepl:bool usebypassrls:bool
			passwd:text valuntil:timestamptz useconfig:text[]`, func(e *Env, add func(map[string]types.Value)) {
			add(map[string]types.Value{"usename": s(e.User), "usesysid": o(oidSuperuser), "usecreatedb": b(true),
				"usesuper": b(true), "passwd": s("********")})
		}),
		table("pg_catalog", "pg_proc", `oid:oid proname:name pronamespace:oid proowner:oid prolang:oid procost:float4
			prorows:float4 provariadic:oid prosupport:regproc prokind:char prosecdef:bool proleakproof:bool proisstrict:bool
			proretset:bool provolatile:char proparallel:char pronargs:int2 pronargdefaults:int2 prorettype:oid
			proargtypes:oidvector proallargtypes:oid[] proargmodes:char[] proargnames:text[] proargdefaults:pg_node_tree
			protrftypes:oid[] prosrc:text probin:text prosqlbody:pg_node_tree proconfig:text[] proacl:aclitem[]`,
			func(e *Env, add func(map[string]types.Value)) {
				for i, f := range e.Functions {
					add(map[string]types.Value{"oid": o(oidFirstFunction + int64(i)), "proname": s(strings.ToLower(f.Name)),
						"pronamespace": o(oidNamespaceCatalog), "proowner": o(oidSuperuser), "prolang": o(12), "procost": types.NewDouble(1),
						"prokind": s("f"), "proisstrict": b(true), "provolatile": s("i"), "proparallel": s("s"),
						"prorettype": o(25), "prosrc": s(f.Name)})
				}
			}),
		table("pg_catalog", "pg_description", "objoid:oid classoid:oid objsubid:int4 description:text", func(e *Env, add func(map[string]types.Value)) {
			for _, r := range e.relations() {
				add(map[string]types.Value{"objoid": o(r.oid), "classoid": o(systemRelations["pg_class"]), "description": s(describe(r.src))})
			}
			for i, f := range e.Functions {
				add(map[string]types.Value{"objoid": o(oidFirstFunction + int64(i)), "classoid": o(systemRelations["pg_proc"]), "description": s(f.Description)})
			}
			for _, t := range e.customTypes() {
				add(map[string]types.Value{"objoid": o(t.oid), "classoid": o(systemRelations["pg_type"]), "description": s(describeType(t))})
			}
		}),
		table("pg_catalog", "pg_settings", `name:text setting:text unit:text category:text short_desc:text extra_desc:text
			context:text vartype:text source:text min_val:text max_val:text enumvals:text[] boot_val:text reset_val:text
			sourcefile:text sourceline:int4 pending_restart:bool`, func(e *Env, add func(map[string]types.Value)) {
			names := make([]string, 0, len(e.Settings))
			for n := range e.Settings {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				add(map[string]types.Value{"name": s(n), "setting": s(e.Settings[n]), "context": s("user"), "vartype": s("string"),
					"source": s("default"), "boot_val": s(e.Settings[n]), "reset_val": s(e.Settings[n])})
			}
		}),
		table("pg_catalog", "pg_index", `indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool
			indnullsnotdistinct:bool indisprimary:bool indisexclusion:bool indimmediate:bool indisclustered:bool
			indisvalid:bool indcheckxmin:bool indisready:bool indislive:bool indisreplident:bool indkey:int2vector
			indcollation:oidvector indclass:oidvector indoption:int2vector indexprs:pg_node_tree indpred:pg_node_tree`,
			func(e *Env, add func(map[string]types.Value)) {
				for _, r := range e.relations() {
					keys := primaryKey(r)
					if keys.IsNull() {
						continue
					}
					add(map[string]types.Value{"indexrelid": o(r.oid + oidIndexOffset), "indrelid": o(r.oid),
						"indnatts": i4(int32(len(keys.List()))), "indnkeyatts": i4(int32(len(keys.List()))), "indisunique": b(true),
						"indisprimary": b(true), "indimmediate": b(true), "indisvalid": b(true), "indisready": b(true),
						"indislive": b(true), "indkey": keys})
				}
			}),
		table("pg_catalog", "pg_constraint", `oid:oid conname:name connamespace:oid contype:char condeferrable:bool
			condeferred:bool convalidated:bool conrelid:oid contypid:oid conindid:oid conparentid:oid confrelid:oid
			confupdtype:char confdeltype:char confmatchtype:char conislocal:bool coninhcount:int4 connoinherit:bool
			conkey:int2[] confkey:int2[] conpfeqop:oid[] conppeqop:oid[] conffeqop:oid[] confdelsetcols:int2[]
			conexclop:oid[] conbin:pg_node_tree`, func(e *Env, add func(map[string]types.Value)) {
			for _, r := range e.relations() {
				keys := primaryKey(r)
				if keys.IsNull() {
					continue
				}
				add(map[string]types.Value{"oid": o(r.oid + oidConstraintOffset), "conname": s(r.name + "_pkey"),
					"connamespace": o(oidNamespacePublic), "contype": s("p"), "convalidated": b(true), "conrelid": o(r.oid),
					"conindid": o(r.oid + oidIndexOffset), "conislocal": b(true), "connoinherit": b(true), "conkey": keys})
			}
		}),
		table("pg_catalog", "pg_am", "oid:oid amname:name amhandler:regproc amtype:char", func(e *Env, add func(map[string]types.Value)) {
			add(map[string]types.Value{"oid": o(oidAccessMethodHeap), "amname": s("heap"), "amtype": s("t")})
			add(map[string]types.Value{"oid": o(oidAccessMethodBtree), "amname": s("btree"), "amtype": s("i")})
		}),
		table("pg_catalog", "pg_collation", `oid:oid collname:name collnamespace:oid collowner:oid collprovider:char
			collisdeterministic:bool collencoding:int4 collcollate:text collctype:text colliculocale:text collversion:text`,
			func(e *Env, add func(map[string]types.Value)) {
				add(map[string]types.Value{"oid": o(oidCollationDefault), "collname": s("default"), "collnamespace": o(oidNamespaceCatalog),
					"collowner": o(oidSuperuser), "collprovider": s("d"), "collisdeterministic": b(true), "collencoding": i4(-1)})
			}),
		table("pg_catalog", "pg_tables", `schemaname:name tablename:name tableowner:name tablespace:name hasindexes:bool
			hasrules:bool hastriggers:bool rowsecurity:bool`, func(e *Env, add func(map[string]types.Value)) {
			for _, r := range e.relations() {
				add(map[string]types.Value{"schemaname": s("public"), "tablename": s(r.name), "tableowner": s(e.User),
					"hasindexes": b(!primaryKey(r).IsNull())})
			}
		}),
		table("pg_catalog", "pg_tablespace", "oid:oid spcname:name spcowner:oid spcacl:aclitem[] spcoptions:text[]", func(e *Env, add func(map[string]types.Value)) {
			add(map[string]types.Value{"oid": o(1663), "spcname": s("pg_default"), "spcowner": o(oidSuperuser)})
		}),
		// Catalogs of features Runnel does not have: always empty.
		table("pg_catalog", "pg_attrdef", "oid:oid adrelid:oid adnum:int2 adbin:pg_node_tree", noRows),
		table("pg_catalog", "pg_policy", `oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool polroles:oid[]
			polqual:pg_node_tree polwithcheck:pg_node_tree`, noRows),
		table("pg_catalog", "pg_statistic_ext", `oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid
			stxstattarget:int4 stxkeys:int2vector stxkind:char[] stxexprs:pg_node_tree`, noRows),
		table("pg_catalog", "pg_publication", `oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool
			pubupdate:bool pubdelete:bool pubtruncate:bool pubviaroot:bool`, noRows),
		table("pg_catalog", "pg_publication_namespace", "oid:oid pnpubid:oid pnnspid:oid", noRows),
		table("pg_catalog", "pg_publication_rel", "oid:oid prpubid:oid prrelid:oid prqual:pg_node_tree prattrs:int2vector", noRows),
		table("pg_catalog", "pg_inherits", "inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool", noRows),
		table("pg_catalog", "pg_auth_members", "roleid:oid member:oid grantor:oid admin_option:bool", noRows),
		table("pg_catalog", "pg_trigger", "oid:oid tgrelid:oid tgparentid:oid tgname:name tgfoid:oid tgtype:int2 tgenabled:char tgisinternal:bool", noRows),
		table("pg_catalog", "pg_rewrite", "oid:oid rulename:name ev_class:oid ev_type:char ev_enabled:char is_instead:bool", noRows),
		table("pg_catalog", "pg_enum", "oid:oid enumtypid:oid enumsortorder:float4 enumlabel:name", noRows),
		table("pg_catalog", "pg_range", "rngtypid:oid rngsubtype:oid rngmultitypid:oid rngcollation:oid", noRows),
		table("pg_catalog", "pg_extension", "oid:oid extname:name extowner:oid extnamespace:oid extrelocatable:bool extversion:text", noRows),
		table("pg_catalog", "pg_views", "schemaname:name viewname:name viewowner:name definition:text", noRows),
		table("pg_catalog", "pg_matviews", "schemaname:name matviewname:name matviewowner:name tablespace:name hasindexes:bool ispopulated:bool definition:text", noRows),
		table("pg_catalog", "pg_sequence", "seqrelid:oid seqtypid:oid seqstart:int8 seqincrement:int8 seqmax:int8 seqmin:int8 seqcache:int8 seqcycle:bool", noRows),
		table("pg_catalog", "pg_foreign_table", "ftrelid:oid ftserver:oid ftoptions:text[]", noRows),
		table("pg_catalog", "pg_partitioned_table", "partrelid:oid partstrat:char partnatts:int2 partdefid:oid", noRows),
		table("pg_catalog", "pg_depend", "classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid refobjsubid:int4 deptype:char", noRows),
		table("pg_catalog", "pg_shdescription", "objoid:oid classoid:oid description:text", noRows),

		table("information_schema", "schemata", `catalog_name:name schema_name:name schema_owner:name
			default_character_set_catalog:name default_character_set_schema:name default_character_set_name:name sql_path:text`,
			func(e *Env, add func(map[string]types.Value)) {
				for _, n := range namespaces {
					add(map[string]types.Value{"catalog_name": s(e.Database), "schema_name": s(n.name), "schema_owner": s(e.User)})
				}
			}),
		table("information_schema", "tables", `table_catalog:name table_schema:name table_name:name table_type:text
			self_referencing_column_name:name reference_generation:text user_defined_type_catalog:name
			user_defined_type_schema:name user_defined_type_name:name is_insertable_into:text is_typed:text commit_action:text`,
			func(e *Env, add func(map[string]types.Value)) {
				for _, r := range e.relations() {
					add(map[string]types.Value{"table_catalog": s(e.Database), "table_schema": s("public"), "table_name": s(r.name),
						"table_type": s("BASE TABLE"), "is_insertable_into": s("YES"), "is_typed": s("NO")})
				}
			}),
		table("information_schema", "columns", `table_catalog:name table_schema:name table_name:name column_name:name
			ordinal_position:int4 column_default:text is_nullable:text data_type:text character_maximum_length:int4
			character_octet_length:int4 numeric_precision:int4 numeric_precision_radix:int4 numeric_scale:int4
			datetime_precision:int4 udt_catalog:name udt_schema:name udt_name:name is_identity:text is_generated:text
			is_updatable:text`, func(e *Env, add func(map[string]types.Value)) {
			for _, r := range e.relations() {
				for i, c := range r.src.Columns {
					t, _ := pgTypeByOID(typeOID(c.Type))
					nullable := "YES"
					if c.Key && r.src.Kind == catalog.KindTable {
						nullable = "NO"
					}
					m := map[string]types.Value{"table_catalog": s(e.Database), "table_schema": s("public"), "table_name": s(r.name),
						"column_name": s(pgName(c.Name)), "ordinal_position": i4(int32(i + 1)), "is_nullable": s(nullable),
						"data_type": s(t.format), "udt_catalog": s(e.Database), "udt_schema": s("pg_catalog"), "udt_name": s(t.name),
						"is_identity": s("NO"), "is_generated": s("NEVER"), "is_updatable": s("YES"),
						"numeric_precision": types.NullValue, "numeric_precision_radix": types.NullValue, "numeric_scale": types.NullValue}
					switch c.Type.Kind {
					case types.KindInt:
						m["numeric_precision"], m["numeric_precision_radix"], m["numeric_scale"] = i4(32), i4(2), i4(0)
					case types.KindBigint:
						m["numeric_precision"], m["numeric_precision_radix"], m["numeric_scale"] = i4(64), i4(2), i4(0)
					case types.KindDouble:
						m["numeric_precision"], m["numeric_precision_radix"] = i4(53), i4(2)
					case types.KindDecimal:
						m["numeric_precision"], m["numeric_precision_radix"], m["numeric_scale"] = i4(int32(c.Type.Precision)), i4(10), i4(int32(c.Type.Scale))
					case types.KindTimestamp, types.KindTime:
						m["datetime_precision"] = i4(3)
					case types.KindDate:
						m["datetime_precision"] = i4(0)
					}
					add(m)
				}
			}
		}),
		table("information_schema", "views", "table_catalog:name table_schema:name table_name:name view_definition:text", noRows),
	}
	m := make(map[string]*vtable, len(list))
	for _, t := range list {
		m[t.schema+"."+t.name] = t
	}
	return m
}()

// primaryKey is the attribute numbers of a table's PRIMARY KEY columns as
// an int2vector, or nil for a stream or a table without one.
func primaryKey(r relation) types.Value {
	if r.src.Kind != catalog.KindTable {
		return types.Value{}
	}
	var keys []types.Value
	for i, c := range r.src.Columns {
		if c.Key {
			keys = append(keys, i4(int32(i+1)))
		}
	}
	if len(keys) == 0 {
		return types.Value{}
	}
	return types.NewArray(keys)
}

// lookupTable finds a virtual table by schema ("" searches pg_catalog,
// then information_schema is not searched: PostgreSQL's search path) and
// name, both in PostgreSQL's form.
func lookupTable(schema, name string) (*vtable, bool) {
	if schema == "" {
		schema = "pg_catalog"
	}
	t, ok := vtables[schema+"."+name]
	return t, ok
}
