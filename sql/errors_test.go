package sql

import (
	"errors"
	"strings"
	"testing"
)

func TestSyntaxErrorPositions(t *testing.T) {
	tests := []struct {
		text string
		// at is the text the error must point at; "" means the end.
		at      string
		nth     int // which occurrence of at (0-based)
		msgPart string
	}{
		{text: "SELECT * FROM s WHERE", msgPart: "end of input"},
		{text: "SELECT * FROM s WHERE   ", msgPart: "end of input"},
		{text: "CREATE STREAM s (a INTT)", at: "INTT", msgPart: "unknown type"},
		{text: "SELECT a FROM s WHERE x = = 1", at: "= 1"},
		{text: "SELECT a->b FROM s WHERE x ==", at: "=", nth: 1},
		{text: "SELECT a FROM s WHERE EMIT CHANGES", at: "EMIT"},
		{text: "SELECT 'é', a FROM s WHERE x = = 1", at: "= 1"},
		{text: "SHOW STREAMS; SELECT FROM FROM s", at: "FROM"},
		{text: "SELECT a\nFROM s\nWHERE b ))", at: ")"},
		{text: "SELECT CAST(a AS INT) + $1, ARRAY[1] FROM s WHERE (", at: "(", nth: 1},
		{text: "SHOW 42", at: "42"},
		{text: "FOO BAR", at: "FOO", msgPart: "unknown statement"},
		{text: "SELECT 'abc", at: "'abc", msgPart: "unterminated string"},
		{text: "SELECT \"abc", at: "\"abc", msgPart: "unterminated quoted identifier"},
		{text: "SELECT 1 /* x", at: "/*", msgPart: "unterminated comment"},
		{text: "SELECT # FROM s", at: "#"},
		{text: "DROP STREAM", msgPart: "end of statement"},
		{text: "CREATE STREAM s (a INT) WITH (x=)", at: ")", nth: 1},
		{text: "CREATE TABLE t (id INT KEY)", at: "KEY", msgPart: "PRIMARY KEY"},
		{text: "CREATE STREAM s (id INT PRIMARY KEY)", at: "PRIMARY"},
		{text: "CREATE STREAM s (a INT, a INT)", at: "a", nth: 1, msgPart: "duplicate"},
		{text: "SELECT * FROM s WINDOW TUMBLING (SIZE 1 FORTNIGHT)", at: "FORTNIGHT"},
		{text: "SELECT * FROM s WINDOW HOPPING (SIZE 1 SECOND)", at: ")", msgPart: "ADVANCE BY"},
		{text: "SELECT * FROM s WINDOW SESSION (SIZE 1 SECOND)", at: "SIZE"},
		{text: "SELECT * FROM s EMIT CHANGES EMIT FINAL", at: "EMIT", nth: 1},
		{text: "SELECT * FROM s PARTITION BY EMIT CHANGES", at: "EMIT"},
		{text: "SELECT * FROM s PARTITION BY a AS b", at: "a AS"},
		// A UNION of its own is a query of the catalog (Query.SetOpr); in
		// a persistent query it is refused.
		{text: "CREATE STREAM x AS SELECT * FROM s UNION SELECT * FROM t", at: "SELECT"},
		{text: "INSERT INTO s (a) SELECT * FROM t", at: "SELECT"},
		{text: "INSERT INTO s VALUES (1,)", at: ")"},
		{text: "PRINT t LIMIT x", at: "x"},
		{text: "SET 'a' = ", msgPart: "end of statement"},
		{text: "TERMINATE", msgPart: "end of statement"},
		// Join clauses: FULL and WITHIN need their ON, and TiDB's errors
		// inside a rewritten join still point at the user's text.
		{text: "SELECT * FROM a FULL OUTER JOIN b WHERE a.x = 1", at: "FULL", msgPart: "expected ON for the FULL JOIN"},
		{text: "SELECT * FROM a JOIN b WITHIN 1 HOUR WHERE x", at: "WHERE", msgPart: "ON after the WITHIN clause"},
		{text: "SELECT * FROM a JOIN b WITHIN 1 FORTNIGHT ON a.k = b.k", at: "FORTNIGHT"},
		{text: "SELECT * FROM a FULL JOIN b ON a.k = = b.k", at: "= b"},
		{text: "SELECT * FROM a FULL JOIN b WITHIN 1 SECOND ON a.k = b.k WHERE )", at: ")"},
		{text: "SELECT * FROM a FULL JOIN b ON a.k = b.k FULL JOIN c ON", msgPart: "join condition"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := Parse(tc.text)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SyntaxError", err, err)
			}
			if !errors.Is(err, ErrSyntax) || se.SQLState() != "42601" || se.Position() != se.Pos {
				t.Errorf("error class: Is=%v SQLState=%s", errors.Is(err, ErrSyntax), se.SQLState())
			}
			want := len([]rune(tc.text)) + 1
			if tc.at != "" {
				off := -1
				for i, from := 0, 0; i <= tc.nth; i++ {
					k := strings.Index(tc.text[from:], tc.at)
					if k < 0 {
						t.Fatalf("bad test: %q not in text", tc.at)
					}
					off = from + k
					from = off + 1
				}
				want = len([]rune(tc.text[:off])) + 1
			} else {
				// "The end": anywhere in the trailing whitespace counts.
				trimmed := len([]rune(strings.TrimRight(tc.text, " ")))
				if se.Pos > trimmed && se.Pos <= want {
					want = se.Pos
				}
			}
			if se.Pos != want {
				t.Errorf("Pos = %d, want %d (msg %q)", se.Pos, want, se.Msg)
			}
			if !strings.Contains(se.Msg, tc.msgPart) {
				t.Errorf("Msg = %q, want it to mention %q", se.Msg, tc.msgPart)
			}
			if !strings.Contains(se.Error(), se.Msg) {
				t.Errorf("Error() = %q", se.Error())
			}
		})
	}
}
