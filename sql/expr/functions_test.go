package expr

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

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
	if sigs != "SUBSTRING(STRING, INT) -> STRING; SUBSTRING(STRING, INT, INT) -> STRING; SUBSTRING(BYTES, INT) -> BYTES; SUBSTRING(BYTES, INT, INT) -> BYTES" {
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
