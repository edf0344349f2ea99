package expr

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStringFunctions(t *testing.T) {
	runEval(t, []evalTest{
		{"LCASE(S)", "hello world", "STRING"},
		{"LCASE(NS)", "NULL", "STRING"},
		{"lcase(S)", "hello world", "STRING"},
		{"UCASE(S)", "HELLO WORLD", "STRING"},
		{"UCASE(NS)", "NULL", "STRING"},
		{"LEN(S)", "11", "INTEGER"},
		{"LEN('héllo')", "5", "INTEGER"},
		{"LEN(NS)", "NULL", "INTEGER"},
		{"CONCAT(S, '!', '?')", "Hello World!?", "STRING"},
		{"CONCAT('a', NS, 'b')", "ab", "STRING"},
		{"S || '!'", "Hello World!", "STRING"},
		{"CONCAT_WS('-', 'a', NS, 'b')", "a-b", "STRING"},
		{"CONCAT_WS(NS, 'a', 'b')", "NULL", "STRING"},
		{"TRIM('  x y  ')", "x y", "STRING"},
		{"TRIM(NS)", "NULL", "STRING"},
		{"LTRIM('  x  ')", "x  ", "STRING"},
		{"LTRIM(NS)", "NULL", "STRING"},
		{"RTRIM('  x  ')", "  x", "STRING"},
		{"RTRIM(NS)", "NULL", "STRING"},
		{"SUBSTRING(S, 7)", "World", "STRING"},
		{"SUBSTRING(S, 1, 5)", "Hello", "STRING"},
		{"SUBSTRING(S, -5)", "World", "STRING"},
		{"SUBSTRING(S, -5, 2)", "Wo", "STRING"},
		{"SUBSTRING(S, 20)", "", "STRING"},
		{"SUBSTRING(S, 2, 100)", "ello World", "STRING"},
		{"SUBSTRING(NS, 1)", "NULL", "STRING"},
		{"SUBSTRING(S, NI)", "NULL", "STRING"},
		{"REPLACE(S, 'o', '0')", "Hell0 W0rld", "STRING"},
		{"REPLACE(S, NS, 'x')", "NULL", "STRING"},
		{"INSTR(S, 'o')", "5", "INTEGER"},
		{"INSTR(S, 'z')", "0", "INTEGER"},
		{"INSTR(S, 'o', 6)", "8", "INTEGER"},
		{"INSTR(S, 'o', 1, 2)", "8", "INTEGER"},
		{"INSTR(S, 'o', -1)", "8", "INTEGER"},
		{"INSTR(NS, 'o')", "NULL", "INTEGER"},
		{"LPAD('ab', 5, 'xy')", "xyxab", "STRING"},
		{"LPAD('abcdef', 3, 'x')", "abc", "STRING"},
		{"LPAD('ab', 5, '')", "NULL", "STRING"},
		{"LPAD(NS, 5, 'x')", "NULL", "STRING"},
		{"RPAD('ab', 5, 'xy')", "abxyx", "STRING"},
		{"RPAD(NS, 5, 'x')", "NULL", "STRING"},
		{"XX_SPLIT('a,b,,c', ',')", "[a, b, , c]", "ARRAY<STRING>"},
		{"XX_SPLIT('abc', '')", "[a, b, c]", "ARRAY<STRING>"},
		{"XX_SPLIT(NS, ',')", "NULL", "ARRAY<STRING>"},
		{"SPLIT_TO_MAP('a=1;b=2', ';', '=')", "{a=1, b=2}", "MAP<STRING, STRING>"},
		{"SPLIT_TO_MAP(NS, ';', '=')", "NULL", ""},
		{"INITCAP('hello wORLD  foo')", "Hello World  Foo", "STRING"},
		{"INITCAP(NS)", "NULL", "STRING"},
		{"REGEXP_EXTRACT('[a-z]+', 'ABC def ghi')", "def", "STRING"},
		{"REGEXP_EXTRACT('(\\w+)@(\\w+)', 'x me@host y', 2)", "host", "STRING"},
		{"REGEXP_EXTRACT('[0-9]+', 'abc')", "NULL", "STRING"},
		{"REGEXP_EXTRACT(NS, 'abc')", "NULL", "STRING"},
		{"REGEXP_EXTRACT_ALL('[0-9]+', 'a1b22c333')", "[1, 22, 333]", "ARRAY<STRING>"},
		{"REGEXP_EXTRACT_ALL(NS, 'a')", "NULL", ""},
		{"REGEXP_REPLACE(S, '[aeiou]', '*')", "H*ll* W*rld", "STRING"},
		{"REGEXP_REPLACE('john smith', '(\\w+) (\\w+)', '$2, $1')", "smith, john", "STRING"},
		{"REGEXP_REPLACE(NS, 'a', 'b')", "NULL", "STRING"},
		{"REGEXP_SPLIT_TO_ARRAY('a1b22c', '[0-9]+')", "[a, b, c]", "ARRAY<STRING>"},
		{"REGEXP_SPLIT_TO_ARRAY(NS, 'a')", "NULL", ""},
		{"MASK('AbC-12')", "XxX-nn", "STRING"},
		{"MASK('AbC-12', '*', '#', '9', '_')", "*#*_99", "STRING"},
		{"MASK('AbC-12', NULL, '#')", "A#C-nn", "STRING"},
		{"MASK(NS)", "NULL", "STRING"},
		{"MASK_KEEP_LEFT('AbC-12', 2)", "AbX-nn", "STRING"},
		{"MASK_KEEP_RIGHT('AbC-12', 2)", "XxX-12", "STRING"},
		{"MASK_LEFT('AbC-12', 2)", "XxC-12", "STRING"},
		{"MASK_RIGHT('AbC-12', 2)", "AbC-nn", "STRING"},
		{"MASK_LEFT(NS, 2)", "NULL", "STRING"},
		{"CHR(65)", "A", "STRING"},
		{"CHR('\\u263A')", "☺", "STRING"},
		{"CHR(NI)", "NULL", "STRING"},
		{"ENCODE('Hello', 'utf8', 'hex')", "48656c6c6f", "STRING"},
		{"ENCODE('48656c6c6f', 'hex', 'base64')", "SGVsbG8=", "STRING"},
		{"ENCODE('SGVsbG8=', 'base64', 'utf8')", "Hello", "STRING"},
		{"ENCODE(NS, 'hex', 'utf8')", "NULL", "STRING"},
		{"FROM_BYTES(TO_BYTES('SGk=', 'base64'), 'utf8')", "Hi", "STRING"},
		{"TO_BYTES('4869', 'hex')", "SGk=", "BYTES"},
		{"TO_BYTES(NS, 'hex')", "NULL", "BYTES"},
		{"LEN(TO_BYTES('4869', 'hex'))", "2", "INTEGER"},
		{"ELT(2, 'a', 'b', 'c')", "b", "STRING"},
		{"ELT(4, 'a', 'b', 'c')", "NULL", "STRING"},
		{"ELT(NI, 'a')", "NULL", "STRING"},
		{"FIELD('b', 'a', 'b', 'c')", "2", "INTEGER"},
		{"FIELD('z', 'a', 'b')", "0", "INTEGER"},
		{"FIELD(NS, 'a')", "0", "INTEGER"},
	})
}

func TestMathFunctions(t *testing.T) {
	runEval(t, []evalTest{
		{"ABS(-5)", "5", "INTEGER"},
		{"ABS(-B)", "10000000000", "BIGINT"},
		{"ABS(-2.5e0)", "2.5", "DOUBLE"},
		{"ABS(-N)", "12.50", "DECIMAL(10, 2)"},
		{"ABS(NI)", "NULL", "INTEGER"},
		{"CEIL(D)", "3.0", "DOUBLE"},
		{"CEIL(-D)", "-2.0", "DOUBLE"},
		{"CEIL(N)", "13", "DECIMAL(9, 0)"},
		{"CEIL(-N)", "-12", "DECIMAL(9, 0)"},
		{"CEIL(I)", "7", "INTEGER"},
		{"CEIL(NI)", "NULL", "INTEGER"},
		{"FLOOR(D)", "2.0", "DOUBLE"},
		{"FLOOR(-D)", "-3.0", "DOUBLE"},
		{"FLOOR(N)", "12", "DECIMAL(9, 0)"},
		{"FLOOR(-N)", "-13", "DECIMAL(9, 0)"},
		{"FLOOR(NI)", "NULL", "INTEGER"},
		{"ROUND(D)", "3", "BIGINT"},
		{"ROUND(-D)", "-2", "BIGINT"},
		{"ROUND(N)", "13", "DECIMAL(9, 0)"},
		{"ROUND(-N)", "-13", "DECIMAL(9, 0)"},
		{"ROUND(I)", "7", "INTEGER"},
		{"ROUND(1.2345e0, 2)", "1.23", "DOUBLE"},
		{"ROUND(1.235e0, 2)", "1.24", "DOUBLE"},
		{"ROUND(N, 1)", "12.50", "DECIMAL(10, 2)"},
		{"ROUND(12.345, 1)", "12.300", "DECIMAL(5, 3)"},
		{"ROUND(1234, -2)", "1200", "INTEGER"},
		{"ROUND(1250, -2)", "1300", "INTEGER"},
		{"ROUND(NI)", "NULL", "INTEGER"},
		{"ROUND(D, NI)", "NULL", "DOUBLE"},
		{"SQRT(16)", "4.0", "DOUBLE"},
		{"SQRT(NI)", "NULL", "DOUBLE"},
		{"CBRT(27)", "3.0", "DOUBLE"},
		{"EXP(0)", "1.0", "DOUBLE"},
		{"EXP(NI)", "NULL", "DOUBLE"},
		{"LN(1)", "0.0", "DOUBLE"},
		{"LN(NI)", "NULL", "DOUBLE"},
		{"LOG(1)", "0.0", "DOUBLE"},
		{"LOG(2, 8)", "3.0", "DOUBLE"},
		{"LOG(NI)", "NULL", "DOUBLE"},
		{"POWER(2, 10)", "1024.0", "DOUBLE"},
		{"POWER(2, NI)", "NULL", "DOUBLE"},
		{"SIGN(-3)", "-1", "INTEGER"},
		{"SIGN(0)", "0", "INTEGER"},
		{"SIGN(N)", "1", "INTEGER"},
		{"SIGN(-D)", "-1", "INTEGER"},
		{"SIGN(NI)", "NULL", "INTEGER"},
		{"PI() > 3.14", "true", "BOOLEAN"},
		{"DEGREES(PI())", "180.0", "DOUBLE"},
		{"RADIANS(180) = PI()", "true", "BOOLEAN"},
		{"SIN(0)", "0.0", "DOUBLE"},
		{"COS(0)", "1.0", "DOUBLE"},
		{"TAN(0)", "0.0", "DOUBLE"},
		{"ASIN(0)", "0.0", "DOUBLE"},
		{"ACOS(1)", "0.0", "DOUBLE"},
		{"ATAN(0)", "0.0", "DOUBLE"},
		{"ATAN2(0, 1)", "0.0", "DOUBLE"},
		{"SIN(NI)", "NULL", "DOUBLE"},
		{"GREATEST(1, 7, 3)", "7", "INTEGER"},
		{"GREATEST(1, NI, 3)", "3", "INTEGER"},
		{"GREATEST(I, 2.5e0)", "7.0", "DOUBLE"},
		{"GREATEST(NI, NI)", "NULL", "INTEGER"},
		{"GREATEST('a', 'c', 'b')", "c", "STRING"},
		{"LEAST(4, 2, 3)", "2", "INTEGER"},
		{"LEAST(I, B)", "7", "BIGINT"},
		{"LEAST(NI)", "NULL", "INTEGER"},
		{"COALESCE(NI, 2, 3)", "2", "INTEGER"},
		{"COALESCE(NI, B)", "10000000000", "BIGINT"},
		{"COALESCE(NS, NULL)", "NULL", "STRING"},
		{"COALESCE(NULL, 1.5)", "1.5", "DECIMAL(2, 1)"},
		{"IFNULL(NS, 'dflt')", "dflt", "STRING"},
		{"IFNULL(S, 'dflt')", "Hello World", "STRING"},
		{"IFNULL(NI, NULL)", "NULL", "INTEGER"},
		{"NULLIF(I, 7)", "NULL", "INTEGER"},
		{"NULLIF(I, 8)", "7", "INTEGER"},
		{"NULLIF(NI, 8)", "NULL", "INTEGER"},
		{"NULLIF(I, NI)", "7", "INTEGER"},
	})
}

func TestRandomAndUUID(t *testing.T) {
	for i := 0; i < 200; i++ {
		got, typ, err := evalCase(t, "RANDOM()")
		if err != nil || typ.String() != "DOUBLE" {
			t.Fatalf("RANDOM(): %v %s", err, typ)
		}
		f, err := strconv.ParseFloat(got, 64)
		if err != nil || f < 0 || f >= 1 {
			t.Fatalf("RANDOM() = %s, want [0, 1)", got)
		}
	}
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, _, err := evalCase(t, "UUID()")
	b, _, err2 := evalCase(t, "UUID()")
	if err != nil || err2 != nil || !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Errorf("UUID() = %q, %q (%v, %v)", a, b, err, err2)
	}
}

func TestDateTimeFunctions(t *testing.T) {
	fixed := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now = func() time.Time { return fixed }
	defer func() { now = time.Now }()
	runEval(t, []evalTest{
		{"UNIX_TIMESTAMP()", "1795428000000", "BIGINT"},
		{"UNIX_TIMESTAMP(TS)", "1795428000000", "BIGINT"},
		{"UNIX_TIMESTAMP(RUNNEL_CAST(NS, 'TIMESTAMP'))", "NULL", "BIGINT"},
		{"UNIX_DATE()", "20780", "INTEGER"},
		{"UNIX_DATE(DT)", "20780", "INTEGER"},
		{"UNIX_DATE(RUNNEL_CAST(NS, 'DATE'))", "NULL", "INTEGER"},
		{"FROM_UNIXTIME(1795428000000)", "2026-11-23T10:00:00.000", "TIMESTAMP"},
		{"FROM_UNIXTIME(NI)", "NULL", "TIMESTAMP"},
		{"FROM_DAYS(20780)", "2026-11-23", "DATE"},
		{"TIMESTAMPTOSTRING(1795428000123, 'yyyy-MM-dd HH:mm:ss.SSS')", "2026-11-23 10:00:00.123", "STRING"},
		{"TIMESTAMPTOSTRING(1795428000000, 'yyyy-MM-dd''T''HH:mm:ssXXX', 'America/New_York')", "2026-11-23T05:00:00-05:00", "STRING"},
		{"TIMESTAMPTOSTRING(1795428000000, 'EEE, d MMM yyyy h:mm a')", "Mon, 23 Nov 2026 10:00 AM", "STRING"},
		{"TIMESTAMPTOSTRING(1795428000000, 'EEEE MMMM dd yy D')", "Monday November 23 26 327", "STRING"},
		{"TIMESTAMPTOSTRING(NI, 'yyyy')", "NULL", "STRING"},
		{"STRINGTOTIMESTAMP('2026-11-23 10:00:00.123', 'yyyy-MM-dd HH:mm:ss.SSS')", "1795428000123", "BIGINT"},
		{"STRINGTOTIMESTAMP('2026-11-23 05:00', 'yyyy-MM-dd HH:mm', 'America/New_York')", "1795428000000", "BIGINT"},
		{"STRINGTOTIMESTAMP('20261123100000', 'yyyyMMddHHmmss')", "1795428000000", "BIGINT"},
		{"STRINGTOTIMESTAMP('2026-11-23T11:00:00+01:00', 'yyyy-MM-dd''T''HH:mm:ssXXX')", "1795428000000", "BIGINT"},
		{"STRINGTOTIMESTAMP('23 Nov 2026 10:00 AM', 'dd MMM yyyy hh:mm a')", "1795428000000", "BIGINT"},
		{"STRINGTOTIMESTAMP(NS, 'yyyy')", "NULL", "BIGINT"},
		{"FORMAT_TIMESTAMP(TS, 'yyyy-MM-dd')", "2026-11-23", "STRING"},
		{"FORMAT_TIMESTAMP(TS, 'HH:mm', '+05:30')", "15:30", "STRING"},
		{"FORMAT_TIMESTAMP(RUNNEL_CAST(NS, 'TIMESTAMP'), 'yyyy')", "NULL", "STRING"},
		{"PARSE_TIMESTAMP('2026-11-23 10:00', 'yyyy-MM-dd HH:mm')", "2026-11-23T10:00:00.000", "TIMESTAMP"},
		{"PARSE_TIMESTAMP('2026-11-23 11:00', 'yyyy-MM-dd HH:mm', 'Europe/Paris')", "2026-11-23T10:00:00.000", "TIMESTAMP"},
		{"PARSE_TIMESTAMP(NS, 'yyyy')", "NULL", "TIMESTAMP"},
		{"DATETOSTRING(20780, 'dd/MM/yyyy')", "23/11/2026", "STRING"},
		{"DATETOSTRING(NI, 'yyyy')", "NULL", "STRING"},
		{"STRINGTODATE('23/11/2026', 'dd/MM/yyyy')", "20780", "INTEGER"},
		{"STRINGTODATE(NS, 'yyyy')", "NULL", "INTEGER"},
		{"FORMAT_DATE(DT, 'yyyy.MM.dd')", "2026.11.23", "STRING"},
		{"FORMAT_DATE(RUNNEL_CAST(NS, 'DATE'), 'yyyy')", "NULL", "STRING"},
		{"PARSE_DATE('2026/11/23', 'yyyy/MM/dd')", "2026-11-23", "DATE"},
		{"PARSE_DATE(NS, 'yyyy')", "NULL", "DATE"},
		{"FORMAT_TIME(TM, 'HH.mm')", "10.00", "STRING"},
		{"PARSE_TIME('7:05 PM', 'h:mm a')", "19:05:00", "TIME"},
		{"PARSE_TIME(NS, 'HH')", "NULL", "TIME"},
		{"CONVERT_TZ(TS, 'UTC', 'Asia/Tokyo')", "2026-11-23T19:00:00.000", "TIMESTAMP"},
		{"CONVERT_TZ(TS, 'America/Los_Angeles', 'UTC')", "2026-11-23T18:00:00.000", "TIMESTAMP"},
		{"CONVERT_TZ(TS, NS, 'UTC')", "NULL", "TIMESTAMP"},
		{"XX_TIMESTAMPADD(SECONDS, 30, TS)", "2026-11-23T10:00:30.000", "TIMESTAMP"},
		{"XX_TIMESTAMPADD('DAYS', 2, TS)", "2026-11-25T10:00:00.000", "TIMESTAMP"},
		{"XX_TIMESTAMPADD(MONTHS, 3, TS)", "2027-02-23T10:00:00.000", "TIMESTAMP"},
		{"XX_TIMESTAMPADD(HOURS, NI, TS)", "NULL", "TIMESTAMP"},
		{"TIMESTAMPSUB(MINUTES, 30, TS)", "2026-11-23T09:30:00.000", "TIMESTAMP"},
		{"DATEADD(DAYS, 10, DT)", "2026-12-03", "DATE"},
		{"DATESUB(YEARS, 1, DT)", "2025-11-23", "DATE"},
		{"DATEADD(DAYS, 1, RUNNEL_CAST(NS, 'DATE'))", "NULL", "DATE"},
		{"TIMEADD(HOURS, 15, TM)", "01:00:00", "TIME"},
		{"TIMESUB(MINUTES, 1, TM)", "09:59:00", "TIME"},
	})
	runErrors(t, []errTest{
		{sql: "PARSE_TIMESTAMP('nope', 'yyyy-MM-dd')", code: "22P02", eval: true},
		{sql: "FORMAT_TIMESTAMP(TS, 'yyyy', 'Not/AZone')", code: "22023", eval: true},
		{sql: "XX_TIMESTAMPADD('FORTNIGHTS', 1, TS)", code: "22023", eval: true},
		{sql: "FORMAT_TIMESTAMP(TS, 'yyyy''')", code: "22007", eval: true},
	})
}

func TestCollectionFunctions(t *testing.T) {
	runEval(t, []evalTest{
		{"ARRAY_LENGTH(A)", "3", "INTEGER"},
		{"ARRAY_LENGTH(NA)", "NULL", "INTEGER"},
		{"ARRAY_CONTAINS(A, 2)", "true", "BOOLEAN"},
		{"ARRAY_CONTAINS(A, 9)", "false", "BOOLEAN"},
		{"ARRAY_CONTAINS(NA, 2)", "false", "BOOLEAN"},
		{"ARRAY_CONTAINS(RUNNEL_ARRAY(1, NULL), NULL)", "true", "BOOLEAN"},
		{"ARRAY_DISTINCT(\"AS\")", "[b, a]", "ARRAY<STRING>"},
		{"ARRAY_DISTINCT(NA)", "NULL", "ARRAY<INTEGER>"},
		{"ARRAY_MAX(A)", "3", "INTEGER"},
		{"ARRAY_MAX(RUNNEL_ARRAY(NULL, 2, NULL))", "2", "INTEGER"},
		{"ARRAY_MAX(NA)", "NULL", "INTEGER"},
		{"ARRAY_MIN(A)", "1", "INTEGER"},
		{"ARRAY_MIN(\"AS\")", "a", "STRING"},
		{"ARRAY_MIN(NA)", "NULL", "INTEGER"},
		{"ARRAY_SORT(A)", "[1, 2, 3]", "ARRAY<INTEGER>"},
		{"ARRAY_SORT(A, 'desc')", "[3, 2, 1]", "ARRAY<INTEGER>"},
		{"ARRAY_SORT(RUNNEL_ARRAY(2, NULL, 1))", "[1, 2, null]", "ARRAY<INTEGER>"},
		{"ARRAY_SORT(NA)", "NULL", "ARRAY<INTEGER>"},
		{"ARRAY_JOIN(A)", "3,1,2", "STRING"},
		{"ARRAY_JOIN(A, ' | ')", "3 | 1 | 2", "STRING"},
		{"ARRAY_JOIN(NA)", "NULL", "STRING"},
		{"ARRAY_CONCAT(A, RUNNEL_ARRAY(9))", "[3, 1, 2, 9]", "ARRAY<INTEGER>"},
		{"ARRAY_CONCAT(A, NA)", "NULL", "ARRAY<INTEGER>"},
		{"ARRAY_UNION(A, RUNNEL_ARRAY(2, 9))", "[3, 1, 2, 9]", "ARRAY<INTEGER>"},
		{"ARRAY_INTERSECT(A, RUNNEL_ARRAY(2, 3, 9))", "[3, 2]", "ARRAY<INTEGER>"},
		{"ARRAY_EXCEPT(A, RUNNEL_ARRAY(2))", "[3, 1]", "ARRAY<INTEGER>"},
		{"ARRAY_EXCEPT(NA, A)", "NULL", "ARRAY<INTEGER>"},
		{"ARRAY_REMOVE(\"AS\", 'b')", "[a]", "ARRAY<STRING>"},
		{"ARRAY_REMOVE(NA, 1)", "NULL", "ARRAY<INTEGER>"},
		{"SLICE(A, 2, 3)", "[1, 2]", "ARRAY<INTEGER>"},
		{"SLICE(A, 3, 2)", "[]", "ARRAY<INTEGER>"},
		{"SLICE(NA, 1, 2)", "NULL", "ARRAY<INTEGER>"},
		{"MAP_KEYS(M)", "[a, b]", "ARRAY<STRING>"},
		{"MAP_KEYS(RUNNEL_CAST(NULL, 'MAP<STRING, INT>'))", "NULL", "ARRAY<STRING>"},
		{"MAP_VALUES(M)", "[1, 2]", "ARRAY<INTEGER>"},
		{"MAP_VALUES(RUNNEL_CAST(NULL, 'MAP<STRING, INT>'))", "NULL", "ARRAY<INTEGER>"},
		{"MAP_UNION(M, RUNNEL_MAP('b', 5, 'c', 6))", "{a=1, b=5, c=6}", "MAP<STRING, INTEGER>"},
		{"AS_MAP(RUNNEL_ARRAY('x', 'y'), RUNNEL_ARRAY(1, 2))", "{x=1, y=2}", "MAP<STRING, INTEGER>"},
		{"AS_MAP(\"AS\", NA)", "NULL", "MAP<STRING, INTEGER>"},
	})
}

func TestJSONFunctions(t *testing.T) {
	runEval(t, []evalTest{
		{"EXTRACTJSONFIELD(JS, '$.s')", "str", "STRING"},
		{"EXTRACTJSONFIELD(JS, '$.a.b[0]')", "10", "STRING"},
		{"EXTRACTJSONFIELD(JS, '$.a.b[2].c')", "true", "STRING"},
		{"EXTRACTJSONFIELD(JS, '$[''a''].b[1]')", "x", "STRING"},
		{"EXTRACTJSONFIELD(JS, '$.a.b')", `[10,"x",{"c":true}]`, "STRING"},
		{"EXTRACTJSONFIELD(JS, '$.n')", "NULL", "STRING"},
		{"EXTRACTJSONFIELD(JS, '$.missing.x')", "NULL", "STRING"},
		{"EXTRACTJSONFIELD('not json', '$.a')", "NULL", "STRING"},
		{"EXTRACTJSONFIELD(NS, '$.a')", "NULL", "STRING"},
		{"IS_JSON_STRING(JS)", "true", "BOOLEAN"},
		{"IS_JSON_STRING('{')", "false", "BOOLEAN"},
		{"IS_JSON_STRING(NS)", "false", "BOOLEAN"},
		{"JSON_ARRAY_LENGTH('[1, 2, 3]')", "3", "INTEGER"},
		{"JSON_ARRAY_LENGTH('{}')", "NULL", "INTEGER"},
		{"JSON_KEYS(JS)", "[a, n, s]", "ARRAY<STRING>"},
		{"JSON_KEYS(NS)", "NULL", "ARRAY<STRING>"},
		{"TO_JSON_STRING(ST)", `{"X":5,"Y":"x"}`, "STRING"},
		{"TO_JSON_STRING(A)", `[3,1,2]`, "STRING"},
		{"TO_JSON_STRING(N)", `12.50`, "STRING"},
		{"TO_JSON_STRING(NS)", `null`, "STRING"},
	})
}

func TestRegistry(t *testing.T) {
	fs := Functions()
	if len(fs) < 45 {
		t.Fatalf("%d functions, want at least 45", len(fs))
	}
	for i, f := range fs {
		if i > 0 && fs[i-1].Name >= f.Name {
			t.Errorf("Functions() not sorted at %s", f.Name)
		}
		if f.Description == "" || f.Category == "" || len(f.Signatures()) == 0 {
			t.Errorf("%s lacks a description, category or signature", f.Name)
		}
		if IsAggregate(f.Name) {
			t.Errorf("%s is registered as scalar but is an aggregate", f.Name)
		}
	}
	f, ok := Lookup("substring")
	if !ok || f.Name != "SUBSTRING" {
		t.Fatal("Lookup is not case-insensitive")
	}
	sigs := strings.Join(f.Signatures(), "; ")
	if sigs != "SUBSTRING(STRING, INT) -> STRING; SUBSTRING(STRING, INT, INT) -> STRING" {
		t.Errorf("signatures: %s", sigs)
	}
	if f, _ := Lookup("CONCAT"); f.Signatures()[0] != "CONCAT(STRING...) -> STRING" {
		t.Errorf("variadic signature: %v", f.Signatures())
	}
	if _, ok := Lookup("COUNT"); ok {
		t.Error("COUNT is an aggregate, not in the scalar registry")
	}
	for _, n := range []string{"count", "SUM", "Avg", "MIN", "MAX", "COUNT_DISTINCT", "LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET",
		"COLLECT_LIST", "COLLECT_SET", "TOPK", "TOPKDISTINCT", "HISTOGRAM", "STDDEV_SAMP"} {
		if !IsAggregate(n) {
			t.Errorf("IsAggregate(%s) = false", n)
		}
	}
	if IsAggregate("LCASE") {
		t.Error("IsAggregate(LCASE)")
	}
}
