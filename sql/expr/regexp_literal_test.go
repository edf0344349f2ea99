package expr

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
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

// TestLeadBefore: how many bytes a match can hold before its required
// literal, where that is bounded.
func TestLeadBefore(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		lead    int
		ok      bool
	}{
		{`(&|^)channel_id=([^&]*)`, 1, true},
		{`channel_id=(\d+)`, 0, true},
		{`abc`, 0, true},
		{`(abc)`, 0, true},
		{`a.b`, 0, true},     // need is "a", first
		{`.bcd`, 4, true},    // a character is up to 4 bytes
		{`x?yz{2}`, 1, true}, // need "y" after x?
		{`\bfoo=(.*)`, 0, true},
		{`(?m)^ab`, 0, true},
		{`.{0,3}abc`, 12, true},
		{`.*abc`, 0, false},
		{`a+bcd`, 0, false},
		{`x(yz)+w`, 0, false}, // need inside a repetition
		{`foo|bar`, 0, false},
		{`(?i)abc`, 0, false},
	} {
		tree, err := syntax.Parse(tc.pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		lead, ok := leadBefore(tree, requiredLiteral(tree))
		if ok != tc.ok || (ok && lead != tc.lead) {
			t.Errorf("leadBefore(%q) = %d, %v; want %d, %v", tc.pattern, lead, ok, tc.lead, tc.ok)
		}
	}
}

// TestFindSubmatchIndexAgrees: the match found from just before the
// required literal is Go's match over the whole text, groups and all,
// over random texts with anchors, word boundaries, multi-byte and
// invalid UTF-8 around the literal.
func TestFindSubmatchIndexAgrees(t *testing.T) {
	patterns := []string{
		`(&|^)channel_id=([^&]*)`, `(?m)(^|&)id=(\w*)`, `\bid=(\d*)`, `\Bid=`, `.id=(.)`, `(..)?id=`,
		`(a|bb|^)id=(.*)$`, `.{0,3}id=`, `(?s).id=`, `é?id=(\d)`, `(\x{FFFD}|x)id=`, `(^|\b)id=`, `^id=`, `id=`,
	}
	alphabet := []string{"a", "b", "x", "&", "=", "1", "2", " ", "\n", "id=", "id", "é", "\xff", "\xe9", "\uFFFD", "€", "channel_id=", "?"}
	r := rand.New(rand.NewPCG(11, 13))
	for _, p := range patterns {
		tree, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		re := &compiledRegexp{Regexp: regexp.MustCompile(p), need: requiredLiteral(tree)}
		re.lead, re.bounded = leadBefore(tree, re.need)
		if !re.bounded {
			t.Fatalf("%q: no bounded lead, so nothing is tested", p)
		}
		for range 20000 {
			var b strings.Builder
			for range r.IntN(16) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			s := b.String()
			if got, want := re.findSubmatchIndex(s), re.FindStringSubmatchIndex(s); !slices.Equal(got, want) {
				t.Fatalf("%q over %q: %v, Go's matcher %v", p, s, got, want)
			}
		}
	}
}

// BenchmarkRegexpExtract is q21's REGEXP_EXTRACT over a bid's URL with
// a channel_id, and over one without.
func BenchmarkRegexpExtract(b *testing.B) {
	c := &evalCtx{maxBytes: 1 << 20}
	for _, url := range []string{
		"https://www.nexmark.com/kfc/xqyo/lbmn/item.htm?query=1&channel_id=1207959552",
		"https://www.nexmark.com/kfc/xqyo/lbmn/item.htm?query=1",
	} {
		b.Run(fmt.Sprint(len(url)), func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuPerOp(b)
			for b.Loop() {
				if _, err := regexpExtract(c, `(&|^)channel_id=([^&]*)`, url, 2); err != nil {
					b.Fatal(err)
				}
			}
			cpu()
		})
	}
}
