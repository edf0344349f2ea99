package expr

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// TestValueLimit: every function, operator and constructor that can build
// a value larger than its input refuses a value over the Binder's
// MaxValueBytes with SQLSTATE 54000, sizes it before building it (the
// bytes allocated stay near the limit however large the request), and
// builds values under it as before.
func TestValueLimit(t *testing.T) {
	const limit = 64 << 10
	big := "'" + strings.Repeat("x", 30_000) + "'"
	for _, tc := range []struct {
		sql string
		ok  bool // fits: must evaluate without error
	}{
		{sql: "LPAD('x', 2147483647, 'y')"},
		{sql: "RPAD('x', 9223372036854775807, 'yz')"},
		{sql: "LPAD('x', 60000, 'é')"}, // 120,000 bytes of 60,000 characters
		{sql: "LPAD('x', 1000, 'y')", ok: true},
		{sql: "RPAD('abc', 2, 'y')", ok: true},
		{sql: "CONCAT(" + big + ", " + big + ", " + big + ", " + big + ")"},
		{sql: big + " || " + big + " || " + big + " || " + big},
		{sql: "CONCAT(" + big + ", " + big + ")", ok: true},
		{sql: "CONCAT_WS(" + big + ", 'a', 'b', 'c', 'd')"},
		{sql: "REPLACE(" + big + ", '', 'abc')"},
		{sql: "REPLACE(" + big + ", 'x', 'abcd')"},
		{sql: "REPLACE(" + big + ", 'x', 'a')", ok: true},
		{sql: "REGEXP_REPLACE(" + big + ", '', 'abc')"},
		{sql: "REGEXP_REPLACE(" + big + ", '(x)', '$1$1$1$1')"},
		{sql: "REGEXP_REPLACE(" + big + ", 'x+', 'y')", ok: true},
		{sql: "XX_SPLIT(" + big + ", '')"},
		{sql: "XX_SPLIT(" + big + ", 'x')"},
		{sql: "XX_SPLIT('a,b,c', ',')", ok: true},
		{sql: "SPLIT_TO_MAP(REPLACE(" + big + ", 'x', 'a=b;'), ';', '=')"},
		{sql: "REGEXP_EXTRACT_ALL('x', " + big + ")"},
		{sql: "REGEXP_EXTRACT_ALL('', " + big + ")"},
		{sql: "REGEXP_SPLIT_TO_ARRAY(" + big + ", '')"},
		{sql: "MASK(CONCAT(" + big + ", " + big + "), 'é', 'é')"},
		{sql: "MASK_LEFT(CONCAT(" + big + ", " + big + "), 9223372036854775807, 'é', 'é', 'é', 'é')"},
		{sql: "MASK(" + big + ")", ok: true},
		{sql: "UCASE(LPAD('', 30000, 'ɐ'))"}, // 60,000 bytes, 90,000 upper-cased
		{sql: "LCASE(LPAD('', 30000, 'ɐ'))", ok: true},
		{sql: "ENCODE(CONCAT(" + big + ", " + big + "), 'utf8', 'hex')"},
		{sql: "ENCODE(CONCAT(" + big + ", " + big + "), 'utf8', 'base64')"},
		{sql: "FROM_BYTES(TO_BYTES(CONCAT(" + big + ", " + big + "), 'utf8'), 'hex')"},
		{sql: "ENCODE(" + big + ", 'utf8', 'base64')", ok: true},
		{sql: "RUNNEL_CAST(TO_BYTES(CONCAT(" + big + ", " + big + "), 'utf8'), 'STRING')"},
		{sql: "ARRAY_JOIN(XX_SPLIT(REPLACE(LPAD('', 500, 'x'), 'x', 'x,'), ','), " + big + ")"},
		{sql: "ARRAY_CONCAT(XX_SPLIT(LPAD('', 500, 'x'), ''), XX_SPLIT(LPAD('', 500, 'x'), ''))"},
		{sql: "ARRAY_UNION(XX_SPLIT(LPAD('', 500, 'x'), ''), XX_SPLIT(LPAD('', 500, 'x'), ''))", ok: true},
		{sql: "MAP_UNION(RUNNEL_MAP('a', " + big + "), RUNNEL_MAP('c', " + big + ", 'd', " + big + "))"},
		{sql: "MAP_UNION(RUNNEL_MAP('a', " + big + "), RUNNEL_MAP('a', " + big + "))", ok: true},
		{sql: "RUNNEL_ARRAY(" + big + ", " + big + ", " + big + ", " + big + ")"},
		{sql: "RUNNEL_MAP('a', " + big + ", 'b', " + big + ", 'c', " + big + ", 'd', " + big + ")"},
		{sql: "RUNNEL_STRUCT('A', " + big + ", 'B', " + big + ", 'C', " + big + ", 'D', " + big + ")"},
		{sql: "TO_JSON_STRING(RUNNEL_ARRAY(REPLACE(LPAD('', 15000, 'x'), 'x', CHR(1))))"},
		{sql: "TO_JSON_STRING(RUNNEL_ARRAY('a\"b', 'c'))", ok: true},
		{sql: "FORMAT_TIMESTAMP(TS, LPAD('', 10000, 'VV'''''), 'America/Argentina/ComodRivadavia')"},
		{sql: "FORMAT_TIMESTAMP(TS, LPAD('', 30000, 'y'))", ok: true},
		{sql: "TIMESTAMPTOSTRING(0, LPAD('', 60000, 'S'))", ok: true},
		{sql: "RUNNEL_CAST(XX_SPLIT(LPAD('', 700, 'x'), ''), 'STRING')", ok: true},
		{sql: "RUNNEL_CAST(XX_SPLIT(LPAD('', 700, '1'), ''), 'ARRAY<DECIMAL(900, 800)>')"},
		{sql: "RUNNEL_CAST(RUNNEL_ARRAY(9223372036854775807, 9223372036854775807), 'ARRAY<STRING>')", ok: true},
		{sql: "REGEXP_REPLACE('abc', '" + strings.Repeat(".{1,1000}", 10) + "', 'y')"}, // 90 bytes that compile to megabytes
		{sql: "REGEXP_EXTRACT_ALL(LPAD('a', 65000, 'x,y,z'), '', 30000)"},
		{sql: "REGEXP_EXTRACT('" + strings.Repeat("a", 64) + "', 'x')", ok: true},
		{sql: "JSON_KEYS(CONCAT('{', REPLACE(LPAD('', 2000, 'x'), 'x', '\"k\":1,'), '\"z\":1}'))", ok: true},
	} {
		name := strings.ReplaceAll(tc.sql, strings.Repeat("x", 30_000), "x…")
		t.Run(name[:min(len(name), 80)], func(t *testing.T) {
			b := &Binder{MaxValueBytes: limit}
			e, err := bindSQL(t, b, tc.sql)
			if err != nil {
				t.Fatalf("bind: %.200v", err)
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			v, err := e.Eval(row)
			runtime.ReadMemStats(&m1)
			if tc.ok {
				if err != nil {
					t.Fatalf("under the limit: %.300v", err)
				}
				if v.Size() > limit {
					t.Fatalf("a value of %d bytes passed a limit of %d", v.Size(), limit)
				}
				return
			}
			if !errors.Is(err, ErrValueTooLarge) || sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
				t.Fatalf("want 54000, got %.300v (value of %d bytes)", err, v.Size())
			}
			// The arguments here are at most a few hundred KB; what was
			// refused never existed. (Not under the race detector, whose
			// sync.Pool keeps nothing: see race_test.go.)
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 16*limit && !raceEnabled {
				t.Errorf("allocated %d bytes to refuse it", alloc)
			}
		})
	}
}

// TestDefaultValueLimit: without MaxValueBytes the limit is 16 MiB, and
// the statement fails cleanly.
func TestDefaultValueLimit(t *testing.T) {
	e, err := bindSQL(t, &Binder{}, "LPAD('x', 2147483647, 'y')")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Eval(row); !errors.Is(err, ErrValueTooLarge) || !strings.Contains(err.Error(), "16777216") {
		t.Fatalf("LPAD to 2^31: %v", err)
	}
	e, err = bindSQL(t, &Binder{}, "LPAD('x', 1000000, 'y')")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.Eval(row); err != nil || len(v.Str()) != 1_000_000 {
		t.Fatalf("LPAD to 10^6: %d bytes, %v", len(v.Str()), err)
	}
}

// TestArgumentOverflow: arithmetic on arguments that overflows is 22003
// (or a clean result), never a panic or a wrapped-around answer.
func TestArgumentOverflow(t *testing.T) {
	for _, tc := range []struct {
		sql, want, code string
	}{
		{"RPAD('x', B * 9223372036854775807, 'y')", "", "22003"},
		{"SUBSTRING('abc', 2, 9223372036854775807)", "bc", ""},
		{"SUBSTRING('abc', -9223372036854775807, 2)", "ab", ""},
		{"SUBSTRING('abc', 9223372036854775807)", "", ""},
		{"INSTR('abc', 'c', 9223372036854775807)", "0", ""},
		{"INSTR('abc', 'c', -9223372036854775807)", "0", ""},
		{"RUNNEL_INDEX(A, -9223372036854775807 - 1)", "NULL", ""},
		{"RUNNEL_INDEX(A, -3)", "3", ""},
		{"XX_TIMESTAMPADD(MILLISECONDS, 9223372036854775807, TS)", "", "22003"},
		{"XX_TIMESTAMPADD(DAYS, 9223372036854775807, TS)", "", "22003"},
		{"XX_TIMESTAMPADD(YEARS, 9223372036854775807, TS)", "", "22003"},
		{"XX_TIMESTAMPSUB(MONTHS, 9223372036854775807, TS)", "", "22003"},
		{"DATEADD(DAYS, 1, FROM_DAYS(9223372036854775807))", "", "22003"},
		{"DATETOSTRING(9223372036854775807, 'yyyy')", "", "22003"},
		{"RUNNEL_CAST(FROM_DAYS(9223372036854775807), 'TIMESTAMP')", "", "22003"},
		{"RUNNEL_CAST('1e999999999', 'DECIMAL(10, 2)')", "", "22003"},
		{"RUNNEL_CAST('1e-999999999', 'DECIMAL(10, 2)')", "0.00", ""},
		{"RUNNEL_CAST('0e999999999', 'DECIMAL(10, 2)')", "0.00", ""},
		{"RUNNEL_CAST(CONCAT('0.', LPAD('', 100000, '0'), '5'), 'DECIMAL(4, 2)')", "0.00", ""},
		{"RUNNEL_CAST(CONCAT('1', LPAD('', 100000, '0')), 'DECIMAL(4, 2)')", "", "22003"},
		{"RUNNEL_CAST(CONCAT('12.34', LPAD('', 100000, '9')), 'DECIMAL(4, 2)')", "12.35", ""},
	} {
		e, err := bindSQL(t, &Binder{}, tc.sql)
		if err != nil {
			t.Errorf("%s: bind: %v", tc.sql, err)
			continue
		}
		v, err := e.Eval(row)
		if tc.code != "" {
			if SQLState(err) != tc.code {
				t.Errorf("%s: got %s, %v; want %s", tc.sql, types.Format(v, e.Type()), err, tc.code)
			}
			continue
		}
		got := "NULL"
		if !v.IsNull() {
			got = types.Format(v, e.Type())
		}
		if err != nil || got != tc.want {
			t.Errorf("%s = %s, %v; want %s", tc.sql, got, err, tc.want)
		}
	}
}

// TestDecimalPrecisionLimit: DECIMAL arithmetic whose type would pass
// maxDecimalPrecision digits is refused when bound.
func TestDecimalPrecisionLimit(t *testing.T) {
	x := "RUNNEL_CAST(1, 'DECIMAL(1000, 0)')"
	sql := x
	for range 4 {
		sql = "(" + sql + ") * (" + sql + ")"
	}
	_, err := bindSQL(t, &Binder{}, sql)
	if !errors.Is(err, ErrValueTooLarge) || len(err.Error()) > 400 {
		t.Fatalf("16 DECIMAL(1000) factors: %v", err)
	}
	if _, err := bindSQL(t, &Binder{}, x+" * "+x); err != nil {
		t.Fatalf("two factors: %v", err)
	}
}

func TestSizeArithmeticSaturates(t *testing.T) {
	if sizeMul(math.MaxInt64/2, 3) != math.MaxInt64 || sizeAdd(math.MaxInt64, 1) != math.MaxInt64 || sizeMul(-1, 2) != math.MaxInt64 {
		t.Fatal("size arithmetic wrapped around")
	}
	if sizeMul(3, 4) != 12 || sizeAdd(3, 4) != 7 {
		t.Fatal("size arithmetic is wrong")
	}
}
