package slt

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseError is a syntax error in an .slt file. It wraps ErrParse.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Unwrap lets errors.Is(err, ErrParse) hold.
func (e *ParseError) Unwrap() error { return ErrParse }

// ParseFile reads and parses the .slt file at path.
func ParseFile(path string) ([]*Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("slt: read %s: %w", path, err)
	}
	return Parse(path, data)
}

// line is one line of the file with its position.
type line struct {
	text  string // without the line ending
	num   int    // 1-based
	start int    // byte offset of the first character
	end   int    // byte offset just past the line ending (or EOF)
}

func splitLines(data []byte) []line {
	var lines []line
	for off, num := 0, 1; off < len(data); num++ {
		nl := strings.IndexByte(string(data[off:]), '\n')
		end := len(data)
		if nl >= 0 {
			end = off + nl + 1
		}
		text := strings.TrimSuffix(strings.TrimSuffix(string(data[off:end]), "\n"), "\r")
		lines = append(lines, line{text: text, num: num, start: off, end: end})
		off = end
	}
	return lines
}

func isBlank(s string) bool   { return strings.TrimSpace(s) == "" }
func isComment(s string) bool { return strings.HasPrefix(s, "#") }

// parser holds the position in the lines of one file.
type parser struct {
	file  string
	lines []line
	i     int
}

func (p *parser) errorf(num int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: num, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses the contents of an .slt file; name is used in errors.
//
// Records are separated by blank lines. A line that starts with '#' is a
// comment wherever it appears, except among a query's expected results; a
// '#' anywhere else in a line is kept.
func Parse(name string, data []byte) ([]*Record, error) {
	p := &parser{file: name, lines: splitLines(data)}
	var recs []*Record
	var skipIf, onlyIf []string
	condLine := 0
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if isBlank(l.text) || isComment(l.text) {
			if isBlank(l.text) && condLine != 0 {
				return nil, p.errorf(condLine, "skipif/onlyif must be followed by a record, not a blank line")
			}
			p.i++
			continue
		}
		fields := strings.Fields(l.text)
		switch fields[0] {
		case "skipif", "onlyif":
			if len(fields) != 2 {
				return nil, p.errorf(l.num, "%s needs exactly one engine name", fields[0])
			}
			if fields[0] == "skipif" {
				skipIf = append(skipIf, fields[1])
			} else {
				onlyIf = append(onlyIf, fields[1])
			}
			condLine = l.num
			p.i++
			continue
		}
		rec, err := p.record(l, fields)
		if err != nil {
			return nil, err
		}
		rec.SkipIf, rec.OnlyIf = skipIf, onlyIf
		skipIf, onlyIf, condLine = nil, nil, 0
		recs = append(recs, rec)
	}
	if condLine != 0 {
		return nil, p.errorf(condLine, "skipif/onlyif at the end of the file")
	}
	return recs, nil
}

// record parses the record whose directive is l and advances past it.
func (p *parser) record(l line, fields []string) (*Record, error) {
	rec := &Record{Line: l.num, RowsAffected: -1}
	p.i++
	switch fields[0] {
	case "halt":
		if len(fields) != 1 {
			return nil, p.errorf(l.num, "halt takes no argument")
		}
		rec.Kind = KindHalt
		return rec, nil
	case "hash-threshold":
		if len(fields) != 2 {
			return nil, p.errorf(l.num, "hash-threshold needs one number")
		}
		n, err := strconv.Atoi(fields[1])
		if err != nil || n < 0 {
			return nil, p.errorf(l.num, "hash-threshold: bad number %q", fields[1])
		}
		rec.Kind, rec.Threshold = KindHashThreshold, n
		return rec, nil
	case "sleep":
		if len(fields) != 2 {
			return nil, p.errorf(l.num, "sleep needs one duration")
		}
		d, err := time.ParseDuration(fields[1])
		if err != nil || d < 0 {
			return nil, p.errorf(l.num, "sleep: bad duration %q", fields[1])
		}
		rec.Kind, rec.Sleep = KindSleep, d
		return rec, nil
	case "statement":
		rec.Kind = KindStatement
		if err := p.statementHeader(rec, l, fields); err != nil {
			return nil, err
		}
		sep, err := p.sql(rec, l)
		if err != nil {
			return nil, err
		}
		if sep {
			return nil, p.errorf(l.num, "statement records have no ---- results")
		}
		return rec, nil
	case "query":
		rec.Kind = KindQuery
		if err := p.queryHeader(rec, l, fields); err != nil {
			return nil, err
		}
		sep, err := p.sql(rec, l)
		if err != nil {
			return nil, err
		}
		if rec.Error != nil {
			if sep {
				return nil, p.errorf(l.num, "query error records have no ---- results")
			}
			return rec, nil
		}
		if !sep {
			// No results written: the query must return no rows, and
			// -rewrite inserts the separator after the SQL.
			at := p.lines[p.i-1].end
			rec.span = resultSpan{start: at, end: at}
			return rec, nil
		}
		return rec, p.results(rec)
	}
	return nil, p.errorf(l.num, "unknown directive %q", fields[0])
}

// statementHeader parses `statement ok|error ...|count N`.
func (p *parser) statementHeader(rec *Record, l line, fields []string) error {
	if len(fields) < 2 {
		return p.errorf(l.num, "statement needs ok, error or count")
	}
	switch fields[1] {
	case "ok":
		if len(fields) != 2 {
			return p.errorf(l.num, "statement ok takes nothing after ok")
		}
	case "count":
		if len(fields) != 3 {
			return p.errorf(l.num, "statement count needs one number")
		}
		n, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil || n < 0 {
			return p.errorf(l.num, "statement count: bad number %q", fields[2])
		}
		rec.RowsAffected = n
	case "error":
		e, err := p.errorExpectation(l, 2)
		if err != nil {
			return err
		}
		rec.Error = e
	default:
		return p.errorf(l.num, "statement %q: want ok, error or count", fields[1])
	}
	return nil
}

// errorExpectation parses `[pgcode XXXXX] [position N] [regexp]` after
// the first skip words of the directive line. The regexp is the rest of
// the line as written (inner spaces kept).
func (p *parser) errorExpectation(l line, skip int) (*ErrorExpectation, error) {
	rest := afterFields(l.text, skip)
	e := &ErrorExpectation{}
	if f := strings.Fields(rest); len(f) > 0 && f[0] == "pgcode" {
		if len(f) < 2 {
			return nil, p.errorf(l.num, "pgcode needs a SQLSTATE")
		}
		if len(f[1]) != 5 {
			return nil, p.errorf(l.num, "pgcode %q: a SQLSTATE has 5 characters", f[1])
		}
		e.Code = f[1]
		rest = afterFields(rest, 2)
	}
	// `position N` is taken only with a number after it, so that a
	// regexp starting with the word "position" keeps its meaning.
	if f := strings.Fields(rest); len(f) >= 2 && f[0] == "position" && isDigits(f[1]) {
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 {
			return nil, p.errorf(l.num, "position %q: want a character position (0 for none)", f[1])
		}
		e.Position, e.HasPosition = n, true
		rest = afterFields(rest, 2)
	}
	if rest != "" {
		re, err := regexp.Compile(rest)
		if err != nil {
			return nil, p.errorf(l.num, "bad error regexp: %v", err)
		}
		e.Pattern = re
	}
	return e, nil
}

// afterFields returns s after its first n space-separated fields, without
// leading and trailing spaces.
func afterFields(s string, n int) string {
	s = strings.TrimLeft(s, " \t")
	for ; n > 0 && s != ""; n-- {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i:], " \t")
	}
	return strings.TrimRight(s, " \t")
}

// queryHeader parses `query error ...` or
// `query <types> [nosort|rowsort|valuesort] [retry] [label]`.
func (p *parser) queryHeader(rec *Record, l line, fields []string) error {
	if len(fields) < 2 {
		return p.errorf(l.num, "query needs a type string")
	}
	if fields[1] == "error" {
		e, err := p.errorExpectation(l, 2)
		if err != nil {
			return err
		}
		rec.Error = e
		return nil
	}
	for _, c := range fields[1] {
		if !strings.ContainsRune(typeChars, c) {
			return p.errorf(l.num, "query type %q: each column is one of %s", fields[1], typeChars)
		}
	}
	rec.Types = fields[1]
	sorted := false
	for _, opt := range fields[2:] {
		switch opt {
		case "nosort", "rowsort", "valuesort":
			if sorted {
				return p.errorf(l.num, "query has more than one sort mode")
			}
			sorted = true
			rec.Sort = map[string]SortMode{"nosort": NoSort, "rowsort": RowSort, "valuesort": ValueSort}[opt]
		case "retry":
			rec.Retry = true
		default:
			if rec.Label != "" {
				return p.errorf(l.num, "query option %q: unknown option (label is already %q)", opt, rec.Label)
			}
			rec.Label = opt
		}
	}
	return nil
}

// sql reads the record's SQL lines up to a blank line, a `----` line or the
// end of the file, and reports whether it stopped at `----` (which it
// consumes).
func (p *parser) sql(rec *Record, l line) (separator bool, err error) {
	var sqlLines []string
	for p.i < len(p.lines) {
		cur := p.lines[p.i]
		if isBlank(cur.text) {
			break
		}
		p.i++
		if isComment(cur.text) {
			continue
		}
		if strings.TrimRight(cur.text, " \t") == "----" {
			separator = true
			break
		}
		sqlLines = append(sqlLines, cur.text)
	}
	if len(sqlLines) == 0 {
		return false, p.errorf(l.num, "%s without SQL", rec.Kind)
	}
	rec.SQL = strings.Join(sqlLines, "\n")
	return separator, nil
}

// hashLine matches the hashed form of a query's results.
var hashLine = regexp.MustCompile(`^(\d+) values hashing to ([0-9a-f]{32})$`)

// results reads a query's expected output after `----`, up to a blank line
// or the end of the file. Every line is a result, even one starting with '#'.
func (p *parser) results(rec *Record) error {
	start := p.lines[p.i-1].end
	rec.span = resultSpan{start: start, end: start, separator: true}
	for p.i < len(p.lines) {
		cur := p.lines[p.i]
		if isBlank(cur.text) {
			break
		}
		rec.Expected.Lines = append(rec.Expected.Lines, strings.TrimRight(cur.text, " \t"))
		rec.span.end = cur.end
		p.i++
	}
	if len(rec.Expected.Lines) == 1 {
		if m := hashLine.FindStringSubmatch(rec.Expected.Lines[0]); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				return p.errorf(rec.Line, "bad hash count %q", m[1])
			}
			rec.Expected.Hashed, rec.Expected.HashCount, rec.Expected.Hash = true, n, m[2]
		}
	}
	return nil
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
