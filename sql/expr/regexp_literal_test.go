package expr

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

// TestRequiredLiteral: the literal a pattern's every match contains, or
// none where a match may lack it.
func TestRequiredLiteral(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{`(&|^)channel_id=([^&]*)`, "channel_id="},
		{`abc`, "abc"},
		{`a.b`, "a"},
		{`x(yz)+w`, "yz"},
		{`(foo){2,3}`, "foo"},
		{`(foo){0,3}bar`, "bar"},
		{`(foo)*`, ""},
		{`foo|bar`, ""},
		{`(?i)channel`, ""},
		{`a?`, ""},
		{`[abc]+`, ""},
		{"\uFFFDab", ""},
		{`^$`, ""},
	} {
		tree, err := syntax.Parse(tc.pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := requiredLiteral(tree); got != tc.want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// TestCannotMatchNeverWrong: over random strings, a pattern the prefilter
// says cannot match never matches, for every pattern above and more.
func TestCannotMatchNeverWrong(t *testing.T) {
	patterns := []string{`(&|^)channel_id=([^&]*)`, `a.b`, `x(yz)+w`, `(foo){2,3}`, `(foo){0,3}bar`, `ab|cd`, `(?i)ab`, `b+a`, "\uFFFDa", `a\x{FFFD}`}
	alphabet := []string{"a", "b", "x", "y", "z", "w", "f", "o", "r", "&", "=", "channel_id", "\xff", "\uFFFD", "A", "B"}
	r := rand.New(rand.NewPCG(7, 9))
	for _, p := range patterns {
		tree, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		re := &compiledRegexp{Regexp: regexp.MustCompile(p), need: requiredLiteral(tree)}
		for range 20000 {
			var b strings.Builder
			for range r.IntN(12) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			s := b.String()
			if re.cannotMatch(s) && re.MatchString(s) {
				t.Fatalf("%q: the prefilter (needs %q) refused %q, which matches", p, re.need, s)
			}
		}
	}
}
