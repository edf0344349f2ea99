package sql

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, that every failure is a
// *SyntaxError positioned inside the text (or just past it), and that
// every statement's Text is a piece of the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT a->b, x[1], CAST(y AS ARRAY<INT>), $1 FROM s WINDOW TUMBLING (SIZE 1 HOUR) WHERE a > 1 GROUP BY a EMIT CHANGES LIMIT 3;",
		"CREATE TABLE t (id INT PRIMARY KEY, v STRUCT<a MAP<STRING, DECIMAL(4,2)>>) WITH (kafka_topic='t', partitions=1);",
		"INSERT INTO s (a, `b`) VALUES (1, 'x''y'), (MAP('k' := 1), STRUCT(F := ARRAY[1]));",
		"SHOW STREAMS; DESCRIBE EXTENDED s; DROP TABLE IF EXISTS t DELETE TOPIC; TERMINATE ALL; SET 'a'='b'; UNSET 'a'; PRINT 'x' FROM BEGINNING LIMIT 1; EXPLAIN CSAS_X_1",
		"select 'a;b' -- c;\n /* ; */ from s partition by key",
		"BEGIN ISOLATION LEVEL READ COMMITTED, READ ONLY; SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a; COMMIT AND CHAIN; SET TRANSACTION READ WRITE",
		"DECLARE \"c\" BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT x::int, '1'::double precision FROM s EMIT CHANGES; FETCH FORWARD 10 FROM c; MOVE ALL IN c; FETCH -1 c; CLOSE ALL",
		"COPY (SELECT a FROM s EMIT CHANGES LIMIT 1) TO STDOUT WITH (FORMAT csv, HEADER); COPY s (a, b) FROM STDIN CSV HEADER DELIMITER AS ';' NULL 'x' FORCE NOT NULL a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		stmts, err := Parse(text)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %v is %T, not *SyntaxError", text, err, err)
			}
			if n := utf8.RuneCountInString(text); se.Pos < 1 || se.Pos > n+1 {
				t.Fatalf("Parse(%q): Pos %d outside 1..%d", text, se.Pos, n+1)
			}
			return
		}
		for _, s := range stmts {
			if s.Text() == "" || !strings.Contains(text, s.Text()) {
				t.Fatalf("Parse(%q): statement text %q is not part of the input", text, s.Text())
			}
		}
	})
}
