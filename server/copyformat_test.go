package server

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

func TestCopyFormatValidate(t *testing.T) {
	null := func(s string) CopyFormat { return CopyFormat{NullSet: true, Null: s} }
	for _, tc := range []struct {
		name string
		f    CopyFormat
		from bool
		code sqlstate.Code // "" when valid
	}{
		{"text", CopyFormat{}, false, ""},
		{"csv", CopyFormat{Format: "CSV", Header: true, Delimiter: ";", Quote: "'", Escape: `\`}, true, ""},
		{"binary", CopyFormat{Format: "binary"}, true, ""},
		{"unknown format", CopyFormat{Format: "xml"}, false, sqlstate.InvalidParameter},
		{"binary with a delimiter", CopyFormat{Format: "binary", Delimiter: ","}, false, sqlstate.Syntax},
		{"binary with a header", CopyFormat{Format: "binary", Header: true}, false, sqlstate.Syntax},
		{"quote in text", CopyFormat{Quote: "'"}, false, sqlstate.FeatureNotSupported},
		{"long delimiter", CopyFormat{Delimiter: "ab"}, false, sqlstate.InvalidParameter},
		{"newline delimiter", CopyFormat{Delimiter: "\n"}, false, sqlstate.InvalidParameter},
		{"backslash delimiter in text", CopyFormat{Delimiter: `\`}, false, sqlstate.InvalidParameter},
		{"letter delimiter in text", CopyFormat{Delimiter: "a"}, false, sqlstate.InvalidParameter},
		{"delimiter equals quote", CopyFormat{Format: "csv", Delimiter: `"`}, false, sqlstate.InvalidParameter},
		{"delimiter in null", null("a,b"), false, ""},
		{"tab in text null", null("a\tb"), false, sqlstate.InvalidParameter},
		{"newline in null", null("\n"), false, sqlstate.InvalidParameter},
		{"match on copy to", CopyFormat{Format: "csv", HeaderMatch: true}, false, sqlstate.FeatureNotSupported},
		{"match on copy from", CopyFormat{Format: "csv", HeaderMatch: true}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate(tc.from)
			if got := sqlstate.Of(err); got != tc.code {
				t.Errorf("Validate: %v (%s), want %q", err, got, tc.code)
			}
		})
	}
}

var copyTestCols = []types.Column{
	{Name: "id", Type: types.Bigint}, {Name: "name", Type: types.String}, {Name: "price", Type: types.Decimal(10, 2)},
}

var copyTestRows = []types.Row{
	{types.NewBigint(1), types.NewString("plain"), types.NewDecimal(big.NewInt(150), 2)},
	{types.NewBigint(-2), types.NewString("tab\there, comma \"quoted\"\nnewline\\back"), types.NullValue},
	{types.NewBigint(3), types.NewString(""), types.NewDecimal(big.NewInt(-5), 2)},
	{types.NullValue, types.NewString(`\N`), types.NewDecimal(big.NewInt(0), 2)},
	{types.NewBigint(5), types.NewString(`\.`), types.NullValue},
}

// TestCopyFormatsWrite: rows written as PostgreSQL writes them.
func TestCopyFormatsWrite(t *testing.T) {
	for _, tc := range []struct {
		f    CopyFormat
		want string
	}{
		{CopyFormat{}, "1\tplain\t1.50\n" +
			"-2\ttab\\there, comma \"quoted\"\\nnewline\\\\back\t\\N\n" +
			"3\t\t-0.05\n" +
			"\\N\t\\\\N\t0.00\n" +
			"5\t\\\\.\t\\N\n"},
		{CopyFormat{Format: "csv", Header: true}, "id,name,price\n" +
			"1,plain,1.50\n" +
			"-2,\"tab\there, comma \"\"quoted\"\"\nnewline\\back\",\n" +
			"3,\"\",-0.05\n" +
			",\\N,0.00\n" +
			"5,\\.,\n"},
		{CopyFormat{Format: "csv", Delimiter: "|", NullSet: true, Null: "NULL", Escape: `\`}, "1|plain|1.50\n" +
			"-2|\"tab\there, comma \\\"quoted\\\"\nnewline\\\\back\"|NULL\n" +
			"3||-0.05\n" +
			"NULL|\\N|0.00\n" +
			"5|\\.|NULL\n"},
	} {
		t.Run(tc.f.Format, func(t *testing.T) {
			if err := tc.f.Validate(false); err != nil {
				t.Fatal(err)
			}
			got := tc.f.appendStart(nil, copyTestCols)
			var tmp []byte
			for _, r := range copyTestRows {
				var err error
				if got, tmp, err = tc.f.appendRow(got, tmp, copyTestCols, r); err != nil {
					t.Fatal(err)
				}
			}
			if string(got) != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// decodeAll feeds data to a decoder in pieces of size step (all at once
// when step is 0) and returns the rows, rendered, or the error.
func decodeAll(t *testing.T, f CopyFormat, cols []types.Column, data []byte, step int) ([]string, error) {
	t.Helper()
	if err := f.Validate(true); err != nil {
		t.Fatal(err)
	}
	var rows []string
	d := newCopyDecoder(&CopyIn{Format: f, Columns: cols, Target: "t"}, 1<<10, func(r types.Row) error {
		parts := make([]string, len(r))
		for i, v := range r {
			if v.IsNull() {
				parts[i] = "NULL"
				continue
			}
			b, err := AppendText(nil, cols[i].Type, v)
			if err != nil {
				return err
			}
			parts[i] = fmt.Sprintf("%q", b)
		}
		rows = append(rows, strings.Join(parts, " "))
		return nil
	})
	if step <= 0 {
		step = len(data) + 1
	}
	for len(data) > 0 {
		n := min(step, len(data))
		if err := d.feed(data[:n]); err != nil {
			return rows, err
		}
		data = data[n:]
	}
	return rows, d.finish()
}

// TestCopyFormatsRoundTrip: what COPY TO writes, COPY FROM reads back,
// however the data is cut into messages.
func TestCopyFormatsRoundTrip(t *testing.T) {
	for _, f := range []CopyFormat{
		{}, {Format: "csv", Header: true}, {Format: "csv", Quote: "'", Escape: `\`, Delimiter: ";"},
		{Format: "text", Delimiter: ","}, {Format: "binary"},
	} {
		for _, step := range []int{0, 1, 3, 17} {
			t.Run(fmt.Sprintf("%s/%d", f.Format, step), func(t *testing.T) {
				out := f
				if err := out.Validate(false); err != nil {
					t.Fatal(err)
				}
				data := out.appendStart(nil, copyTestCols)
				var want []string
				for _, r := range copyTestRows {
					var err error
					if data, _, err = out.appendRow(data, nil, copyTestCols, r); err != nil {
						t.Fatal(err)
					}
					parts := make([]string, len(r))
					for i, v := range r {
						if v.IsNull() {
							parts[i] = "NULL"
							continue
						}
						b, _ := AppendText(nil, copyTestCols[i].Type, v)
						parts[i] = fmt.Sprintf("%q", b)
					}
					want = append(want, strings.Join(parts, " "))
				}
				data = out.appendEnd(data)
				got, err := decodeAll(t, f, copyTestCols, data, step)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}

// TestCopyDecodeForms: what clients send that COPY TO never writes: CRLF
// line ends, a last line without a newline, the end marker, octal and hex
// escapes, CSV fields quoted in the middle.
func TestCopyDecodeForms(t *testing.T) {
	two := []types.Column{{Name: "a", Type: types.String}, {Name: "b", Type: types.Bigint}}
	for _, tc := range []struct {
		name string
		f    CopyFormat
		data string
		want []string
	}{
		{"crlf", CopyFormat{}, "x\t1\r\ny\t2\r\n", []string{`"x" "1"`, `"y" "2"`}},
		{"no final newline", CopyFormat{}, "x\t1\ny\t2", []string{`"x" "1"`, `"y" "2"`}},
		{"end marker", CopyFormat{}, "x\t1\n\\.\ny\t2\n", []string{`"x" "1"`}},
		{"escapes", CopyFormat{}, "\\101\\x42\\q\\\t\t7\n", []string{`"ABq\t" "7"`}},
		{"escaped delimiter", CopyFormat{Delimiter: ","}, "a\\,b,3\n", []string{`"a,b" "3"`}},
		{"empty null", CopyFormat{NullSet: true, Null: ""}, "\t1\n", []string{`NULL "1"`}},
		{"csv quoted null", CopyFormat{Format: "csv"}, "\"\",1\n,2\n", []string{`"" "1"`, `NULL "2"`}},
		{"csv half quoted", CopyFormat{Format: "csv"}, "ab\"c,d\"e,3\n", []string{`"abc,de" "3"`}},
		{"csv newline in quotes", CopyFormat{Format: "csv"}, "\"two\r\nlines\",4\r\n", []string{`"two\r\nlines" "4"`}},
		{"csv header", CopyFormat{Format: "csv", Header: true}, "whatever,names\nx,5\n", []string{`"x" "5"`}},
		{"csv header match", CopyFormat{Format: "csv", HeaderMatch: true}, "a,b\nx,5\n", []string{`"x" "5"`}},
		{"csv end marker", CopyFormat{Format: "csv"}, "x,1\n\\.\n", []string{`"x" "1"`}},
	} {
		for _, step := range []int{0, 1, 2} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, step), func(t *testing.T) {
				got, err := decodeAll(t, tc.f, two, []byte(tc.data), step)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
	}
}

// TestCopyDecodeErrors: each error has its SQLSTATE and PostgreSQL's
// CONTEXT line.
func TestCopyDecodeErrors(t *testing.T) {
	two := []types.Column{{Name: "a", Type: types.String}, {Name: "b", Type: types.Bigint}}
	long := strings.Repeat("x", 2000)
	for _, tc := range []struct {
		name  string
		f     CopyFormat
		data  string
		code  sqlstate.Code
		where string
	}{
		{"bad value", CopyFormat{}, "x\t1\ny\tabc\n", sqlstate.InvalidText, `COPY t, line 2, column b: "abc"`},
		{"out of range", CopyFormat{}, "x\t99999999999999999999\n", sqlstate.NumericOutOfRange, `COPY t, line 1, column b: "99999999999999999999"`},
		{"missing column", CopyFormat{}, "x\n", sqlstate.BadCopyFileFormat, `COPY t, line 1: "x"`},
		{"extra column", CopyFormat{}, "x\t1\t2\n", sqlstate.BadCopyFileFormat, `COPY t, line 1: "x\t1\t2"`},
		{"unterminated quote", CopyFormat{Format: "csv"}, "\"x,1\n", sqlstate.BadCopyFileFormat, `COPY t, line 1: "\"x,1\n"`},
		{"header mismatch", CopyFormat{Format: "csv", HeaderMatch: true}, "a,c\n", sqlstate.BadCopyFileFormat, `COPY t, line 1: "a,c"`},
		{"line too long", CopyFormat{}, long + "\t1\n", sqlstate.ProgramLimitExceeded, ""},
		{"binary signature", CopyFormat{Format: "binary"}, "PGCOPY\nxx", sqlstate.BadCopyFileFormat, "COPY t, line 0"},
		{"binary truncated", CopyFormat{Format: "binary"}, binarySignature + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02", sqlstate.BadCopyFileFormat, ""},
		{"binary field count", CopyFormat{Format: "binary"}, binarySignature + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03", sqlstate.BadCopyFileFormat, "COPY t, line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll(t, tc.f, two, []byte(tc.data), 0)
			if got := sqlstate.Code(ErrorResponse(err).Code); err == nil || got != tc.code {
				t.Fatalf("error %v (%s), want %s", err, got, tc.code)
			}
			var ce *copyError
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not located", err)
			}
			if tc.where != "" && !strings.HasPrefix(ce.Where(), tc.where) {
				t.Errorf("Where = %q, want %q", ce.Where(), tc.where)
			}
			if resp := ErrorResponse(err); resp.Where != ce.Where() || resp.Code != string(tc.code) {
				t.Errorf("ErrorResponse: %+v", resp)
			}
		})
	}
}
