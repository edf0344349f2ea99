package expr

import (
	"testing"
)

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
