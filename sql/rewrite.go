package sql

import (
	"sort"
	"strings"
)

// This file turns the tokens of a SELECT, an INSERT or a list of
// expressions into text TiDB's parser accepts, spelling the syntax TiDB
// lacks with the RUNNEL_* function-call conventions documented on Query,
// and keeps a map from every byte of the output back to the original text
// so TiDB's errors can be positioned for the user.
//
// It works on tokens, never on raw text: strings and quoted identifiers
// are copied through untouched.

// seg is one piece of rewritten text. Pieces copied from a token map back
// byte for byte (up to the token's length); synthetic pieces (RUNNEL_FIELD(
// and friends) map to the token that caused them.
type seg struct {
	text    string
	orig    int // byte offset in the original text
	origLen int // 0 for synthetic text
}

// frag is rewritten text under construction.
type frag []seg

// rewritten is the finished text and its position map.
type rewritten struct {
	text   string
	starts []int // output offset of each seg
	segs   []seg
	endPos int    // original offset for positions at or past the end
	src    string // the original text, for error messages
	// pos records the positions of the nodes TiDB parses from text
	// (positions.go); nil when the text is not the client's.
	pos *Positions
}

func (f frag) build(src string, endPos int, pos *Positions) *rewritten {
	r := &rewritten{endPos: endPos, segs: f, src: src, pos: pos}
	var b strings.Builder
	for _, s := range f {
		r.starts = append(r.starts, b.Len())
		b.WriteString(s.text)
	}
	r.text = b.String()
	return r
}

// origOffset maps an offset in the rewritten text to the original text.
func (r *rewritten) origOffset(out int) int {
	if out >= len(r.text) || len(r.segs) == 0 {
		return r.endPos
	}
	i := sort.SearchInts(r.starts, out+1) - 1
	if i < 0 {
		i = 0
	}
	s := r.segs[i]
	// Whitespace pieces belong to the next token.
	if strings.TrimSpace(s.text) == "" && i+1 < len(r.segs) {
		return r.segs[i+1].orig
	}
	d := out - r.starts[i]
	if d >= s.origLen {
		d = max(s.origLen-1, 0)
	}
	return s.orig + d
}

// wordsToQuote are words TiDB reserves that ksqlDB users name columns
// with (KEY above all) and that a SELECT of ours never needs as keywords
// (WINDOW and PARTITION clauses are lifted out before rewriting, so what
// remains of those words is a name).
// In identifier position (not followed by '(') they are emitted quoted.
// Derived from TiDB's reserved-word list minus the keywords of ksqlDB's
// SELECT and INSERT grammar and the operators TiDB spells as words.
var wordsToQuote = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		ADD ALTER ANALYZE BIGINT BLOB BOTH CALL CASCADE CHANGE CHAR CHARACTER
		CHECK COLUMN CONSTRAINT CONTINUE CREATE CUME_DIST CURRENT_ROLE
		CURRENT_USER CURSOR DATABASE DATABASES DAY_HOUR DAY_MICROSECOND
		DAY_MINUTE DAY_SECOND DECIMAL DEFAULT DELAYED DELETE DENSE_RANK
		DESCRIBE DISTINCTROW DOUBLE DROP DUAL ELSEIF ENCLOSED ESCAPED EXIT
		EXPLAIN FETCH FIRST_VALUE FLOAT FLOAT4 FLOAT8 FOR FORCE FOREIGN
		FULLTEXT GENERATED GRANT GROUPS HIGH_PRIORITY HOUR_MICROSECOND
		HOUR_MINUTE HOUR_SECOND IF IGNORE INDEX INFILE INOUT INT INT1 INT2
		INT3 INT4 INT8 INTEGER ITERATE KEY KEYS KILL LAG LAST_VALUE LATERAL
		LEAD LEADING LEAVE LINEAR LINES LOAD LOCK LONG LONGBLOB LONGTEXT
		LOW_PRIORITY MATCH MAXVALUE MEDIUMBLOB MEDIUMINT MEDIUMTEXT MIDDLEINT
		MINUTE_MICROSECOND MINUTE_SECOND NO_WRITE_TO_BINLOG NTH_VALUE NTILE
		NUMERIC OF OPTIMIZE OPTION OPTIONALLY OUT OUTFILE PERCENT_RANK
		PRECISION PRIMARY PROCEDURE RANGE RANK READ REAL RECURSIVE REFERENCES
		RELEASE RENAME REPEAT REPLACE REQUIRE RESTRICT REVOKE ROW ROWS
		ROW_NUMBER SECOND_MICROSECOND SET SHOW SMALLINT SPATIAL SQL
		SQLEXCEPTION SQLSTATE SQLWARNING SQL_BIG_RESULT SQL_CALC_FOUND_ROWS
		SQL_SMALL_RESULT SSL STARTING STORED STRAIGHT_JOIN TABLE TABLESAMPLE
		TERMINATED TIDB_CURRENT_TSO TINYBLOB TINYINT TINYTEXT TO TRAILING
		TRIGGER UNIQUE UNLOCK UNSIGNED UNTIL UPDATE USAGE USE VARBINARY
		VARCHAR VARCHARACTER VARYING VIRTUAL WHILE WITH WRITE YEAR_MONTH
		ZEROFILL
		WINDOW PARTITION ARRAY DEC`) {
		m[w] = true
	}
	return m
}()

// funcsToQuote are ksqlDB functions whose names TiDB's grammar gives a
// syntax of its own when a '(' follows (SPLIT is a TiDB statement keyword;
// TIMESTAMPADD and TIMESTAMPDIFF take MySQL's singular unit keywords, not
// ksqlDB's plural units; HISTOGRAM and CORRELATION are keywords of TiDB's
// ANALYZE and statistics statements): quoted, they parse as plain
// function calls.
var funcsToQuote = map[string]bool{"SPLIT": true, "TIMESTAMPADD": true, "TIMESTAMPDIFF": true, "HISTOGRAM": true, "CORRELATION": true}

// notFunctions are words that may be followed by '(' without being a
// function call.
var notFunctions = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "XOR": true, "IN": true, "ON": true,
	"AS": true, "WHEN": true, "THEN": true, "ELSE": true, "CASE": true,
	"SELECT": true, "FROM": true, "WHERE": true, "HAVING": true, "BY": true,
	"VALUES": true, "EXISTS": true, "USING": true, "JOIN": true, "IS": true,
	"LIKE": true, "BETWEEN": true, "DISTINCT": true, "ALL": true,
	"INTO": true, "OVER": true, "INTERVAL": true, "LIMIT": true,
	"UNION": true, "DIV": true, "MOD": true, "NULL": true, "REGEXP": true,
	"RLIKE": true, "ILIKE": true, "ASC": true, "DESC": true, "END": true,
}

// maxRewriteDepth bounds nesting of parentheses and brackets: 200. The
// rewrite recurses once per level, before TiDB's parser runs; MaxExprDepth
// bounds the depth of the tree as a whole afterwards.
const maxRewriteDepth = 200

// rewriter rewrites a token slice (without the tkEOF token). It holds
// only the source text the tokens point into (the type parser reads the
// types of casts from it); its methods take the tokens they work on.
type rewriter struct {
	src string
	// owner is the statement's parser (custom types resolve there); nil
	// for a list of expressions parsed on its own.
	owner *parser
}

// closing returns the index of the bracket closing the one at i, or -1.
func closing(toks []token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case toks[j].isOp("(") || toks[j].isOp("["):
			depth++
		case toks[j].isOp(")") || toks[j].isOp("]"):
			depth--
			if depth == 0 {
				want := ")"
				if toks[i].isOp("[") {
					want = "]"
				}
				if toks[j].text != want {
					return -1
				}
				return j
			}
		}
	}
	return -1
}

// splitTop splits toks at depth-0 tokens matching sep.
func splitTop(toks []token, sep func(token) bool) [][]token {
	var parts [][]token
	depth, start := 0, 0
	for i, t := range toks {
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth == 0 && sep(t):
			parts = append(parts, toks[start:i])
			start = i + 1
		}
	}
	return append(parts, toks[start:])
}

func synth(text string, at token) seg { return seg{text: text, orig: at.pos} }

func copyTok(t token) seg { return seg{text: t.text, orig: t.pos, origLen: t.end - t.pos} }

// quoteString renders s as a SQL string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent renders a canonical name as a double-quoted identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// seq rewrites a whole token sequence.
func (rw *rewriter) seq(toks []token, depth int) (frag, error) {
	if depth > maxRewriteDepth {
		if len(toks) > 0 {
			return nil, limitAt(ErrTooComplex, toks[0].pos, "statement is too complex: parentheses and brackets nest more than %d levels deep", maxRewriteDepth)
		}
		return nil, nil
	}
	var out frag
	var st fromState
	for i := 0; i < len(toks); {
		// Keep the user's spacing: a gap in the source is a space here,
		// adjacent tokens stay adjacent.
		if i > 0 && toks[i].pos > toks[i-1].end {
			out = append(out, seg{text: " ", orig: toks[i].pos})
		}
		// IS [NOT] DISTINCT FROM and lambdas come first: the FROM of
		// the one is no clause, the head of the other no expression.
		if f, n := distinctFrom(toks, i); n > 0 {
			out = append(out, f...)
			i += n
			continue
		}
		if f, n, err := rw.lambda(toks, i, depth); err != nil {
			return nil, err
		} else if n > 0 {
			out = append(out, f...)
			i += n
			continue
		}
		st.note(toks[i])
		if f, n, err := rw.pgSyntax(toks, i, depth, &st); err != nil {
			return nil, err
		} else if n > 0 {
			out = append(out, f...)
			i += n
			continue
		}
		atom, n, err := rw.atom(toks, i, depth)
		if err != nil {
			return nil, err
		}
		if atom == nil {
			t := toks[i]
			switch {
			case t.isOp("->"):
				return nil, errAt(t.pos, "'->' must follow a struct expression")
			case t.isOp("=>"):
				return nil, errAt(t.pos, "'=>' must follow a lambda's arguments, as in x => x + 1 or (k, v) => v, in a function's arguments")
			case t.isOp(":="):
				return nil, errAt(t.pos, "':=' is only valid in MAP(...) and STRUCT(...)")
			case t.isOp("[") || t.isOp("]"):
				return nil, errAt(t.pos, "unexpected %s", t.describe())
			case t.kind == tkVariable:
				return nil, errAt(t.pos, "variable %s in %s is not defined: DEFINE %s = '...' first", t.val, t.text, t.val)
			case t.kind == tkIdent:
				out = append(out, seg{text: strings.ToUpper(t.text), orig: t.pos, origLen: t.end - t.pos})
			default:
				out = append(out, copyTok(t))
			}
			i++
			continue
		}
		i += n
		atom, n, err = rw.postfix(atom, toks, i, depth)
		if err != nil {
			return nil, err
		}
		i += n
		out = append(out, atom...)
	}
	return out, nil
}

// atom rewrites the primary expression at toks[i], if one starts there,
// returning it and the number of tokens it used. Keywords and operators
// are not atoms (nil, 0).
func (rw *rewriter) atom(toks []token, i, depth int) (frag, int, error) {
	t := toks[i]
	next := token{}
	if i+1 < len(toks) {
		next = toks[i+1]
	}
	switch t.kind {
	case tkString, tkNumber, tkQIdent:
		return frag{copyTok(t)}, 1, nil
	case tkParam:
		return frag{synth("RUNNEL_PARAM(", t), seg{text: t.val, orig: t.pos + 1, origLen: len(t.val)}, synth(")", t)}, 1, nil
	case tkOp:
		if t.text != "(" {
			return nil, 0, nil
		}
		end := closing(toks, i)
		if end < 0 {
			return nil, 0, errAt(t.pos, "unbalanced '('")
		}
		inner, err := rw.seq(toks[i+1:end], depth+1)
		if err != nil {
			return nil, 0, err
		}
		f := frag{copyTok(t)}
		f = append(f, inner...)
		return append(f, copyTok(toks[end])), end - i + 1, nil
	case tkIdent:
	default:
		return nil, 0, nil
	}
	if f, n, ok, err := rw.pgAtom(toks, i, depth); err != nil || ok {
		return f, n, err
	}
	word := strings.ToUpper(t.text)
	if next.isOp("[") && word == "ARRAY" {
		end := closing(toks, i+1)
		if end < 0 {
			return nil, 0, errAt(next.pos, "unbalanced '['")
		}
		inner, err := rw.seq(toks[i+2:end], depth+1)
		if err != nil {
			return nil, 0, err
		}
		f := frag{synth("RUNNEL_ARRAY(", t)}
		f = append(f, inner...)
		return append(f, synth(")", toks[end])), end - i + 1, nil
	}
	if next.isOp("(") && !notFunctions[word] {
		end := closing(toks, i+1)
		if end < 0 {
			return nil, 0, errAt(next.pos, "unbalanced '('")
		}
		args := toks[i+2 : end]
		var f frag
		var err error
		switch word {
		case "CAST":
			f, err = rw.cast(t, args, depth)
		case "MAP":
			f, err = rw.constructor(t, "RUNNEL_MAP(", args, false, depth)
		case "STRUCT":
			f, err = rw.constructor(t, "RUNNEL_STRUCT(", args, true, depth)
		default:
			var inner frag
			inner, err = rw.seq(args, depth+1)
			name := word
			if funcsToQuote[word] {
				name = quoteIdent(word)
			}
			f = frag{{text: name, orig: t.pos, origLen: t.end - t.pos}, copyTok(next)}
			if word == "COUNT" && len(args) == 0 {
				// ksqlDB's COUNT() counts rows, as COUNT(*) does; TiDB
				// knows only the latter.
				inner = frag{synth("*", next)}
			}
			f = append(f, inner...)
			f = append(f, copyTok(toks[end]))
		}
		if err != nil {
			return nil, 0, err
		}
		return f, end - i + 1, nil
	}
	if wordsToQuote[word] && !(word == "PARTITION" && next.is("BY")) {
		// PARTITION BY inside parentheses is a window's (OVER (...));
		// at depth 0 the query has lifted its own already.
		return frag{{text: quoteIdent(word), orig: t.pos, origLen: t.end - t.pos}}, 1, nil
	}
	if notFunctions[word] || isExprKeyword(word) {
		return nil, 0, nil
	}
	return frag{{text: word, orig: t.pos, origLen: t.end - t.pos}}, 1, nil
}

// isExprKeyword lists keywords that are not identifiers and cannot take a
// postfix operator, beyond notFunctions.
func isExprKeyword(word string) bool {
	switch word {
	case "TRUE", "FALSE", "GROUP", "ORDER", "INNER", "LEFT", "RIGHT", "FULL",
		"OUTER", "CROSS", "NATURAL", "INSERT", "EXCEPT",
		"INTERSECT", "BINARY", "COLLATE":
		return true
	}
	return false
}

// postfix applies the postfix operators following an atom: '.' name,
// '->' name, '[' index ']' and PostgreSQL's '::' type, all of which bind
// tighter than any other operator (-1::INT is -(1::INT)).
func (rw *rewriter) postfix(atom frag, toks []token, i, depth int) (frag, int, error) {
	start := i
	for i < len(toks) {
		t := toks[i]
		switch {
		case t.isOp(".") && i+1 < len(toks) && (toks[i+1].isName() || toks[i+1].isOp("*")):
			n := toks[i+1]
			atom = append(atom, copyTok(t))
			switch n.kind {
			case tkIdent:
				w := strings.ToUpper(n.text)
				if wordsToQuote[w] {
					w = quoteIdent(w)
				}
				atom = append(atom, seg{text: w, orig: n.pos, origLen: n.end - n.pos})
			default:
				atom = append(atom, copyTok(n))
			}
			i += 2
		case t.isOp("->"):
			if i+1 >= len(toks) || !toks[i+1].isName() {
				if i+1 < len(toks) {
					return nil, 0, errAt(toks[i+1].pos, "expected a field name after '->', found %s", toks[i+1].describe())
				}
				return nil, 0, errAt(t.end, "expected a field name after '->'")
			}
			n := toks[i+1]
			f := frag{synth("RUNNEL_FIELD(", t)}
			f = append(f, atom...)
			f = append(f, synth(", ", t), seg{text: quoteString(n.name()), orig: n.pos, origLen: n.end - n.pos}, synth(")", n))
			atom = f
			i += 2
		case t.isOp("::"):
			f, n, err := rw.pgCast(atom, toks, i)
			if err != nil {
				return nil, 0, err
			}
			atom = f
			i += n
		case t.isOp("["):
			end := closing(toks, i)
			if end < 0 {
				return nil, 0, errAt(t.pos, "unbalanced '['")
			}
			if end == i+1 {
				return nil, 0, errAt(toks[end].pos, "expected an index expression")
			}
			inner, err := rw.seq(toks[i+1:end], depth+1)
			if err != nil {
				return nil, 0, err
			}
			f := frag{synth("RUNNEL_INDEX(", t)}
			f = append(f, atom...)
			f = append(f, synth(", ", t))
			f = append(f, inner...)
			f = append(f, synth(")", toks[end]))
			atom = f
			i = end + 1
		default:
			return atom, i - start, nil
		}
	}
	return atom, i - start, nil
}

// cast rewrites CAST(x AS T) to RUNNEL_CAST(x, 'T') with T re-rendered
// canonically.
func (rw *rewriter) cast(kw token, args []token, depth int) (frag, error) {
	parts := splitTop(args, func(t token) bool { return t.is("AS") })
	if len(parts) != 2 || len(parts[0]) == 0 || len(parts[1]) == 0 {
		return nil, errAt(kw.pos, "expected CAST(expression AS type)")
	}
	x, err := rw.seq(parts[0], depth+1)
	if err != nil {
		return nil, err
	}
	tt := parts[1]
	tp := &parser{src: rw.src, toks: append(tt[:len(tt):len(tt)], token{kind: tkEOF, pos: tt[len(tt)-1].end, end: tt[len(tt)-1].end})}
	if rw.owner != nil {
		tp.top = rw.owner.root()
	}
	typ, err := tp.typ()
	if err == nil {
		err = tp.expectEnd()
	}
	if err != nil {
		return nil, err
	}
	f := frag{synth("RUNNEL_CAST(", kw)}
	f = append(f, x...)
	f = append(f, synth(", ", kw), seg{text: quoteString(typ.String()), orig: tt[0].pos}, synth(")", kw))
	return f, nil
}

// constructor rewrites MAP(k := v, ...) and STRUCT(F := v, ...). For
// STRUCT the field name becomes a string literal of its canonical form.
func (rw *rewriter) constructor(kw token, fn string, args []token, named bool, depth int) (frag, error) {
	f := frag{synth(fn, kw)}
	if len(args) == 0 {
		return append(f, synth(")", kw)), nil
	}
	for n, entry := range splitTop(args, func(t token) bool { return t.isOp(",") }) {
		kv := splitTop(entry, func(t token) bool { return t.isOp(":=") })
		if len(kv) != 2 || len(kv[0]) == 0 || len(kv[1]) == 0 {
			at := kw.pos
			if len(entry) > 0 {
				at = entry[0].pos
			}
			return nil, errAt(at, "expected %s(key := value, ...)", strings.TrimSuffix(fn[len("RUNNEL_"):], "("))
		}
		if n > 0 {
			f = append(f, synth(", ", entry[0]))
		}
		if named {
			if len(kv[0]) != 1 || !kv[0][0].isName() {
				return nil, errAt(kv[0][0].pos, "expected a field name, found %s", kv[0][0].describe())
			}
			nt := kv[0][0]
			f = append(f, seg{text: quoteString(nt.name()), orig: nt.pos, origLen: nt.end - nt.pos})
		} else {
			k, err := rw.seq(kv[0], depth+1)
			if err != nil {
				return nil, err
			}
			f = append(f, k...)
		}
		v, err := rw.seq(kv[1], depth+1)
		if err != nil {
			return nil, err
		}
		f = append(f, synth(", ", kv[1][0]))
		f = append(f, v...)
	}
	return append(f, synth(")", kw)), nil
}

// pgCast rewrites atom::type (toks[i] is the '::') to RUNNEL_CAST(atom,
// 'T'), as CAST(atom AS type) is, and returns how many tokens it used.
// The type may be spelled as in ksqlDB or with PostgreSQL's names (see
// castType).
func (rw *rewriter) pgCast(atom frag, toks []token, i int) (frag, int, error) {
	op := toks[i]
	if i+1 >= len(toks) {
		return nil, 0, errAt(op.end, "expected a type after '::'")
	}
	name, skip, ok := pgCastType(toks, i+1)
	if ok {
		f := frag{synth("RUNNEL_PGCAST(", op)}
		f = append(f, atom...)
		f = append(f, synth(", ", op), seg{text: quoteString(name), orig: toks[i+1].pos}, synth(")", op))
		return f, 1 + skip, nil
	}
	if skip > 0 {
		// pg_catalog.text is text: the qualifier is dropped.
		// The type's tokens are few: a window of them is copied, not the
		// rest of the statement.
		rest := toks[i+1+skip : min(len(toks), i+1+skip+64)]
		f, n, err := rw.pgCast(atom, append(toks[i:i+1:i+1], rest...), 0)
		return f, n + skip, err
	}
	// The type's tokens end at the first ',' or closing bracket outside
	// the type's own brackets, or at a token no type contains; the type
	// parser reads a copy of them, so that a long statement is not copied
	// once per cast.
	end, depth := i+1, 0
scan:
	for ; end < len(toks); end++ {
		switch t := toks[end]; {
		case t.isOp("<"), t.isOp("("):
			depth++
		case t.isOp(">"), t.isOp(")"):
			if depth == 0 {
				break scan
			}
			depth--
		case t.isOp(","):
			if depth == 0 {
				break scan
			}
		case t.isOp("<>"), t.kind == tkIdent, t.kind == tkQIdent, t.kind == tkNumber:
		default:
			break scan
		}
	}
	win := make([]token, end-(i+1), end-i)
	copy(win, toks[i+1:end])
	last := toks[end-1]
	if end == i+1 {
		last = op
	}
	win = append(win, token{kind: tkEOF, pos: last.end, end: last.end})
	tp := &parser{src: rw.src, toks: win}
	if rw.owner != nil {
		tp.top = rw.owner.root() // custom types resolve there
	}
	typ, err := tp.castType()
	if err != nil {
		return nil, 0, err
	}
	f := frag{synth("RUNNEL_CAST(", op)}
	f = append(f, atom...)
	f = append(f, synth(", ", op), seg{text: quoteString(typ.String()), orig: toks[i+1].pos}, synth(")", op))
	return f, 1 + tp.i, nil
}

// distinctFrom spells IS [NOT] DISTINCT FROM at toks[i], which TiDB lacks,
// with TiDB's null-safe equality, which has the precedence of = (see the
// conventions on Query): it returns the text and the tokens it replaces,
// or 0 when toks[i] starts no such operator.
func distinctFrom(toks []token, i int) (frag, int) {
	t := toks[i]
	if !t.is("IS") {
		return nil, 0
	}
	j := i + 1
	not := j < len(toks) && toks[j].is("NOT")
	if not {
		j++
	}
	if j+1 >= len(toks) || !toks[j].is("DISTINCT") || !toks[j+1].is("FROM") {
		return nil, 0
	}
	if not {
		return frag{synth("<=>", t)}, j + 2 - i
	}
	return frag{synth("<=> RUNNEL_DISTINCT() <=>", t)}, j + 2 - i
}

// lambda rewrites the lambda starting at toks[i], x => e or (x, y) => e,
// to RUNNEL_LAMBDA('X', 'Y', e) (the names canonical), returning it and
// the number of tokens it used (0 when none starts there). Its body runs
// to the next ',' at this level or to the end of toks: a lambda is a
// function's argument, and the arguments of a call are rewritten as one
// sequence.
func (rw *rewriter) lambda(toks []token, i, depth int) (frag, int, error) {
	if depth == 0 {
		return nil, 0, nil // not in a call's arguments: '=>' is an error
	}
	var names []token
	arrow := -1
	switch t := toks[i]; {
	case t.isName() && i+1 < len(toks) && toks[i+1].isOp("=>"):
		names, arrow = []token{t}, i+1
	case t.isOp("("):
		end := closing(toks, i)
		if end < 0 || end+1 >= len(toks) || !toks[end+1].isOp("=>") {
			return nil, 0, nil
		}
		for k := i + 1; k < end; k += 2 {
			if !toks[k].isName() {
				return nil, 0, errAt(toks[k].pos, "expected a lambda argument's name, found %s", toks[k].describe())
			}
			names = append(names, toks[k])
			if k+1 < end && !toks[k+1].isOp(",") {
				return nil, 0, errAt(toks[k+1].pos, "expected ',' between a lambda's arguments, found %s", toks[k+1].describe())
			}
		}
		if len(names) == 0 {
			return nil, 0, errAt(toks[i].pos, "a lambda needs at least one argument")
		}
		arrow = end + 1
	default:
		return nil, 0, nil
	}
	bodyEnd := len(toks)
	level := 0
	for k := arrow + 1; k < len(toks); k++ {
		switch tk := toks[k]; {
		case tk.isOp("(") || tk.isOp("["):
			level++
		case tk.isOp(")") || tk.isOp("]"):
			level--
		case tk.isOp(",") && level == 0:
			bodyEnd = k
		}
		if bodyEnd != len(toks) {
			break
		}
	}
	if arrow+1 >= bodyEnd {
		return nil, 0, errAt(toks[arrow].end, "expected the lambda's body after '=>'")
	}
	body, err := rw.seq(toks[arrow+1:bodyEnd], depth+1)
	if err != nil {
		return nil, 0, err
	}
	f := frag{synth("RUNNEL_LAMBDA(", toks[i])}
	for _, n := range names {
		f = append(f, seg{text: quoteString(n.name()), orig: n.pos, origLen: n.end - n.pos}, synth(", ", n))
	}
	f = append(f, body...)
	f = append(f, synth(")", toks[bodyEnd-1]))
	return f, bodyEnd - i, nil
}
