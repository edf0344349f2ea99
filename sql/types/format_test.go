package types

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestText runs testdata/text: the one Java-double formatter, the one
// decimal formatter and the one type-name parser, a case a line.
//
//	double     a float64 in Go syntax a line -> its Java Double.toString
//	decimal    "unscaled scale" a line -> BigDecimal.toPlainString
//	type       a type name a line -> its canonical form, or the error at
//	           its byte offset (pg: with PostgreSQL's names allowed)
//
// Regenerate with -rewrite.
func TestText(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var out strings.Builder
			for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
				line = strings.TrimSpace(line)
				if line == "" {
					continue
				}
				fmt.Fprintf(&out, "%s -> %s\n", line, textCase(t, d, line))
			}
			return out.String()
		})
	})
}

func textCase(t *testing.T, d *datadriven.TestData, line string) string {
	switch d.Cmd {
	case "double":
		f, err := strconv.ParseFloat(line, 64)
		if err != nil {
			d.Fatalf(t, "bad float %q: %v", line, err)
		}
		s := FormatDouble(f)
		if string(AppendDouble([]byte("x"), f)) != "x"+s {
			d.Fatalf(t, "AppendDouble and FormatDouble disagree on %v", f)
		}
		// The text reads back to the same double.
		if back, err := strconv.ParseFloat(strings.NewReplacer("Infinity", "Inf").Replace(s), 64); err != nil ||
			(back != f && !math.IsNaN(f)) || math.Signbit(back) != math.Signbit(f) {
			d.Fatalf(t, "%s reads back as %v, %v; want %v", s, back, err, f)
		}
		return s
	case "decimal":
		var un string
		var scale int32
		if _, err := fmt.Sscanf(line, "%s %d", &un, &scale); err != nil {
			d.Fatalf(t, "bad decimal case %q: %v", line, err)
		}
		u, ok := new(big.Int).SetString(un, 10)
		if !ok {
			d.Fatalf(t, "bad unscaled value %q", un)
		}
		s := FormatDecimal(u, scale)
		if string(AppendDecimal([]byte("x"), u, scale)) != "x"+s {
			d.Fatalf(t, "AppendDecimal and FormatDecimal disagree on %s", line)
		}
		return s
	case "type":
		opts := ParseOptions{Postgres: d.HasArg("pg")}
		typ, n, err := ParsePrefix(line, opts)
		if err == nil && !opts.Postgres {
			typ, err = Parse(line)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrTypeSyntax) {
				d.Fatalf(t, "error %v is not a *ParseError", err)
			}
			return fmt.Sprintf("error at %d: %s", pe.Offset, pe.Msg)
		}
		if opts.Postgres && n < len(strings.TrimRight(line, " ")) {
			return fmt.Sprintf("%s, then %q", typ, line[n:])
		}
		// What String renders, Parse reads back.
		again, err := Parse(typ.String())
		if err != nil || !again.Equal(typ) {
			d.Fatalf(t, "%s does not read back: %v, %v", typ, again, err)
		}
		return typ.String()
	}
	d.Fatalf(t, "unknown command %s", d.Cmd)
	return ""
}
