package sql

import "strings"

// This file spells PostgreSQL-only syntax, which psql's and the drivers'
// catalog queries use, in what TiDB's parser reads (see the conventions on
// Query):
//
//	a ~ b, a OPERATOR(pg_catalog.~) b   a REGEXP b
//	a !~ b                              a NOT REGEXP b
//	a ~* 'p', a !~* 'p'                 a [NOT] REGEXP '(?i)p'
//	x COLLATE pg_catalog.default        x (collations are ignored)
//	pg_catalog.f(...)                   F(...) (the schema of a function)
//	x::regclass, x::pg_catalog.oid,     RUNNEL_PGCAST(x, 'regclass'):
//	x::text[]                           PostgreSQL's catalog types
//	ARRAY(SELECT ...)                   RUNNEL_ARRAYQ((SELECT ...))
//	x = ANY(arr), x <> ALL(arr)         x = RUNNEL_ANY(arr), x <> RUNNEL_ALL(arr)
//	FROM f(args) [AS] s                 FROM (SELECT RUNNEL_SRF('F', args)) AS s
//	current_user, session_user, ...     CURRENT_USER(), SESSION_USER(), ...
//
// Only the PostgreSQL catalog (planner/pgcatalog) gives the RUNNEL_PGCAST,
// RUNNEL_ARRAYQ, RUNNEL_ANY, RUNNEL_ALL and RUNNEL_SRF conventions a
// meaning; elsewhere they fail with 0A000.

// pgNiladic are PostgreSQL's functions called without parentheses. They
// are reserved words in PostgreSQL, so no unquoted column has their name.
var pgNiladic = map[string]bool{
	"CURRENT_USER": true, "SESSION_USER": true, "CURRENT_ROLE": true,
	"CURRENT_CATALOG": true, "CURRENT_SCHEMA": true, "CURRENT_TIMESTAMP": true,
	"CURRENT_DATE": true, "LOCALTIMESTAMP": true,
}

// pgCatalogTypes are PostgreSQL types a cast may name that are no ksqlDB
// type: the catalog's own (castType reads the others).
var pgCatalogTypes = map[string]bool{
	"REGCLASS": true, "REGTYPE": true, "REGPROC": true, "REGPROCEDURE": true,
	"REGNAMESPACE": true, "REGROLE": true, "REGOPER": true, "REGOPERATOR": true,
	"OID": true, "XID": true, "CID": true, "TID": true, "INT2VECTOR": true,
	"OIDVECTOR": true, "ACLITEM": true, "PG_NODE_TREE": true, "CHAR": true,
}

// isSchemaName reports whether t names one of PostgreSQL's system schemas,
// which qualify functions and types in catalog queries.
func isSchemaName(t token) bool {
	return t.is("PG_CATALOG") || t.is("INFORMATION_SCHEMA")
}

// endsOperand reports whether t can end an operand, so that an operator
// after it is binary.
func endsOperand(t token) bool {
	switch t.kind {
	case tkString, tkNumber, tkQIdent, tkParam:
		return true
	case tkOp:
		return t.text == ")" || t.text == "]"
	case tkIdent:
		w := strings.ToUpper(t.text)
		return !notFunctions[w] && !isExprKeyword(w) || w == "NULL" || w == "TRUE" || w == "FALSE" || w == "END"
	}
	return false
}

// fromState follows one parenthesis level of a statement: whether its
// FROM clause is being read, so that a function call there is a table
// function.
type fromState struct {
	inFrom bool
}

// note updates the state for token t.
func (s *fromState) note(t token) {
	switch {
	case t.is("FROM"):
		s.inFrom = true
	case t.is("WHERE"), t.is("GROUP"), t.is("HAVING"), t.is("ORDER"), t.is("LIMIT"), t.is("UNION"),
		t.is("EXCEPT"), t.is("INTERSECT"), t.is("OFFSET"), t.is("SELECT"):
		s.inFrom = false
	}
}

// pgSyntax rewrites the PostgreSQL-only construct starting at toks[i], if
// one does, returning its text and how many tokens it used.
func (rw *rewriter) pgSyntax(toks []token, i, depth int, st *fromState) (frag, int, error) {
	t := toks[i]
	at := func(k int) token {
		if i+k < len(toks) && i+k >= 0 {
			return toks[i+k]
		}
		return token{}
	}
	binary := i > 0 && endsOperand(toks[i-1])
	switch {
	case t.is("OPERATOR") && at(1).isOp("(") && binary:
		end := closing(toks, i+1)
		if end < 0 {
			return nil, 0, errAt(at(1).pos, "unbalanced '('")
		}
		inner := toks[i+2 : end]
		if len(inner) == 3 && isSchemaName(inner[0]) && inner[1].isOp(".") {
			inner = inner[2:]
		}
		if len(inner) != 1 || inner[0].kind != tkOp {
			return nil, 0, errAt(t.pos, "expected OPERATOR([schema.]operator)")
		}
		f, n := regexOp(inner[0], toks, end+1)
		if f == nil {
			return frag{synth(" ", t), seg{text: inner[0].text, orig: inner[0].pos, origLen: len(inner[0].text)}, synth(" ", t)}, end - i + 1, nil
		}
		return f, end - i + 1 + n, nil
	case t.kind == tkOp && binary:
		if f, n := regexOp(t, toks, i+1); f != nil {
			return f, 1 + n, nil
		}
	case t.is("COLLATE") && (at(1).isName()):
		n := 2
		if at(2).isOp(".") && at(3).isName() {
			n = 4
		}
		return frag{}, n, nil
	case st.inFrom && t.kind == tkIdent && (at(-1).is("FROM") || at(-1).is("JOIN") || at(-1).isOp(",")):
		return rw.tableFunction(toks, i, depth)
	}
	return nil, 0, nil
}

// regexOp rewrites a regular-expression match operator (~, !~, ~*, !~*)
// whose right operand starts at toks[next]; it returns nil for any other
// operator. The case-insensitive forms need a string literal pattern, and
// consume it (n is 1 then).
func regexOp(op token, toks []token, next int) (f frag, n int) {
	word := ""
	switch op.text {
	case "~", "~*":
		word = " REGEXP "
	case "!~", "!~*":
		word = " NOT REGEXP "
	default:
		return nil, 0
	}
	f = frag{{text: word, orig: op.pos, origLen: op.end - op.pos}}
	if strings.HasSuffix(op.text, "*") {
		if next < len(toks) && toks[next].kind == tkString {
			p := toks[next]
			return append(f, seg{text: quoteString("(?i)" + p.val), orig: p.pos, origLen: p.end - p.pos}), 1
		}
		// Without a literal the flag has nowhere to go: TiDB reads the
		// text, and the pattern then fails to compile, as a clear error.
		return append(f, synth("'(?i' || ", op)), 0
	}
	return f, 0
}

// tableFunction rewrites a function call in FROM, f(args) [[AS] alias],
// as a derived table of one RUNNEL_SRF call. Its alias, which PostgreSQL
// also gives the function's one column, defaults to the function's name.
func (rw *rewriter) tableFunction(toks []token, i, depth int) (frag, int, error) {
	j := i
	if isSchemaName(toks[j]) && j+2 < len(toks) && toks[j+1].isOp(".") && toks[j+2].kind == tkIdent {
		j += 2
	}
	name := toks[j]
	if j+1 >= len(toks) || !toks[j+1].isOp("(") {
		return nil, 0, nil
	}
	end := closing(toks, j+1)
	if end < 0 {
		return nil, 0, errAt(toks[j+1].pos, "unbalanced '('")
	}
	args, err := rw.seq(toks[j+2:end], depth+1)
	if err != nil {
		return nil, 0, err
	}
	f := frag{synth("(SELECT RUNNEL_SRF(", name), seg{text: quoteString(strings.ToUpper(name.text)), orig: name.pos, origLen: name.end - name.pos}}
	if len(args) > 0 {
		f = append(f, synth(", ", name))
		f = append(f, args...)
	}
	f = append(f, synth("))", toks[end]))
	k := end + 1
	hasAlias := k < len(toks) && (toks[k].is("AS") || toks[k].kind == tkQIdent ||
		toks[k].kind == tkIdent && !notFunctions[strings.ToUpper(toks[k].text)] && !isExprKeyword(strings.ToUpper(toks[k].text)) &&
			!toks[k].is("WHERE") && !toks[k].is("LIMIT") && !toks[k].is("OFFSET") && !toks[k].is("WITH"))
	if !hasAlias {
		f = append(f, synth(" AS "+quoteIdent(strings.ToUpper(name.text)), toks[end]))
	}
	return f, end - i + 1, nil
}

// pgAtom rewrites the PostgreSQL-only primaries starting at toks[i]:
// schema-qualified function calls, ARRAY(subquery), ANY/ALL(array) and the
// functions called without parentheses. ok is false when none starts
// there.
func (rw *rewriter) pgAtom(toks []token, i, depth int) (f frag, n int, ok bool, err error) {
	t := toks[i]
	at := func(k int) token {
		if i+k < len(toks) {
			return toks[i+k]
		}
		return token{}
	}
	word := strings.ToUpper(t.text)
	switch {
	case t.kind != tkIdent:
	case isSchemaName(t) && at(1).isOp(".") && at(2).kind == tkIdent && at(3).isOp("("):
		// pg_catalog.f(...) is f(...).
		f, n, err := rw.atom(toks, i+2, depth)
		if err != nil || f == nil {
			return nil, 0, false, err
		}
		return f, n + 2, true, nil
	case word == "ARRAY" && at(1).isOp("(") && at(2).is("SELECT"):
		end := closing(toks, i+1)
		if end < 0 {
			return nil, 0, false, errAt(at(1).pos, "unbalanced '('")
		}
		inner, err := rw.seq(toks[i+2:end], depth+1)
		if err != nil {
			return nil, 0, false, err
		}
		f := frag{synth("RUNNEL_ARRAYQ((", t)}
		f = append(f, inner...)
		return append(f, synth("))", toks[end])), end - i + 1, true, nil
	case (word == "ANY" || word == "SOME" || word == "ALL") && at(1).isOp("(") && !at(2).is("SELECT") &&
		i > 0 && isComparison(toks[i-1]):
		end := closing(toks, i+1)
		if end < 0 {
			return nil, 0, false, errAt(at(1).pos, "unbalanced '('")
		}
		inner, err := rw.seq(toks[i+2:end], depth+1)
		if err != nil {
			return nil, 0, false, err
		}
		fn := "RUNNEL_ANY("
		if word == "ALL" {
			fn = "RUNNEL_ALL("
		}
		f := frag{synth(fn, t)}
		f = append(f, inner...)
		return append(f, synth(")", toks[end])), end - i + 1, true, nil
	case pgNiladic[word] && !at(1).isOp("(") && !at(1).isOp("."):
		return frag{{text: word + "()", orig: t.pos, origLen: t.end - t.pos}}, 1, true, nil
	}
	return nil, 0, false, nil
}

func isComparison(t token) bool {
	if t.kind != tkOp {
		return false
	}
	switch t.text {
	case "=", "<>", "!=", "<", ">", "<=", ">=":
		return true
	}
	return false
}

// pgCastType reads the type of x::type when it is one of PostgreSQL's
// catalog types or an array type (type[]), which only the catalog knows,
// after an optional pg_catalog. qualifier. It returns the type's name as
// PostgreSQL spells it (lower-case, "[]" for arrays) and how many tokens
// it used, or ok false (with n the tokens of a qualifier to skip) when
// castType should read it.
func pgCastType(toks []token, i int) (name string, n int, ok bool) {
	j := i
	if j+2 < len(toks) && isSchemaName(toks[j]) && toks[j+1].isOp(".") && toks[j+2].isName() {
		j += 2
	}
	if j >= len(toks) || !toks[j].isName() {
		return "", j - i, false
	}
	t := toks[j]
	word := strings.ToUpper(t.text)
	if t.kind == tkQIdent {
		word = strings.ToUpper(t.val)
	}
	array := j+2 < len(toks) && toks[j+1].isOp("[") && toks[j+2].isOp("]")
	if !pgCatalogTypes[word] && !array {
		return "", j - i, false
	}
	name = strings.ToLower(word)
	if word == "CHAR" && t.kind == tkQIdent {
		name = `"char"`
	} else if word == "CHAR" && !array {
		return "", j - i, false // CHAR(n) is a string type castType reads
	}
	n = j + 1 - i
	if array {
		name += "[]"
		n += 2
	}
	return name, n, true
}
