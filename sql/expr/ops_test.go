package expr

import (
	"testing"
)

func TestLiterals(t *testing.T) {
	runEval(t, []evalTest{
		{"1", "1", "INTEGER"},
		{"2147483647", "2147483647", "INTEGER"},
		{"2147483648", "2147483648", "BIGINT"},
		{"-2147483648", "-2147483648", "INTEGER"},
		{"1.50", "1.50", "DECIMAL(3, 2)"},
		{"0.05", "0.05", "DECIMAL(2, 2)"},
		{"1e10", "1.0E10", "DOUBLE"},
		{"2.5e0", "2.5", "DOUBLE"},
		{"'it''s'", "it's", "STRING"},
		{"TRUE", "true", "BOOLEAN"},
		{"FALSE", "false", "BOOLEAN"},
		{"NULL", "NULL", "NULL"},
		{"(1)", "1", "INTEGER"},
	})
}

func TestColumns(t *testing.T) {
	runEval(t, []evalTest{
		{"I", "7", "INTEGER"},
		{"T.I", "7", "INTEGER"},
		{"N", "12.50", "DECIMAL(10, 2)"},
		{"TS", "2026-11-23T10:00:00.000", "TIMESTAMP"},
		{"DT", "2026-11-23", "DATE"},
		{"TM", "10:00:00", "TIME"},
		{"A", "[3, 1, 2]", "ARRAY<INTEGER>"},
		{"M", "{a=1, b=2}", "MAP<STRING, INTEGER>"},
		{"ST", "{X=5, Y=x}", "STRUCT<`X` INTEGER, `Y` STRING>"},
		{"RUNNEL_FIELD(ST, 'X')", "5", "INTEGER"},
		{"RUNNEL_FIELD(ST, 'Y')", "x", "STRING"},
		{"RUNNEL_INDEX(A, 1)", "3", "INTEGER"},
		{"RUNNEL_INDEX(A, 3)", "2", "INTEGER"},
		{"RUNNEL_INDEX(A, -1)", "2", "INTEGER"},
		{"RUNNEL_INDEX(A, -3)", "3", "INTEGER"},
		{"RUNNEL_INDEX(A, 0)", "NULL", "INTEGER"},
		{"RUNNEL_INDEX(A, 4)", "NULL", "INTEGER"},
		{"RUNNEL_INDEX(A, -4)", "NULL", "INTEGER"},
		{"RUNNEL_INDEX(NA, 1)", "NULL", "INTEGER"},
		{"RUNNEL_INDEX(A, NI)", "NULL", "INTEGER"},
		{"RUNNEL_INDEX(M, 'b')", "2", "INTEGER"},
		{"RUNNEL_INDEX(M, 'zz')", "NULL", "INTEGER"},
		{"RUNNEL_ARRAY(1, 2, NULL)", "[1, 2, null]", "ARRAY<INTEGER>"},
		{"RUNNEL_ARRAY(1, 2.5e0)", "[1.0, 2.5]", "ARRAY<DOUBLE>"},
		{"RUNNEL_MAP('k', 1, 'j', I)", "{k=1, j=7}", "MAP<STRING, INTEGER>"},
		{"RUNNEL_MAP('k', 1, 'k', 2)", "{k=2}", "MAP<STRING, INTEGER>"},
		{"RUNNEL_STRUCT('A', 1, 'b', 'x')", "{A=1, b=x}", "STRUCT<`A` INTEGER, `b` STRING>"},
		{"RUNNEL_FIELD(RUNNEL_STRUCT('A', I + 1), 'A')", "8", "INTEGER"},
	})
}

func TestArithmeticTyping(t *testing.T) {
	runEval(t, []evalTest{
		{"I + 1", "8", "INTEGER"},
		{"I + B", "10000000007", "BIGINT"},
		{"I * 2.5e0", "17.5", "DOUBLE"},
		{"I - D", "4.5", "DOUBLE"},
		{"7 / 2", "3", "INTEGER"},
		{"-7 / 2", "-3", "INTEGER"},
		{"7 % 3", "1", "INTEGER"},
		{"-7 % 3", "-1", "INTEGER"},
		{"7 DIV 2", "3", "INTEGER"},
		{"B / 3", "3333333333", "BIGINT"},
		{"D / 2", "1.25", "DOUBLE"},
		{"D % 1", "0.5", "DOUBLE"},
		{"-I", "-7", "INTEGER"},
		{"-N", "-12.50", "DECIMAL(10, 2)"},
		{"-D", "-2.5", "DOUBLE"},
		{"+I", "7", "INTEGER"},
		{"- -I", "7", "INTEGER"},
		// DECIMAL rules: + keeps the larger scale, * adds scales, / scales to max(6, s1+p2+1).
		{"N + 1", "13.50", "DECIMAL(13, 2)"},
		{"N + 0.125", "12.625", "DECIMAL(12, 3)"},
		{"N - 0.5", "12.00", "DECIMAL(11, 2)"},
		{"N * 2", "25.00", "DECIMAL(21, 2)"},
		{"N * 0.5", "6.250", "DECIMAL(12, 3)"},
		{"N / 4", "3.1250000000000", "DECIMAL(21, 13)"},
		{"1.00 / 3", "0.3333333333333", "DECIMAL(14, 13)"},
		{"1.0 / 3.0", "0.333333", "DECIMAL(8, 6)"},
		{"2.0 / 3.0", "0.666667", "DECIMAL(8, 6)"},
		{"N % 5", "2.50", "DECIMAL(10, 2)"},
		{"N + D", "15.0", "DOUBLE"},
		{"N + B", "10000000012.50", "DECIMAL(22, 2)"},
		// NULL propagates.
		{"I + NI", "NULL", "INTEGER"},
		{"NI * 2", "NULL", "INTEGER"},
		{"I + NULL", "NULL", "INTEGER"},
		{"-NI", "NULL", "INTEGER"},
		{"NI / 0", "NULL", "INTEGER"},
	})
}

func TestComparisons(t *testing.T) {
	runEval(t, []evalTest{
		{"I = 7", "true", "BOOLEAN"},
		{"I <> 7", "false", ""},
		{"I != 8", "true", ""},
		{"I < 8", "true", ""},
		{"I <= 7", "true", ""},
		{"I > 7", "false", ""},
		{"I >= 8", "false", ""},
		{"I = 7.0", "true", ""},
		{"I < 7.5e0", "true", ""},
		{"B > I", "true", ""},
		{"N = 12.5", "true", ""},
		{"N > 12.49e0", "true", ""},
		{"D = 2.50", "true", ""},
		{"S = 'Hello World'", "true", ""},
		{"S < 'Z'", "true", ""},
		{"S > 'hello'", "false", ""},
		{"T = TRUE", "true", ""},
		{"T > F", "true", ""},
		{"TS = '2026-11-23T10:00:00'", "true", ""},
		{"TS > '2026-11-23'", "true", ""},
		{"TS < '2026-11-23T10:00:00.001'", "true", ""},
		{"'2026-11-23T11:00:00+01:00' = TS", "true", ""},
		{"DT = '2026-11-23'", "true", ""},
		{"TM < '10:00:01'", "true", ""},
		{"A = RUNNEL_ARRAY(3, 1, 2)", "true", ""},
		{"A = RUNNEL_ARRAY(3, 1)", "false", ""},
		{"I = NI", "NULL", ""},
		{"NI = NI", "NULL", ""},
		{"I = NULL", "NULL", ""},
		{"NI <=> NULL", "true", ""},
		{"I <=> NI", "false", ""},
		{"I <=> 7", "true", ""},
	})
}

func TestThreeValuedLogic(t *testing.T) {
	// T is TRUE, F is FALSE, NB is NULL.
	vals := map[string]string{"T": "true", "F": "false", "NB": "NULL"}
	and := map[[2]string]string{
		{"T", "T"}: "true", {"T", "F"}: "false", {"T", "NB"}: "NULL",
		{"F", "T"}: "false", {"F", "F"}: "false", {"F", "NB"}: "false",
		{"NB", "T"}: "NULL", {"NB", "F"}: "false", {"NB", "NB"}: "NULL",
	}
	or := map[[2]string]string{
		{"T", "T"}: "true", {"T", "F"}: "true", {"T", "NB"}: "true",
		{"F", "T"}: "true", {"F", "F"}: "false", {"F", "NB"}: "NULL",
		{"NB", "T"}: "true", {"NB", "F"}: "NULL", {"NB", "NB"}: "NULL",
	}
	var tests []evalTest
	for k, want := range and {
		tests = append(tests, evalTest{k[0] + " AND " + k[1], want, "BOOLEAN"})
	}
	for k, want := range or {
		tests = append(tests, evalTest{k[0] + " OR " + k[1], want, "BOOLEAN"})
	}
	not := map[string]string{"T": "false", "F": "true", "NB": "NULL"}
	for k, want := range not {
		tests = append(tests, evalTest{"NOT " + k, want, "BOOLEAN"})
	}
	for k, v := range vals {
		isTrue := "false"
		if v == "true" {
			isTrue = "true"
		}
		isFalse := "false"
		if v == "false" {
			isFalse = "true"
		}
		isNull := "false"
		if v == "NULL" {
			isNull = "true"
		}
		tests = append(tests,
			evalTest{k + " IS TRUE", isTrue, "BOOLEAN"},
			evalTest{k + " IS FALSE", isFalse, "BOOLEAN"},
			evalTest{k + " IS NULL", isNull, "BOOLEAN"},
			evalTest{k + " IS NOT NULL", map[string]string{"true": "false", "false": "true"}[isNull], "BOOLEAN"},
		)
	}
	tests = append(tests,
		evalTest{"NULL AND FALSE", "false", "BOOLEAN"},
		evalTest{"NULL OR TRUE", "true", "BOOLEAN"},
		evalTest{"NOT NULL", "NULL", "BOOLEAN"},
		// Short circuit: the division by zero on the right is never evaluated.
		evalTest{"F AND 1 / Z = 1", "false", "BOOLEAN"},
		evalTest{"T OR 1 / Z = 1", "true", "BOOLEAN"},
		evalTest{"NI IS NULL", "true", ""},
		evalTest{"S IS NOT NULL", "true", ""},
		evalTest{"A IS NULL", "false", ""},
	)
	runEval(t, tests)
}

func TestLikeInBetweenCase(t *testing.T) {
	runEval(t, []evalTest{
		{"S LIKE 'Hello%'", "true", "BOOLEAN"},
		{"S LIKE '%World'", "true", ""},
		{"S LIKE '%o W%'", "true", ""},
		{"S LIKE 'H_llo World'", "true", ""},
		{"S LIKE 'H_llo'", "false", ""},
		{"S LIKE 'hello%'", "false", ""},
		{"S NOT LIKE 'hello%'", "true", ""},
		{"S LIKE '%'", "true", ""},
		{"'' LIKE '%'", "true", ""},
		{"'' LIKE '_'", "false", ""},
		{"'aXbXc' LIKE 'a%b%c'", "true", ""},
		{"'abcabd' LIKE '%abd'", "true", ""},
		{"'héllo' LIKE 'h_llo'", "true", ""},
		{"'50%' LIKE '50!%' ESCAPE '!'", "true", ""},
		{"'500' LIKE '50!%' ESCAPE '!'", "false", ""},
		{"'a_b' LIKE 'a!_b' ESCAPE '!'", "true", ""},
		{"'a\\b' LIKE 'a\\b'", "true", ""},
		{"S LIKE CONCAT('Hel', '%')", "true", ""},
		{"NS LIKE '%'", "NULL", ""},
		{"S LIKE NS", "NULL", ""},
		{"S ILIKE 'hello%'", "true", ""},

		{"I IN (1, 7, 9)", "true", "BOOLEAN"},
		{"I IN (1, 2)", "false", ""},
		{"I IN (1, NULL)", "NULL", ""},
		{"I IN (7, NULL)", "true", ""},
		{"I NOT IN (1, 2)", "true", ""},
		{"I NOT IN (1, NULL)", "NULL", ""},
		{"I NOT IN (7, 2)", "false", ""},
		{"NI IN (1, 2)", "NULL", ""},
		{"I IN (7.0, 8)", "true", ""},
		{"S IN ('a', 'Hello World')", "true", ""},
		{"TS IN ('2026-11-23T10:00:00', '2020-01-01')", "true", ""},

		{"I BETWEEN 1 AND 10", "true", "BOOLEAN"},
		{"I BETWEEN 7 AND 7", "true", ""},
		{"I BETWEEN 8 AND 10", "false", ""},
		{"I NOT BETWEEN 8 AND 10", "true", ""},
		{"I BETWEEN NI AND 10", "NULL", ""},
		{"I BETWEEN NI AND 5", "false", ""},
		{"D BETWEEN 2 AND 3", "true", ""},
		{"S BETWEEN 'A' AND 'I'", "true", ""},
		{"TS BETWEEN '2026-01-01' AND '2027-01-01'", "true", ""},

		{"CASE WHEN I > 5 THEN 'big' ELSE 'small' END", "big", "STRING"},
		{"CASE WHEN I > 10 THEN 'big' WHEN I > 5 THEN 'mid' END", "mid", "STRING"},
		{"CASE WHEN I > 10 THEN 'big' END", "NULL", "STRING"},
		{"CASE WHEN NB THEN 1 ELSE 2 END", "2", "INTEGER"},
		{"CASE I WHEN 1 THEN 'one' WHEN 7 THEN 'seven' ELSE 'other' END", "seven", "STRING"},
		{"CASE I WHEN 1 THEN 'one' END", "NULL", "STRING"},
		{"CASE NI WHEN 1 THEN 'one' ELSE 'null' END", "null", "STRING"},
		{"CASE WHEN T THEN 1 ELSE 2.5e0 END", "1.0", "DOUBLE"},
		{"CASE WHEN T THEN I ELSE B END", "7", "BIGINT"},
		{"CASE WHEN T THEN NULL ELSE 1.5 END", "NULL", "DECIMAL(2, 1)"},
		// A branch that is not taken is not evaluated.
		{"CASE WHEN Z = 0 THEN 0 ELSE 1 / Z END", "0", "INTEGER"},
	})
}

func TestCasts(t *testing.T) {
	runEval(t, []evalTest{
		{"RUNNEL_CAST(I, 'STRING')", "7", "STRING"},
		{"RUNNEL_CAST(D, 'STRING')", "2.5", "STRING"},
		{"RUNNEL_CAST(1e10, 'VARCHAR')", "1.0E10", "STRING"},
		{"RUNNEL_CAST(N, 'STRING')", "12.50", "STRING"},
		{"RUNNEL_CAST(T, 'STRING')", "true", "STRING"},
		{"RUNNEL_CAST(TS, 'STRING')", "2026-11-23T10:00:00.000", "STRING"},
		{"RUNNEL_CAST(A, 'STRING')", "[3, 1, 2]", "STRING"},
		{"RUNNEL_CAST(M, 'STRING')", "{a=1, b=2}", "STRING"},
		{"RUNNEL_CAST(ST, 'STRING')", "{X=5, Y=x}", "STRING"},
		{"RUNNEL_CAST(NI, 'STRING')", "NULL", "STRING"},
		{"RUNNEL_CAST(' 42 ', 'INT')", "42", "INTEGER"},
		{"RUNNEL_CAST('-9000000000', 'BIGINT')", "-9000000000", "BIGINT"},
		{"RUNNEL_CAST('2.5', 'DOUBLE')", "2.5", "DOUBLE"},
		{"RUNNEL_CAST('1.005', 'DECIMAL(4,2)')", "1.01", "DECIMAL(4, 2)"},
		{"RUNNEL_CAST('true', 'BOOLEAN')", "true", "BOOLEAN"},
		{"RUNNEL_CAST('FALSE', 'BOOLEAN')", "false", "BOOLEAN"},
		{"RUNNEL_CAST('2026-11-23T10:00:00', 'TIMESTAMP')", "2026-11-23T10:00:00.000", "TIMESTAMP"},
		{"RUNNEL_CAST('2026-11-23', 'DATE')", "2026-11-23", "DATE"},
		{"RUNNEL_CAST('10:15:30', 'TIME')", "10:15:30", "TIME"},
		{"RUNNEL_CAST(TS, 'DATE')", "2026-11-23", "DATE"},
		{"RUNNEL_CAST(TS, 'TIME')", "10:00:00", "TIME"},
		{"RUNNEL_CAST(DT, 'TIMESTAMP')", "2026-11-23T00:00:00.000", "TIMESTAMP"},
		{"RUNNEL_CAST(D, 'INT')", "2", "INTEGER"},
		{"RUNNEL_CAST(-2.7e0, 'BIGINT')", "-2", "BIGINT"},
		{"RUNNEL_CAST(N, 'INT')", "12", "INTEGER"},
		{"RUNNEL_CAST(I, 'DECIMAL(5, 2)')", "7.00", "DECIMAL(5, 2)"},
		{"RUNNEL_CAST(D, 'DECIMAL(5, 1)')", "2.5", "DECIMAL(5, 1)"},
		{"RUNNEL_CAST(N, 'DECIMAL(4, 1)')", "12.5", "DECIMAL(4, 1)"},
		{"RUNNEL_CAST(I, 'DOUBLE')", "7.0", "DOUBLE"},
		{"RUNNEL_CAST(N, 'DOUBLE')", "12.5", "DOUBLE"},
		{"RUNNEL_CAST(A, 'ARRAY<STRING>')", "[3, 1, 2]", "ARRAY<STRING>"},
		{"RUNNEL_CAST(M, 'MAP<STRING, DOUBLE>')", "{a=1.0, b=2.0}", "MAP<STRING, DOUBLE>"},
		{"RUNNEL_CAST(ST, 'STRUCT<Y STRING, X BIGINT>')", "{Y=x, X=5}", "STRUCT<`Y` STRING, `X` BIGINT>"},
		{"RUNNEL_CAST(NULL, 'INT')", "NULL", "INTEGER"},
	})
}

func TestErrors(t *testing.T) {
	runErrors(t, []errTest{
		{sql: "NOPE", code: "42703"},
		{sql: "X.I", code: "42703"},
		{sql: "AMB", code: "42702"},
		{sql: "NO_SUCH_FN(1)", code: "42883"},
		{sql: "LCASE(1)", code: "42883"},
		{sql: "LCASE('a', 'b')", code: "42883"},
		{sql: "S + S", code: "42804"},
		{sql: "I + S", code: "42804"},
		{sql: "I = S", code: "42804"},
		{sql: "T AND I", code: "42804"},
		{sql: "NOT S", code: "42804"},
		{sql: "-S", code: "42804"},
		{sql: "I LIKE 'x'", code: "42804"},
		{sql: "CASE WHEN T THEN 1 ELSE 'x' END", code: "42804"},
		{sql: "CASE WHEN I THEN 1 END", code: "42804"},
		{sql: "RUNNEL_CAST(T, 'INT')", code: "42804"},
		{sql: "RUNNEL_CAST(I, 'NOPE')", code: "42804"},
		{sql: "RUNNEL_FIELD(ST, 'NOPE')", code: "42703"},
		{sql: "RUNNEL_FIELD(I, 'X')", code: "42804"},
		{sql: "RUNNEL_INDEX(I, 1)", code: "42804"},
		{sql: "COUNT(I)", code: "42803"},
		{sql: "SUM(I)", code: "42803"},
		{sql: "LATEST_BY_OFFSET(I)", code: "42803"},
		{sql: "TOPK(I, 2)", code: "42803"},
		{sql: "TS = 'not a time'", code: "22P02"},
		{sql: "RUNNEL_PARAM(0)", code: "42P02"},

		{sql: "I / Z", code: "22012", eval: true},
		{sql: "I % Z", code: "22012", eval: true},
		{sql: "N / Z", code: "22012", eval: true},
		{sql: "N % 0", code: "22012", eval: true},
		{sql: "B / 0", code: "22012", eval: true},
		{sql: "2147483647 + I", code: "22003", eval: true},
		{sql: "B * B", code: "22003", eval: true},
		{sql: "-(-2147483647 - 1)", code: "22003", eval: true},
		{sql: "RUNNEL_CAST(B, 'INT')", code: "22003", eval: true},
		{sql: "RUNNEL_CAST('99999999999', 'INT')", code: "22003", eval: true},
		{sql: "RUNNEL_CAST(1e300, 'BIGINT')", code: "22003", eval: true},
		{sql: "RUNNEL_CAST(N, 'DECIMAL(3, 2)')", code: "22003", eval: true},
		{sql: "RUNNEL_CAST('abc', 'INT')", code: "22P02", eval: true},
		{sql: "RUNNEL_CAST('1.5', 'INT')", code: "22P02", eval: true},
		{sql: "RUNNEL_CAST('x', 'DOUBLE')", code: "22P02", eval: true},
		{sql: "RUNNEL_CAST('x', 'DECIMAL(4, 2)')", code: "22P02", eval: true},
		{sql: "RUNNEL_CAST('maybe', 'BOOLEAN')", code: "22P02", eval: true},
		{sql: "RUNNEL_CAST(S, 'TIMESTAMP')", code: "22P02", eval: true},
		{sql: "RUNNEL_CAST(S, 'DATE')", code: "22P02", eval: true},
		{sql: "RUNNEL_CAST(S, 'TIME')", code: "22P02", eval: true},
		{sql: "S LIKE 'a!' ESCAPE '!'", code: "22025"},
		{sql: "S LIKE CONCAT('a', '!') ESCAPE '!'", code: "22025", eval: true},
	})
}

func TestErrorSentinels(t *testing.T) {
	_, err := bindSQL(t, &Binder{}, "NOPE")
	if !isErr(err, ErrUnknownColumn) || isErr(err, ErrAmbiguousColumn) {
		t.Errorf("unknown column: %v", err)
	}
	if err == nil || err.Error() != `column "NOPE" does not exist` {
		t.Errorf("message: %v", err)
	}
	e, err := bindSQL(t, &Binder{}, "I / Z")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Eval(row)
	if !isErr(err, ErrDivisionByZero) {
		t.Errorf("division: %v", err)
	}
	_, err = bindSQL(t, &Binder{}, "FOO(1)")
	if !isErr(err, ErrUnknownFunction) || err.Error() != "function FOO does not exist" {
		t.Errorf("unknown function: %v", err)
	}
	if ErrTypeMismatch.SQLState() != "42804" || ErrInvalidText.SQLState() != "22P02" || ErrOutOfRange.SQLState() != "22003" {
		t.Error("sentinel codes")
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"I + 1", "(I + 1)"},
		{"T.I * 2", "(T.I * 2)"},
		{"\"lower\" = 'x'", ""},
		{"NOT T AND NB IS NULL", "((NOT T) AND (NB IS NULL))"},
		{"LCASE(S)", "LCASE(S)"},
		{"S LIKE 'a%'", "(S LIKE 'a%')"},
		{"I IN (1, 2)", "(I IN (1, 2))"},
		{"I BETWEEN 1 AND 2", "(I BETWEEN 1 AND 2)"},
		{"CASE WHEN T THEN 'a' ELSE 'b' END", "CASE WHEN T THEN 'a' ELSE 'b' END"},
		{"RUNNEL_CAST(I, 'BIGINT')", "CAST(I AS BIGINT)"},
		{"RUNNEL_FIELD(ST, 'X')", "ST->X"},
		{"RUNNEL_INDEX(A, 1)", "A[1]"},
		{"RUNNEL_ARRAY(1, 2)", "ARRAY[1, 2]"},
		{"S || 'x'", "CONCAT(S, 'x')"},
		{"1.50", "1.50"},
		{"'it''s'", "'it''s'"},
	} {
		if tc.want == "" {
			continue
		}
		e, err := bindSQL(t, &Binder{}, tc.sql)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("%s renders %q, want %q", tc.sql, got, tc.want)
		}
	}
}

// TestDoubleDivisionByZero: DOUBLE arithmetic follows IEEE 754 as ksqlDB's
// Java doubles do; only exact types fail.
func TestDoubleDivisionByZero(t *testing.T) {
	runEval(t, []evalTest{
		{"RUNNEL_CAST(1, 'DOUBLE') / Z", "Infinity", "DOUBLE"},
		{"RUNNEL_CAST(-1, 'DOUBLE') / Z", "-Infinity", "DOUBLE"},
		{"RUNNEL_CAST(0, 'DOUBLE') / Z", "NaN", "DOUBLE"},
		{"RUNNEL_CAST(5, 'DOUBLE') % Z", "NaN", "DOUBLE"},
	})
}
