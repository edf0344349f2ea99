package pgcatalog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// pgFunc is one of PostgreSQL's functions as catalog queries call it.
type pgFunc struct {
	min, max int
	// strict: a NULL argument makes the result NULL without a call.
	strict bool
	ret    func(args []expr.Expr) types.Type
	eval   func(p *Plan, a []types.Value) (types.Value, error)
}

func ret(t types.Type) func([]expr.Expr) types.Type { return func([]expr.Expr) types.Type { return t } }

func constant(t types.Type, f func(e *Env) types.Value) *pgFunc {
	return &pgFunc{ret: ret(t), eval: func(p *Plan, _ []types.Value) (types.Value, error) { return f(p.env), nil }}
}

// ms is a time as Runnel's TIMESTAMP.
func ms(t time.Time) types.Value { return types.NewTimestamp(t.UnixMilli()) }

// functions are the catalog functions, by lower-case name.
var functions map[string]*pgFunc

func init() {
	user := func(e *Env) types.Value { return s(e.User) }
	now := func(e *Env) types.Value { return ms(e.Now) }
	boolTrue := &pgFunc{min: 1, max: 3, strict: true, ret: ret(types.Boolean), eval: func(*Plan, []types.Value) (types.Value, error) {
		return b(true), nil
	}}
	functions = map[string]*pgFunc{
		"version": constant(types.String, func(*Env) types.Value {
			return s("PostgreSQL 15.0 (Runnel, a streaming SQL engine in ksqlDB's dialect)")
		}),
		"current_database":      constant(types.String, func(e *Env) types.Value { return s(e.Database) }),
		"current_catalog":       constant(types.String, func(e *Env) types.Value { return s(e.Database) }),
		"current_schema":        constant(types.String, func(*Env) types.Value { return s("public") }),
		"current_user":          constant(types.String, user),
		"session_user":          constant(types.String, user),
		"current_role":          constant(types.String, user),
		"user":                  constant(types.String, user),
		"now":                   constant(types.Timestamp, now),
		"current_timestamp":     constant(types.Timestamp, now),
		"transaction_timestamp": constant(types.Timestamp, now),
		"statement_timestamp":   constant(types.Timestamp, now),
		"localtimestamp":        constant(types.Timestamp, now),
		"clock_timestamp":       constant(types.Timestamp, func(*Env) types.Value { return ms(time.Now()) }),
		"current_date": constant(types.Date, func(e *Env) types.Value {
			return types.NewDate(e.Now.UTC().Unix() / 86400)
		}),
		"pg_backend_pid":    constant(types.Int, func(e *Env) types.Value { return i4(e.BackendPID) }),
		"pg_is_in_recovery": constant(types.Boolean, func(*Env) types.Value { return b(false) }),
		"current_schemas": {min: 1, max: 1, strict: true, ret: ret(types.Array(types.String)), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			if a[0].Bool() {
				return strs("pg_catalog", "public"), nil
			}
			return strs("public"), nil
		}},
		"current_setting": {min: 1, max: 2, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			if v, ok := p.env.Settings[strings.ToLower(a[0].Str())]; ok {
				return s(v), nil
			}
			if len(a) > 1 && a[1].Bool() {
				return types.Value{}, nil
			}
			return types.Value{}, ErrUnsupported.Errorf("unrecognized configuration parameter %q", a[0].Str())
		}},
		"pg_get_userbyid": {min: 1, max: 1, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			if a[0].Int() == oidSuperuser {
				return s(p.env.User), nil
			}
			return s(fmt.Sprintf("unknown (OID=%d)", a[0].Int())), nil
		}},
		"pg_table_is_visible": {min: 1, max: 1, strict: true, ret: ret(types.Boolean), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			oid := a[0].Int()
			if oid >= oidIndexOffset {
				oid -= oidIndexOffset
			}
			_, ok := p.env.relationByOID(oid)
			return b(ok), nil
		}},
		"pg_type_is_visible":     boolTrue,
		"pg_function_is_visible": boolTrue,
		"has_table_privilege":    boolTrue,
		"has_schema_privilege":   boolTrue,
		"has_database_privilege": boolTrue,
		"has_column_privilege":   boolTrue,
		"format_type": {min: 2, max: 2, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			if a[0].IsNull() {
				return types.Value{}, nil
			}
			if t, ok := p.env.customTypeByOID(a[0].Int()); ok {
				return s(quoteIdent(t.name)), nil
			}
			return s(formatType(a[0].Int(), a[1].Int(), !a[1].IsNull())), nil
		}},
		"pg_encoding_to_char": {min: 1, max: 1, strict: true, ret: ret(types.String), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			if a[0].Int() == 6 {
				return s("UTF8"), nil
			}
			return s(""), nil
		}},
		"obj_description": {min: 1, max: 2, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			return description(p, a[0].Int(), 0, a), nil
		}},
		"col_description": {min: 2, max: 2, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			return types.Value{}, nil // Runnel's columns have no comments
		}},
		"shobj_description": {min: 2, max: 2, strict: true, ret: ret(types.String), eval: func(*Plan, []types.Value) (types.Value, error) {
			return types.Value{}, nil
		}},
		// Runnel's catalog has no expressions (defaults, partition
		// bounds, policies): every pg_node_tree is NULL, and so is its
		// text.
		"pg_get_expr": {min: 2, max: 3, strict: true, ret: ret(types.String), eval: func(*Plan, []types.Value) (types.Value, error) {
			return types.Value{}, ErrUnsupported.Errorf("pg_get_expr() of an expression is not supported")
		}},
		"pg_get_indexdef": {min: 1, max: 3, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			r, ok := p.env.relationByOID(a[0].Int() - oidIndexOffset)
			if !ok || primaryKey(r).IsNull() {
				return types.Value{}, nil
			}
			return s(fmt.Sprintf("CREATE UNIQUE INDEX %s ON public.%s USING btree (%s)", quoteIdent(r.name+"_pkey"), quoteIdent(r.name), keyList(r))), nil
		}},
		"pg_get_constraintdef": {min: 1, max: 2, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			r, ok := p.env.relationByOID(a[0].Int() - oidConstraintOffset)
			if !ok || primaryKey(r).IsNull() {
				return types.Value{}, nil
			}
			return s("PRIMARY KEY (" + keyList(r) + ")"), nil
		}},
		"pg_get_function_result": {min: 1, max: 1, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			if f := function(p, a[0].Int()); f != nil {
				return s("text"), nil
			}
			return types.Value{}, nil
		}},
		"pg_get_function_arguments": {min: 1, max: 1, strict: true, ret: ret(types.String), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			f := function(p, a[0].Int())
			if f == nil {
				return types.Value{}, nil
			}
			sigs := f.Signatures()
			if len(sigs) == 0 {
				return s(""), nil
			}
			sig := sigs[0]
			if open, close := strings.Index(sig, "("), strings.LastIndex(sig, ")"); open >= 0 && close > open {
				sig = sig[open+1 : close]
			}
			return s(strings.ToLower(sig)), nil
		}},
		"array_to_string": {min: 2, max: 3, ret: ret(types.String), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			if a[0].IsNull() || a[1].IsNull() {
				return types.Value{}, nil
			}
			var parts []string
			for _, v := range a[0].List() {
				if v.IsNull() {
					if len(a) > 2 && !a[2].IsNull() {
						parts = append(parts, a[2].Str())
					}
					continue
				}
				parts = append(parts, types.Format(v, valueType(v)))
			}
			return s(strings.Join(parts, a[1].Str())), nil
		}},
		"array_upper": {min: 2, max: 2, strict: true, ret: ret(types.Int), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			if n := len(a[0].List()); n > 0 && a[1].Int() == 1 {
				return i4(int32(n)), nil
			}
			return types.Value{}, nil
		}},
		"array_lower": {min: 2, max: 2, strict: true, ret: ret(types.Int), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			if n := len(a[0].List()); n > 0 && a[1].Int() == 1 {
				return i4(1), nil
			}
			return types.Value{}, nil
		}},
		"array_length": {min: 2, max: 2, strict: true, ret: ret(types.Int), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			if n := len(a[0].List()); n > 0 && a[1].Int() == 1 {
				return i4(int32(n)), nil
			}
			return types.Value{}, nil
		}},
		"cardinality": {min: 1, max: 1, strict: true, ret: ret(types.Int), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			return i4(int32(len(a[0].List()))), nil
		}},
		"pg_relation_is_publishable": {min: 1, max: 1, strict: true, ret: ret(types.Boolean), eval: func(p *Plan, a []types.Value) (types.Value, error) {
			_, ok := p.env.relationByOID(a[0].Int())
			return b(ok), nil
		}},
		// The size of a stream or table is its topic's, which the
		// catalog does not know: NULL, which psql shows empty.
		"pg_table_size":          unknownSize,
		"pg_relation_size":       unknownSize,
		"pg_total_relation_size": unknownSize,
		"pg_indexes_size":        unknownSize,
		"pg_size_pretty": {min: 1, max: 1, strict: true, ret: ret(types.String), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			return s(fmt.Sprintf("%d bytes", a[0].Int())), nil
		}},
		"quote_ident": {min: 1, max: 1, strict: true, ret: ret(types.String), eval: func(_ *Plan, a []types.Value) (types.Value, error) {
			return s(quoteIdent(a[0].Str())), nil
		}},
	}
}

var unknownSize = &pgFunc{min: 1, max: 2, strict: true, ret: ret(types.Bigint), eval: func(*Plan, []types.Value) (types.Value, error) {
	return types.Value{}, nil
}}

// quoteIdent quotes a name as PostgreSQL's quote_ident does: only when
// it is not a plain lower-case word.
func quoteIdent(name string) string {
	plain := name != ""
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && (r >= '0' && r <= '9' || r == '$')) {
			plain = false
		}
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// keyList is a table's primary key columns, comma-separated.
func keyList(r relation) string {
	var names []string
	for _, c := range r.src.KeyColumns() {
		names = append(names, quoteIdent(pgName(c.Name)))
	}
	return strings.Join(names, ", ")
}

// description is obj_description(oid [, catalog]).
func description(p *Plan, oid int64, _ int, a []types.Value) types.Value {
	if len(a) < 2 || a[1].Str() == "pg_class" {
		if r, ok := p.env.relationByOID(oid); ok {
			return s(describe(r.src))
		}
	}
	if len(a) < 2 || a[1].Str() == "pg_proc" {
		if f := function(p, oid); f != nil {
			return s(f.Description)
		}
	}
	if len(a) < 2 || a[1].Str() == "pg_type" {
		if t, ok := p.env.customTypeByOID(oid); ok {
			return s(describeType(t))
		}
	}
	return types.Value{}
}

// function finds a function of pg_proc by oid.
func function(p *Plan, oid int64) *expr.Function {
	i := oid - oidFirstFunction
	if i < 0 || i >= int64(len(p.env.Functions)) {
		return nil
	}
	return p.env.Functions[i]
}

// pgCast binds RUNNEL_PGCAST(x, 'type'): a cast to one of PostgreSQL's
// catalog types. A reg* type read from a name is its oid (a BIGINT); an
// oid cast to one is the object's name (a STRING), which is how
// PostgreSQL prints it.
func (c *compiler) pgCast(b *expr.Binder, n *ast.FuncCallExpr) (expr.Expr, error) {
	lit, ok := n.Args[1].(*test_driver.ValueExpr)
	if len(n.Args) != 2 || !ok {
		return nil, ErrUnsupported.Errorf("RUNNEL_PGCAST needs an expression and a type name")
	}
	typ := lit.GetString()
	x, err := b.Bind(n.Args[0])
	if err != nil {
		return nil, err
	}
	p := c.plan
	fromText := x.Type().Kind == types.KindString || x.Type().Kind == types.KindNull
	conv := func(t types.Type, f func(v types.Value) (types.Value, error)) expr.Expr {
		return node(t, "::"+typ, func(row types.Row) (types.Value, error) {
			v, err := x.Eval(row)
			if err != nil || v.IsNull() {
				return types.Value{}, err
			}
			return f(v)
		})
	}
	toOID := func(v types.Value) (types.Value, error) {
		if v.Kind() == types.KindString {
			n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
			if err != nil {
				return types.Value{}, ErrInvalidText.Errorf("invalid input syntax for type oid: %q", clip(v.Str()))
			}
			return o(n), nil
		}
		return o(v.Int()), nil
	}
	switch typ {
	case "oid", "xid", "cid", "regproc", "regprocedure", "regoper", "regoperator":
		if strings.HasPrefix(typ, "reg") && !fromText {
			return conv(types.String, func(v types.Value) (types.Value, error) {
				if f := function(p, v.Int()); f != nil {
					return s(strings.ToLower(f.Name)), nil
				}
				return s(strconv.FormatInt(v.Int(), 10)), nil
			}), nil
		}
		if strings.HasPrefix(typ, "reg") {
			return conv(types.Bigint, func(v types.Value) (types.Value, error) {
				for i, f := range p.env.Functions {
					if strings.EqualFold(f.Name, v.Str()) {
						return o(oidFirstFunction + int64(i)), nil
					}
				}
				return toOID(v)
			}), nil
		}
		return conv(types.Bigint, toOID), nil
	case "regclass":
		if !fromText {
			return conv(types.String, func(v types.Value) (types.Value, error) {
				if r, ok := p.env.relationByOID(v.Int()); ok {
					return s(quoteIdent(r.name)), nil
				}
				for name, oid := range systemRelations {
					if oid == v.Int() {
						return s(name), nil
					}
				}
				return s(strconv.FormatInt(v.Int(), 10)), nil
			}), nil
		}
		return conv(types.Bigint, func(v types.Value) (types.Value, error) {
			name := strings.TrimSpace(v.Str())
			if n, err := strconv.ParseInt(name, 10, 64); err == nil {
				return o(n), nil
			}
			name = strings.TrimPrefix(strings.TrimPrefix(name, "pg_catalog."), "public.")
			if strings.HasPrefix(name, `"`) && strings.HasSuffix(name, `"`) && len(name) > 1 {
				name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
			} else {
				name = strings.ToLower(name)
			}
			if oid, ok := systemRelations[name]; ok {
				return o(oid), nil
			}
			for _, r := range p.env.relations() {
				if r.name == name {
					return o(r.oid), nil
				}
			}
			return types.Value{}, ErrUnknownRelation.Errorf("relation %q does not exist", name)
		}), nil
	case "regtype":
		if !fromText {
			return conv(types.String, func(v types.Value) (types.Value, error) {
				return s(formatType(v.Int(), -1, false)), nil
			}), nil
		}
		return conv(types.Bigint, func(v types.Value) (types.Value, error) {
			if t, ok := pgTypeByName(strings.ToLower(strings.TrimPrefix(strings.TrimSpace(v.Str()), "pg_catalog."))); ok {
				return o(t.oid), nil
			}
			return types.Value{}, sqlUndefinedType(v.Str())
		}), nil
	case "regnamespace":
		if !fromText {
			return conv(types.String, func(v types.Value) (types.Value, error) {
				if name, ok := namespaceName(v.Int()); ok {
					return s(name), nil
				}
				return s(strconv.FormatInt(v.Int(), 10)), nil
			}), nil
		}
		return conv(types.Bigint, func(v types.Value) (types.Value, error) {
			for _, ns := range namespaces {
				if ns.name == strings.ToLower(v.Str()) {
					return o(ns.oid), nil
				}
			}
			return types.Value{}, ErrUnknownRelation.Errorf("schema %q does not exist", v.Str())
		}), nil
	case "regrole":
		if !fromText {
			return conv(types.String, func(v types.Value) (types.Value, error) {
				if v.Int() == oidSuperuser {
					return s(p.env.User), nil
				}
				return s(strconv.FormatInt(v.Int(), 10)), nil
			}), nil
		}
		return conv(types.Bigint, func(v types.Value) (types.Value, error) {
			if v.Str() == p.env.User {
				return o(oidSuperuser), nil
			}
			return types.Value{}, ErrUnknownRelation.Errorf("role %q does not exist", v.Str())
		}), nil
	case `"char"`, "char":
		return conv(types.String, func(v types.Value) (types.Value, error) {
			t := types.Format(v, valueType(v))
			if len(t) > 1 {
				t = t[:1]
			}
			return s(t), nil
		}), nil
	case "text[]", "name[]", "varchar[]", "char[]", `"char"[]`:
		return conv(types.Array(types.String), func(v types.Value) (types.Value, error) {
			if v.Kind() == types.KindString {
				return parseArray(v.Str(), types.String), nil
			}
			l := make([]types.Value, len(v.List()))
			for i, e := range v.List() {
				if !e.IsNull() {
					l[i] = s(types.Format(e, valueType(e)))
				}
			}
			return types.NewArray(l), nil
		}), nil
	case "int2[]", "int4[]", "int8[]", "oid[]", "int2vector", "oidvector":
		elem := types.Bigint
		if typ == "int2[]" || typ == "int4[]" || typ == "int2vector" {
			elem = types.Int
		}
		return conv(types.Array(elem), func(v types.Value) (types.Value, error) {
			if v.Kind() == types.KindString {
				return parseArray(v.Str(), elem), nil
			}
			l := make([]types.Value, len(v.List()))
			for i, e := range v.List() {
				l[i] = textValue(types.Format(e, valueType(e)), elem)
			}
			return types.NewArray(l), nil
		}), nil
	}
	return unsupported(types.String, "a cast to "+typ), nil
}

func sqlUndefinedType(name string) error {
	return ErrUnknownRelation.Errorf("type %q does not exist", name)
}

// srfRel is a set-returning function in FROM: generate_series or unnest.
type srfRel struct {
	name  string
	args  []expr.Expr
	alias string
	t     types.Type
}

func newSRF(name string, args []expr.Expr, alias string) (rel, error) {
	if alias == "" {
		alias = name
	}
	r := &srfRel{name: name, args: args, alias: alias}
	switch name {
	case "generate_series":
		if len(args) < 2 || len(args) > 3 {
			return nil, expr.Errorf(expr.ErrUnknownFunction, "generate_series takes 2 or 3 arguments")
		}
		r.t = types.Bigint
		if args[0].Type().Kind == types.KindInt && args[1].Type().Kind == types.KindInt {
			r.t = types.Int
		}
	case "unnest":
		if len(args) != 1 {
			return nil, expr.Errorf(expr.ErrUnknownFunction, "unnest takes 1 argument")
		}
		r.t = types.String
		if at := args[0].Type(); at.Kind == types.KindArray {
			r.t = *at.Elem
		}
	default:
		return nil, ErrUnsupported.Errorf("function %s() in FROM is not supported in catalog queries", name)
	}
	return r, nil
}

func (r *srfRel) columns() []col { return []col{{qual: r.alias, name: r.alias, t: r.t}} }

func (r *srfRel) run(x *execution, outer types.Row) ([]types.Row, error) {
	vals := make([]types.Value, len(r.args))
	for i, a := range r.args {
		v, err := a.Eval(outer)
		if err != nil {
			return nil, err
		}
		if v.IsNull() {
			return nil, nil
		}
		vals[i] = v
	}
	var out []types.Row
	switch r.name {
	case "generate_series":
		from, to, step := vals[0].Int(), vals[1].Int(), int64(1)
		if len(vals) > 2 {
			step = vals[2].Int()
		}
		if step == 0 {
			return nil, ErrInvalidText.Errorf("step size cannot equal zero")
		}
		for v := from; (step > 0 && v <= to) || (step < 0 && v >= to); v += step {
			if err := x.checkRows(len(out) + 1); err != nil {
				return nil, err
			}
			if r.t.Kind == types.KindInt {
				out = append(out, types.Row{i4(int32(v))})
			} else {
				out = append(out, types.Row{o(v)})
			}
		}
	case "unnest":
		a := vals[0]
		if a.Kind() == types.KindString {
			a = parseArray(a.Str(), r.t)
		}
		for _, v := range a.List() {
			out = append(out, types.Row{v})
		}
	}
	return out, nil
}
