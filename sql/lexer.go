package sql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the class of a token.
type tokKind uint8

const (
	tkEOF    tokKind = iota
	tkIdent          // unquoted word: keyword or identifier
	tkQIdent         // "quoted" or `quoted` identifier; val is unescaped
	tkString         // 'string'; val is unescaped
	tkNumber         // 12, 1.5, .5, 1e9
	tkParam          // $n; val is n
	tkOp             // punctuation and operators
	// tkVariable is a session variable's reference, ${name}, or its
	// escape $${name}; val is the name.
	tkVariable
)

// token is one lexical token. pos and end are byte offsets into the
// original text, so every token can be mapped back for error positions.
type token struct {
	kind     tokKind
	text     string // raw source text
	val      string // unquoted value for tkQIdent, tkString, tkParam
	pos, end int
}

// is reports whether t is the unquoted keyword kw (kw upper-case).
func (t token) is(kw string) bool {
	return t.kind == tkIdent && strings.EqualFold(t.text, kw)
}

// isOp reports whether t is the operator op.
func (t token) isOp(op string) bool { return t.kind == tkOp && t.text == op }

// isName reports whether t can be an identifier.
func (t token) isName() bool { return t.kind == tkIdent || t.kind == tkQIdent }

// name is the canonical identifier: unquoted words upper-cased, quoted
// ones exactly as written (ksqlDB's rule).
func (t token) name() string {
	if t.kind == tkQIdent {
		return t.val
	}
	return strings.ToUpper(t.text)
}

// describe renders a token for error messages.
func (t token) describe() string {
	if t.kind == tkEOF {
		return "end of statement"
	}
	return "\"" + t.text + "\""
}

// multi-character operators, longest first where they share a prefix.
var multiOps = []string{"!~*", "->", ":=", "=>", "<=", ">=", "<>", "!=", "||", "::", "!~", "~*"}

const singleOps = "()[],;.+-*/%=<>:!?&|^~@{}"

// lex splits src[from:to] into tokens, skipping whitespace and comments.
// Strings ('...' with ” escapes, no backslash escapes), quoted identifiers
// ("..." and `...`, doubled quote escapes) and comments (-- to end of line,
// /* ... */) are recognized so that nothing inside them is ever taken for
// structure. The returned slice ends with a tkEOF token at to.
//
// Lexing stops with an ErrTooComplex error at the token past MaxTokens, and
// with an ErrNameTooLong error at an identifier over MaxIdentifierLength.
func lex(src string) ([]token, error) { return lexLimit(src, MaxTokens) }

// lexLimit is lex with a token limit of its own, for tests.
func lexLimit(src string, maxTokens int) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		if len(toks) > maxTokens {
			return nil, limitAt(ErrTooComplex, toks[maxTokens].pos,
				"statement is too complex: more than %d tokens", maxTokens)
		}
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			nl := strings.IndexByte(src[i:], '\n')
			if nl < 0 {
				i = len(src)
			} else {
				i += nl + 1
			}
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, errAt(i, "unterminated comment")
			}
			i += 2 + end + 2
		case (c == 'E' || c == 'e') && i+1 < len(src) && src[i+1] == '\'' && !continuesWord(src, i):
			// PostgreSQL's escape string E'...': backslash escapes. Its
			// text becomes a plain literal of the same value, which is
			// all the rewrite copies.
			val, n, ok := scanEscapeString(src[i+1:])
			if !ok {
				return nil, errAt(i, "unterminated string")
			}
			toks = append(toks, token{kind: tkString, text: quoteString(val), val: val, pos: i, end: i + 1 + n})
			i += 1 + n
		case c == '\'' || c == '"' || c == '`':
			val, n, ok := scanQuoted(src[i:], c)
			if !ok {
				what := "string"
				if c != '\'' {
					what = "quoted identifier"
				}
				return nil, errAt(i, "unterminated %s", what)
			}
			k := tkString
			if c != '\'' {
				k = tkQIdent
				if val == "" {
					return nil, errAt(i, "zero-length quoted identifier")
				}
			}
			t := token{kind: k, text: src[i : i+n], val: val, pos: i, end: i + n}
			if k == tkQIdent {
				if err := checkIdentifier(t); err != nil {
					return nil, err
				}
			}
			toks = append(toks, t)
			i += n
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			n := scanNumber(src[i:])
			toks = append(toks, token{kind: tkNumber, text: src[i : i+n], pos: i, end: i + n})
			i += n
		case c == '$' && (strings.HasPrefix(src[i:], "${") || strings.HasPrefix(src[i:], "$${")):
			open := i + 2
			if src[i+1] == '$' {
				open++
			}
			end := strings.IndexByte(src[open:], '}')
			if end < 0 {
				return nil, errAt(i, "unterminated variable reference: expected ${name}")
			}
			n := open - i + end + 1
			toks = append(toks, token{kind: tkVariable, text: src[i : i+n], val: src[open : open+end], pos: i, end: i + n})
			i += n
		case c == '$' && i+1 < len(src) && isDigit(src[i+1]):
			n := 1
			for i+n < len(src) && isDigit(src[i+n]) {
				n++
			}
			toks = append(toks, token{kind: tkParam, text: src[i : i+n], val: src[i+1 : i+n], pos: i, end: i + n})
			i += n
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == '_' || unicode.IsLetter(r) {
				n := size
				for i+n < len(src) {
					r, size := utf8.DecodeRuneInString(src[i+n:])
					if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
						break
					}
					n += size
				}
				t := token{kind: tkIdent, text: src[i : i+n], pos: i, end: i + n}
				if err := checkIdentifier(t); err != nil {
					return nil, err
				}
				toks = append(toks, t)
				i += n
				continue
			}
			op := ""
			for _, m := range multiOps {
				if strings.HasPrefix(src[i:], m) {
					op = m
					break
				}
			}
			if op == "" && strings.IndexByte(singleOps, c) >= 0 {
				op = src[i : i+1]
			}
			if op == "" {
				return nil, errAt(i, "unexpected character %q", r)
			}
			toks = append(toks, token{kind: tkOp, text: op, pos: i, end: i + len(op)})
			i += len(op)
		}
	}
	if len(toks) > maxTokens {
		return nil, limitAt(ErrTooComplex, toks[maxTokens].pos,
			"statement is too complex: more than %d tokens", maxTokens)
	}
	toks = append(toks, token{kind: tkEOF, pos: len(src), end: len(src)})
	return toks, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanQuoted scans a quoted token starting at s[0] == q; a doubled quote
// stands for one. It returns the unescaped value and the raw length.
func scanQuoted(s string, q byte) (val string, n int, ok bool) {
	var b strings.Builder
	i := 1
	for i < len(s) {
		j := strings.IndexByte(s[i:], q)
		if j < 0 {
			return "", 0, false
		}
		b.WriteString(s[i : i+j])
		i += j + 1
		if i < len(s) && s[i] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), i, true
	}
	return "", 0, false
}

// scanNumber returns the length of the number at the start of s:
// digits, an optional fraction and an optional exponent.
func scanNumber(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	return i
}

// continuesWord reports whether src[i] continues a word begun before it
// (the E of NAME'...' is no escape-string prefix).
func continuesWord(src string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(src[:i])
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// scanEscapeString scans PostgreSQL's escape string body starting at
// s[0] == '\”: backslash escapes (\n, \t, \r, \b, \f, \\, \', octal
// and \xHH) and doubled quotes. It returns the value and the raw length.
func scanEscapeString(s string) (val string, n int, ok bool) {
	var b strings.Builder
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i += 2
		case c == '\'':
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(s):
			i++
			e := s[i]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'x':
				v, k := 0, 0
				for k < 2 && i+1+k < len(s) && isHex(s[i+1+k]) {
					v = v*16 + hexVal(s[i+1+k])
					k++
				}
				if k == 0 {
					b.WriteByte('x')
					break
				}
				b.WriteByte(byte(v))
				i += k
			default:
				if e >= '0' && e <= '7' {
					v, k := 0, 0
					for k < 3 && i+k < len(s) && s[i+k] >= '0' && s[i+k] <= '7' {
						v = v*8 + int(s[i+k]-'0')
						k++
					}
					b.WriteByte(byte(v))
					i += k - 1
					break
				}
				b.WriteByte(e)
			}
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, false
}

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

func hexVal(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	return int(c|0x20-'a') + 10
}
