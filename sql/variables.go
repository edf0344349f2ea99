package sql

import (
	"strings"
)

// Session variables, as ksqlDB has them (its DEFINE and VariableSubstitutor):
// DEFINE name = 'value' gives a session a variable, and ${name} in a
// later statement stands for its value, wherever it is written: in a
// name, a literal or a string. Names are case-insensitive. The value is
// substituted as written with its single quotes doubled (a value that is
// itself quoted, DEFINE t = '''x''', keeps its quotes), so that a value
// in a string stays one string. $${name} is the text ${name}, never
// substituted; a reference to a variable not defined is left as it is.
//
// Parse returns a statement that references variables as *Unsubstituted,
// and its runner substitutes the session's variables (Substitute) and
// parses the result when the statement's turn comes, so that a DEFINE
// earlier in the same text has taken effect.

// validVariableName reports whether s is a variable's name: a letter or
// '_', then letters, digits or '_'.
func validVariableName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Substitute replaces the session variables in text: ${name} by the value
// of vars[lower-case name] (left as it is when there is none), and
// $${name} by ${name}. ok is false, and the result empty, when the result
// would be longer than maxBytes: a short text may reference a long value
// many times, and the result is bounded before it is built. Its time is
// linear in the length of text and of the result.
func Substitute(text string, vars map[string]string, maxBytes int) (result string, ok bool) {
	if !strings.Contains(text, "${") {
		return text, len(text) <= maxBytes
	}
	var b strings.Builder
	write := func(s string) bool {
		if b.Len()+len(s) > maxBytes {
			return false
		}
		b.WriteString(s)
		return true
	}
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			if !write(text) {
				return "", false
			}
			return b.String(), true
		}
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			if !write(text) {
				return "", false
			}
			return b.String(), true
		}
		end += i
		name := text[i+2 : end]
		var fits bool
		switch {
		case i > 0 && text[i-1] == '$':
			// $${name}: the escape, written without its first '$'.
			fits = write(text[:i-1]) && write(text[i:end+1])
		default:
			v, defined := vars[strings.ToLower(name)]
			fits = write(text[:i])
			if defined && validVariableName(name) {
				fits = fits && write(sanitizeValue(v))
			} else {
				fits = fits && write(text[i:end+1])
			}
		}
		if !fits {
			return "", false
		}
		text = text[end+1:]
	}
}

// sanitizeValue renders a variable's value for substitution as ksqlDB
// does: single quotes doubled, inside the outer quotes of a quoted value.
func sanitizeValue(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		inner := strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		return "'" + strings.ReplaceAll(inner, "'", "''") + "'"
	}
	return strings.ReplaceAll(v, "'", "''")
}
