package expr

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

func str(s string) types.Value { return types.NewString(s) }

func intV(i int) types.Value { return types.NewInt(int32(i)) }

var null = types.Value{}

func init() {
	register(
		fn("LCASE", "STRING", "Converts a string to lower case.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				return mapCase(c, "LCASE", a[0].Str(), unicode.ToLower, strings.ToLower)
			}, pString)),
		fn("UCASE", "STRING", "Converts a string to upper case.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				return mapCase(c, "UCASE", a[0].Str(), unicode.ToUpper, strings.ToUpper)
			}, pString)),
		fn("LEN", "STRING", "The length of a string in characters, or of BYTES in bytes.",
			ov(types.Int, func(a []types.Value) (types.Value, error) { return intV(utf8.RuneCountInString(a[0].Str())), nil }, pString),
			ov(types.Int, func(a []types.Value) (types.Value, error) { return intV(len(a[0].Str())), nil }, pBytes)),
		&Function{Name: "CONCAT", Category: "STRING", nullCall: true,
			Description: "Concatenates strings, or BYTES; NULL arguments are skipped. `a || b` is the same.",
			overloads: []overload{
				ovVarL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return concat(c, a, str) }, pString),
				ovVarL(types.Bytes, func(c *evalCtx, a []types.Value) (types.Value, error) { return concat(c, a, types.NewBytesString) }, pBytes),
			}},
		&Function{Name: "CONCAT_WS", Category: "STRING", nullCall: true,
			Description: "Concatenates strings, or BYTES, with a separator between them; NULL arguments are skipped; a NULL separator gives NULL.",
			overloads: []overload{
				ovVarL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return concatWS(c, a, str) }, pString, pString),
				ovVarL(types.Bytes, func(c *evalCtx, a []types.Value) (types.Value, error) {
					return concatWS(c, a, types.NewBytesString)
				}, pBytes, pBytes),
			}},
		fn("TRIM", "STRING", "Removes leading and trailing whitespace.",
			ov(types.String, func(a []types.Value) (types.Value, error) { return str(strings.TrimSpace(a[0].Str())), nil }, pString)),
		fn("LTRIM", "STRING", "Removes leading whitespace.",
			ov(types.String, func(a []types.Value) (types.Value, error) {
				return str(strings.TrimLeftFunc(a[0].Str(), unicode.IsSpace)), nil
			}, pString)),
		fn("RTRIM", "STRING", "Removes trailing whitespace.",
			ov(types.String, func(a []types.Value) (types.Value, error) {
				return str(strings.TrimRightFunc(a[0].Str(), unicode.IsSpace)), nil
			}, pString)),
		fn("SUBSTRING", "STRING", "The substring (or the BYTES) from a 1-based position (negative counts from the end), optionally of a given length.",
			ov(types.String, func(a []types.Value) (types.Value, error) { return str(substring(a[0].Str(), a[1].Int(), -1)), nil }, pString, pIntegral),
			ov(types.String, func(a []types.Value) (types.Value, error) {
				if a[2].Int() < 0 {
					return str(""), nil
				}
				return str(substring(a[0].Str(), a[1].Int(), a[2].Int())), nil
			}, pString, pIntegral, pIntegral),
			ov(types.Bytes, func(a []types.Value) (types.Value, error) {
				return types.NewBytesString(subBytes(a[0].Str(), a[1].Int(), -1)), nil
			}, pBytes, pIntegral),
			ov(types.Bytes, func(a []types.Value) (types.Value, error) {
				if a[2].Int() < 0 {
					return types.NewBytesString(""), nil
				}
				return types.NewBytesString(subBytes(a[0].Str(), a[1].Int(), a[2].Int())), nil
			}, pBytes, pIntegral, pIntegral)),
		fn("REPLACE", "STRING", "Replaces every occurrence of a substring.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				s, old, repl := a[0].Str(), a[1].Str(), a[2].Str()
				// Size the result before building it: REPLACE(s, '', x)
				// inserts x between every two characters.
				var k int64
				if old == "" {
					k = int64(utf8.RuneCountInString(s)) + 1
				} else {
					k = int64(strings.Count(s, old))
				}
				n := sizeAdd(int64(len(s))-k*int64(len(old)), sizeMul(k, int64(len(repl))))
				if err := c.checkString("REPLACE", n); err != nil {
					return null, err
				}
				return str(strings.ReplaceAll(s, old, repl)), nil
			}, pString, pString, pString)),
		fn("INSTR", "STRING", "The 1-based position of a substring (0 when absent), from an optional position (negative searches backwards from the end) and for an optional occurrence.",
			ov(types.Int, func(a []types.Value) (types.Value, error) { return intV(instr(a[0].Str(), a[1].Str(), 1, 1)), nil }, pString, pString),
			ov(types.Int, func(a []types.Value) (types.Value, error) {
				return intV(instr(a[0].Str(), a[1].Str(), a[2].Int(), 1)), nil
			}, pString, pString, pIntegral),
			ov(types.Int, func(a []types.Value) (types.Value, error) {
				return intV(instr(a[0].Str(), a[1].Str(), a[2].Int(), a[3].Int())), nil
			}, pString, pString, pIntegral, pIntegral)),
		&Function{Name: "LPAD", Category: "STRING", nullCall: true,
			Description: "Pads a string (or BYTES) on the left to a length, truncating longer input; an empty or NULL padding or a negative length gives NULL.",
			overloads: []overload{
				ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return pad(c, a, true, false) }, pString, pIntegral, pString),
				ovL(types.Bytes, func(c *evalCtx, a []types.Value) (types.Value, error) { return pad(c, a, true, true) }, pBytes, pIntegral, pBytes),
			}},
		&Function{Name: "RPAD", Category: "STRING", nullCall: true,
			Description: "Pads a string (or BYTES) on the right to a length, truncating longer input; an empty or NULL padding or a negative length gives NULL.",
			overloads: []overload{
				ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return pad(c, a, false, false) }, pString, pIntegral, pString),
				ovL(types.Bytes, func(c *evalCtx, a []types.Value) (types.Value, error) { return pad(c, a, false, true) }, pBytes, pIntegral, pBytes),
			}},
		fn("SPLIT", "STRING", "Splits a string (or BYTES) at a delimiter into an ARRAY; an empty delimiter splits into characters (or bytes).",
			ovL(types.Array(types.String), func(c *evalCtx, a []types.Value) (types.Value, error) { return split(c, a, str, false) }, pString, pString),
			ovL(types.Array(types.Bytes), func(c *evalCtx, a []types.Value) (types.Value, error) {
				return split(c, a, types.NewBytesString, true)
			}, pBytes, pBytes)),
		fn("SPLIT_TO_MAP", "STRING", "Splits 'k1=v1;k2=v2' into a MAP given the entry and key-value delimiters; entries without the key-value delimiter are dropped.",
			ovL(types.Map(types.String, types.String), func(c *evalCtx, a []types.Value) (types.Value, error) {
				s, entrySep, kvSep := a[0].Str(), a[1].Str(), a[2].Str()
				if entrySep == "" || kvSep == "" {
					return null, nil
				}
				// At most two Values per entry, sharing s's bytes.
				if err := c.checkElems("SPLIT_TO_MAP", sizeMul(2, int64(strings.Count(s, entrySep))+1), int64(len(s))); err != nil {
					return null, err
				}
				var ks, vs []types.Value
				index := map[string]int{} // a later duplicate key wins, in linear time
				for e := range strings.SplitSeq(s, entrySep) {
					k, v, ok := strings.Cut(e, kvSep)
					if !ok {
						continue
					}
					if j, dup := index[k]; dup {
						vs[j] = str(v)
						continue
					}
					index[k] = len(ks)
					ks, vs = append(ks, str(k)), append(vs, str(v))
				}
				return types.NewMap(ks, vs), nil
			}, pString, pString, pString)),
		fn("INITCAP", "STRING", "Capitalizes the first letter of each word and lower-cases the rest.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return initcap(c, a[0].Str()) }, pString)),
		fn("REGEXP_EXTRACT", "REGULAR EXPRESSION", "The first match of a regular expression in a string (or of a capturing group); NULL when nothing matches. Arguments: (regex, string[, group]).",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				return regexpExtract(c, a[0].Str(), a[1].Str(), 0)
			}, pString, pString),
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				return regexpExtract(c, a[0].Str(), a[1].Str(), a[2].Int())
			}, pString, pString, pIntegral)),
		fn("REGEXP_EXTRACT_ALL", "REGULAR EXPRESSION", "Every match of a regular expression (or of a capturing group) as an ARRAY. Arguments: (regex, string[, group]).",
			ovL(types.Array(types.String), func(c *evalCtx, a []types.Value) (types.Value, error) {
				return regexpExtractAll(c, a[0].Str(), a[1].Str(), 0)
			}, pString, pString),
			ovL(types.Array(types.String), func(c *evalCtx, a []types.Value) (types.Value, error) {
				return regexpExtractAll(c, a[0].Str(), a[1].Str(), a[2].Int())
			}, pString, pString, pIntegral)),
		fn("REGEXP_REPLACE", "REGULAR EXPRESSION", "Replaces every match of a regular expression; $1 in the replacement is a group. Arguments: (string, regex, replacement).",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				return regexpReplace(c, a[0].Str(), a[1].Str(), a[2].Str())
			}, pString, pString, pString)),
		fn("REGEXP_SPLIT_TO_ARRAY", "REGULAR EXPRESSION", "Splits a string at every match of a regular expression.",
			ovL(types.Array(types.String), func(c *evalCtx, a []types.Value) (types.Value, error) {
				re, err := compileRegexp(c, a[1].Str())
				if err != nil {
					return null, err
				}
				// Ask for at most one piece more than the limit allows,
				// so the matches' bookkeeping stays under it too.
				maxParts := c.maxBytes / (valueOverhead + matchOverhead(0))
				parts := re.Split(a[0].Str(), int(min(maxParts+1, math.MaxInt32)))
				if int64(len(parts)) > maxParts {
					return null, c.tooLarge("REGEXP_SPLIT_TO_ARRAY", math.MaxInt64)
				}
				out := make([]types.Value, len(parts))
				for i, p := range parts {
					out[i] = str(p)
				}
				return types.NewArray(out), nil
			}, pString, pString)),
		maskFn("MASK", "Masks every character: upper-case to X, lower-case to x, digits to n, others to - (the four replacements may be given; NULL leaves that class unmasked).", maskAll),
		maskFn("MASK_KEEP_LEFT", "Masks all but the first n characters, as MASK does.", maskKeepLeft),
		maskFn("MASK_KEEP_RIGHT", "Masks all but the last n characters, as MASK does.", maskKeepRight),
		maskFn("MASK_LEFT", "Masks the first n characters, as MASK does.", maskLeft),
		maskFn("MASK_RIGHT", "Masks the last n characters, as MASK does.", maskRight),
		fn("CHR", "STRING", "The character with a Unicode code point, given as a number or as a '\\uXXXX' string.",
			ov(types.String, func(a []types.Value) (types.Value, error) {
				cp := a[0].Int()
				if cp < 0 || cp > unicode.MaxRune {
					return null, nil
				}
				return str(string(rune(cp))), nil
			}, pIntegral),
			ov(types.String, func(a []types.Value) (types.Value, error) {
				s := a[0].Str()
				if !strings.HasPrefix(s, `\u`) && !strings.HasPrefix(s, `\U`) {
					return null, nil
				}
				cp, err := strconv.ParseUint(s[2:], 16, 32)
				if err != nil || cp > unicode.MaxRune {
					return null, nil
				}
				return str(string(rune(cp))), nil
			}, pString)),
		fn("ENCODE", "STRING", "Re-encodes a string from one encoding to another: hex, utf8, ascii or base64.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				return encode(c, a[0].Str(), a[1].Str(), a[2].Str())
			}, pString, pString, pString)),
		fn("TO_BYTES", "STRING", "Converts a string to BYTES with an encoding: hex, utf8, ascii or base64.",
			ov(types.Bytes, func(a []types.Value) (types.Value, error) {
				raw, err := decodeText(a[0].Str(), a[1].Str())
				if err != nil {
					return null, err
				}
				return types.NewBytes(raw), nil
			}, pString, pString)),
		fn("FROM_BYTES", "STRING", "Converts BYTES to a string with an encoding: hex, utf8, ascii or base64.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				s, err := encodeText(c, "FROM_BYTES", a[0].Str(), a[1].Str())
				return str(s), err
			}, pBytes, pString)),
	)
}

// substring is ksqlDB's SUBSTRING on characters: pos is 1-based,
// negative pos counts from the end; n < 0 means to the end. It returns a
// slice of s (no copy) and never converts s to runes: s may be large.
func substring(s string, pos, n int64) string {
	l := int64(utf8.RuneCountInString(s))
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = max(l+pos, 0) // pos >= -2^63, l >= 0: no overflow
	}
	if start >= l {
		return ""
	}
	end := l
	if n >= 0 && n < l-start {
		end = start + n
	}
	from, to := runeOffset(s, 0, start), 0
	to = runeOffset(s, from, end-start)
	return s[from:to]
}

// runeOffset returns the byte offset in s of the character k characters
// after byte offset from (len(s) past the end).
func runeOffset(s string, from int, k int64) int {
	i := from
	for ; k > 0 && i < len(s); k-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func instr(s, sub string, pos, occ int64) int {
	r, sr := []rune(s), []rune(sub)
	if occ <= 0 || pos == 0 {
		return 0
	}
	matchAt := func(i int) bool {
		if i < 0 || i+len(sr) > len(r) {
			return false
		}
		for j := range sr {
			if r[i+j] != sr[j] {
				return false
			}
		}
		return true
	}
	if pos > 0 {
		if pos-1 > int64(len(r)) { // and i+len(sr) below cannot overflow
			return 0
		}
		for i := int(pos - 1); i+len(sr) <= len(r); i++ {
			if matchAt(i) {
				if occ--; occ == 0 {
					return i + 1
				}
			}
		}
		return 0
	}
	if -pos > int64(len(r)) {
		return 0
	}
	for i := len(r) + int(pos); i >= 0; i-- {
		if matchAt(i) {
			if occ--; occ == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// pad is LPAD and RPAD: s padded with p (repeated, the last copy cut) to
// n characters (bytes for BYTES), or cut to n. The result is sized and
// checked before it is built: n may be anything up to 2^63-1. A NULL
// input gives NULL; a NULL or empty padding or a NULL or negative length
// gives NULL too, as in ksqlDB.
func pad(c *evalCtx, a []types.Value, left, bytes bool) (types.Value, error) {
	if a[0].IsNull() || a[1].IsNull() || a[2].IsNull() {
		return null, nil
	}
	s, n, p := a[0].Str(), a[1].Int(), a[2].Str()
	if n < 0 || p == "" {
		return null, nil
	}
	mk, count, offset := str, utf8.RuneCountInString, runeOffset
	if bytes {
		mk = types.NewBytesString
		count = func(s string) int { return len(s) }
		offset = func(s string, from int, k int64) int { return from + int(min(k, int64(len(s)-from))) }
	}
	sl := int64(count(s))
	if sl >= n {
		return mk(s[:offset(s, 0, n)]), nil
	}
	fill := n - sl // characters (bytes) of padding
	pl := int64(count(p))
	whole, part := fill/pl, fill%pl
	partBytes := offset(p, 0, part)
	size := sizeAdd(int64(len(s)), sizeAdd(sizeMul(whole, int64(len(p))), int64(partBytes)))
	name := "RPAD"
	if left {
		name = "LPAD"
	}
	if err := c.checkString(name, size); err != nil {
		return null, err
	}
	var b strings.Builder
	b.Grow(int(size))
	if !left {
		b.WriteString(s)
	}
	for i := int64(0); i < whole; i++ {
		b.WriteString(p)
	}
	b.WriteString(p[:partBytes])
	if left {
		b.WriteString(s)
	}
	return mk(b.String()), nil
}

// concat is CONCAT of strings or BYTES: NULL arguments are skipped.
func concat(c *evalCtx, a []types.Value, mk func(string) types.Value) (types.Value, error) {
	var n int64
	for _, v := range a {
		n = sizeAdd(n, int64(len(v.Str())))
	}
	if err := c.checkString("CONCAT", n); err != nil {
		return null, err
	}
	var sb strings.Builder
	sb.Grow(int(n))
	for _, v := range a {
		sb.WriteString(v.Str())
	}
	return mk(sb.String()), nil
}

// concatWS is CONCAT_WS of strings or BYTES: the separator between the
// arguments that are not NULL; a NULL separator gives NULL.
func concatWS(c *evalCtx, a []types.Value, mk func(string) types.Value) (types.Value, error) {
	if a[0].IsNull() {
		return null, nil
	}
	sep := a[0].Str()
	parts := make([]string, 0, len(a)-1)
	var n int64
	for _, v := range a[1:] {
		if !v.IsNull() {
			if len(parts) > 0 {
				n = sizeAdd(n, int64(len(sep)))
			}
			parts = append(parts, v.Str())
			n = sizeAdd(n, int64(len(v.Str())))
		}
	}
	if err := c.checkString("CONCAT_WS", n); err != nil {
		return null, err
	}
	return mk(strings.Join(parts, sep)), nil
}

// split is SPLIT of a string (at characters when the delimiter is empty)
// or of BYTES (at bytes). An empty input is one empty part, as in ksqlDB.
func split(c *evalCtx, a []types.Value, mk func(string) types.Value, bytes bool) (types.Value, error) {
	s, sep := a[0].Str(), a[1].Str()
	// The parts share s's bytes; the Values are what costs.
	var k int64
	switch {
	case s == "":
		k = 1
	case sep == "" && bytes:
		k = int64(len(s))
	case sep == "":
		k = int64(utf8.RuneCountInString(s))
	default:
		k = int64(strings.Count(s, sep)) + 1
	}
	if err := c.checkElems("SPLIT", k, int64(len(s))); err != nil {
		return null, err
	}
	out := make([]types.Value, 0, k)
	switch {
	case s == "":
		out = append(out, mk(""))
	case sep == "" && bytes:
		for i := 0; i < len(s); i++ {
			out = append(out, mk(s[i:i+1]))
		}
	case sep == "":
		for _, p := range strings.Split(s, sep) {
			out = append(out, mk(p))
		}
	default:
		// The pieces go straight into out, which k sized exactly:
		// strings.Split would allocate a []string of them first.
		for {
			i := strings.Index(s, sep)
			if i < 0 {
				break
			}
			out = append(out, mk(s[:i]))
			s = s[i+len(sep):]
		}
		out = append(out, mk(s))
	}
	return types.NewArray(out), nil
}

// subBytes is SUBSTRING of BYTES: as substring, on bytes.
func subBytes(s string, pos, n int64) string {
	l := int64(len(s))
	var start int64
	switch {
	case pos > 0:
		start = min(pos-1, l)
	case pos < 0:
		start = max(l+pos, 0)
	}
	end := l
	if n >= 0 && n < l-start {
		end = start + n
	}
	return s[start:end]
}

// mapCase is LCASE and UCASE: the text may grow (an invalid byte becomes
// U+FFFD, three bytes), so a text near the limit is sized first.
func mapCase(c *evalCtx, name, s string, f func(rune) rune, whole func(string) string) (types.Value, error) {
	if int64(len(s))*3 > c.maxBytes-valueOverhead {
		if err := c.checkString(name, mappedLen(s, f)); err != nil {
			return null, err
		}
	}
	return str(whole(s)), nil
}

func initcap(c *evalCtx, s string) (types.Value, error) {
	b := builder{max: c.maxBytes - valueOverhead}
	start := true
	for _, r := range s {
		if unicode.IsSpace(r) {
			start = true
			b.WriteRune(r)
			continue
		}
		if start {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		start = false
		if b.err != nil {
			break
		}
	}
	if b.err != nil {
		return null, c.tooLarge("INITCAP", mappedLen(s, unicode.ToUpper))
	}
	return str(b.b.String()), nil
}

// regexpCache holds compiled patterns: a pattern is usually a literal, so
// it is compiled once per process. Bounded by dropping everything when it
// holds regexpCacheMax patterns or regexpCacheMaxBytes of estimated
// compiled size (patterns may be built per row), and it keeps only
// patterns of at most regexpCacheMaxPattern bytes.
var regexpCache struct {
	mu    sync.Mutex
	m     map[string]*compiledRegexp // guarded by mu
	bytes int64                      // estimated size of m's programs, guarded by mu
}

const (
	regexpCacheMax        = 1024
	regexpCacheMaxPattern = 1024
	regexpCacheMaxBytes   = 64 << 20
)

// compileRegexp compiles a pattern of a row or a statement. Go's regexp
// compiles x{1,1000} into a thousand copies of x: nine bytes of pattern
// can cost megabytes, so the compiled size is estimated from the parse
// (regexpCost) and a pattern whose program would be over the value limit
// is refused with 54000 before it is compiled.
func compileRegexp(c *evalCtx, p string) (*compiledRegexp, error) {
	regexpCache.mu.Lock()
	re, ok := regexpCache.m[p]
	regexpCache.mu.Unlock()
	if ok {
		return re, nil
	}
	// Parsing costs some 16 bytes per byte of pattern, and every byte of
	// a literal compiles to an instruction: a pattern longer than a
	// sixteenth of the limit is refused unparsed.
	if int64(len(p)) > c.maxBytes/16 {
		return nil, ErrValueTooLarge.Errorf("regular expression of %d bytes is too long (the limit is %d bytes, a sixteenth of --max-value-bytes)", len(p), c.maxBytes/16)
	}
	tree, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, errorf(ErrInvalidRegex, "invalid regular expression %q: %s", clipText(p), clipText(err.Error()))
	}
	cost := regexpCost(tree, c.maxBytes)
	if cost > c.maxBytes {
		return nil, ErrValueTooLarge.Errorf("regular expression %q would compile to more than the limit of %d bytes (--max-value-bytes)", clipText(p), c.maxBytes)
	}
	prog, err := regexp.Compile(p)
	if err != nil {
		return nil, errorf(ErrInvalidRegex, "invalid regular expression %q: %s", clipText(p), clipText(err.Error()))
	}
	re = &compiledRegexp{Regexp: prog, need: requiredLiteral(tree)}
	re.lead, re.bounded = leadBefore(tree, re.need)
	if len(p) > regexpCacheMaxPattern {
		return re, nil
	}
	regexpCache.mu.Lock()
	if regexpCache.m == nil || len(regexpCache.m) >= regexpCacheMax || regexpCache.bytes+cost > regexpCacheMaxBytes {
		regexpCache.m, regexpCache.bytes = make(map[string]*compiledRegexp), 0
	}
	regexpCache.m[p] = re
	regexpCache.bytes += cost
	regexpCache.mu.Unlock()
	return re, nil
}

// compiledRegexp is a compiled pattern with a literal every match of it
// contains, if the pattern has one (need): a string without it cannot
// match, which strings.Contains tells far faster than Go's matcher, which
// tries a pattern that does not start with a literal at every position
// (Nexmark q21's (&|^)channel_id=([^&]*) over URLs that have no
// channel_id was 40% of its CPU).
type compiledRegexp struct {
	*regexp.Regexp
	need string
	// lead is the most bytes a match holds before need, when need is a
	// part of the pattern's top-level concatenation and what comes
	// before it is bounded (`(&|^)channel_id=...`: 1); bounded says so.
	lead    int
	bounded bool
}

// findSubmatchIndex is FindStringSubmatchIndex, but where the pattern
// has a bounded lead before a literal every match contains, it runs Go's
// matcher from just before where the first match can start: a match
// holds need within lead bytes of its start, so none starts before the
// first need found less lead. Go's matcher tries a pattern that does not
// start with a literal at every position from the first (a Nexmark URL's
// `channel_id=` is 60 bytes in), and has no way to start later but a
// slice of the text. The slice starts one rune earlier still, at a rune
// boundary, so that no match can start at its first byte, where `^`,
// `\b` and the like see the slice's start rather than the text before
// it: a match found there is run again over the whole text.
func (re *compiledRegexp) findSubmatchIndex(s string) []int {
	if re.bounded {
		p := strings.Index(s, re.need)
		if p < 0 {
			return nil
		}
		k := p - re.lead - 1
		for k > 0 && !utf8.RuneStart(s[k]) {
			k--
		}
		if k > 0 {
			m := re.FindStringSubmatchIndex(s[k:])
			if m == nil {
				return nil
			}
			if m[0] > 0 {
				for i := range m {
					if m[i] >= 0 {
						m[i] += k
					}
				}
				return m
			}
		}
	}
	return re.FindStringSubmatchIndex(s)
}

// leadBefore returns the most bytes a match of re can hold before
// literal lit, when lit is re (0) or one of the parts of its top-level
// concatenation (through groups) and the parts before it match at most
// so many bytes; ok is false otherwise.
func leadBefore(re *syntax.Regexp, lit string) (lead int, ok bool) {
	if lit == "" {
		return 0, false
	}
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if isLiteral(re, lit) {
		return 0, true
	}
	if re.Op != syntax.OpConcat {
		return 0, false
	}
	for _, sub := range re.Sub {
		inner := sub
		for inner.Op == syntax.OpCapture {
			inner = inner.Sub[0]
		}
		if isLiteral(inner, lit) {
			return lead, true
		}
		w, ok := maxWidth(sub)
		if !ok {
			return 0, false
		}
		lead += w
	}
	return 0, false
}

// isLiteral reports whether re is the case-sensitive literal lit.
func isLiteral(re *syntax.Regexp, lit string) bool {
	return re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0 && string(re.Rune) == lit
}

// maxWidthLimit bounds maxWidth's answers: a lead longer than this is
// taken as unbounded (it would save nothing worth the arithmetic).
const maxWidthLimit = 1 << 16

// maxWidth returns the most bytes of text a match of re can consume;
// ok is false when that is unbounded (or above maxWidthLimit). A
// character takes at most 4 bytes, or 1 where Go's matcher reads a byte
// that is not UTF-8 as U+FFFD.
func maxWidth(re *syntax.Regexp) (int, bool) {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, true
	case syntax.OpLiteral:
		if len(re.Rune) > maxWidthLimit/utf8.UTFMax {
			return 0, false
		}
		w := 0
		for _, r := range re.Rune {
			// A rune matches its own encoding or, U+FFFD, one byte; under
			// (?i) another of its case, of up to 4 bytes.
			n := utf8.RuneLen(r)
			if n < 0 || re.Flags&syntax.FoldCase != 0 {
				n = utf8.UTFMax
			}
			w += n
		}
		return w, true
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return utf8.UTFMax, true
	case syntax.OpCapture, syntax.OpQuest:
		return maxWidth(re.Sub[0])
	case syntax.OpRepeat:
		w, ok := maxWidth(re.Sub[0])
		if !ok || re.Max < 0 || (w > 0 && re.Max > maxWidthLimit/w) {
			return 0, false
		}
		return w * re.Max, true
	case syntax.OpConcat, syntax.OpAlternate:
		total := 0
		for _, sub := range re.Sub {
			w, ok := maxWidth(sub)
			if !ok {
				return 0, false
			}
			if re.Op == syntax.OpConcat {
				total += w
			} else {
				total = max(total, w)
			}
			if total > maxWidthLimit {
				return 0, false
			}
		}
		return total, true
	}
	return 0, false // OpStar, OpPlus
}

// cannotMatch reports whether s lacks a literal every match contains.
func (re *compiledRegexp) cannotMatch(s string) bool {
	return re.need != "" && !strings.Contains(s, re.need)
}

// requiredLiteral returns the longest case-sensitive literal that every
// match of re contains: one that is a whole pattern, or one of the parts
// of a concatenation (through groups). "" when there is none, as under an
// alternation, a repetition that may be empty, or (?i).
func requiredLiteral(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		// Go's matcher reads a byte that is not UTF-8 as U+FFFD, which
		// strings.Contains would not find in it.
		if re.Flags&syntax.FoldCase != 0 || slices.Contains(re.Rune, utf8.RuneError) {
			return ""
		}
		return string(re.Rune)
	case syntax.OpCapture:
		return requiredLiteral(re.Sub[0])
	case syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if l := requiredLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

// Estimated bytes of a compiled program: per instruction (measured: 200
// to 400 bytes with the matchers' state), and per rune range of a
// character class (\pL is some 600 ranges, copied into each instruction).
const (
	regexpInstCost  = 512
	regexpRangeCost = 16
)

// regexpCost estimates what compiling re costs, in bytes, as the
// simplifier expands it: x{n,m} is m copies of x. It stops counting past
// limit, so the arithmetic stays small; its recursion is as deep as the
// parse tree, which regexp/syntax bounds at 1000.
func regexpCost(re *syntax.Regexp, limit int64) int64 {
	var cost int64
	switch re.Op {
	case syntax.OpCharClass:
		cost = regexpInstCost + int64(len(re.Rune))/2*regexpRangeCost
	case syntax.OpLiteral:
		cost = int64(len(re.Rune)) * regexpInstCost
	case syntax.OpRepeat:
		n := int64(re.Max)
		if n < 0 {
			n = int64(re.Min) + 1
		}
		cost = sizeMul(max(n, 1), regexpCost(re.Sub[0], limit)+regexpInstCost)
	default:
		cost = regexpInstCost
		for _, sub := range re.Sub {
			cost = sizeAdd(cost, regexpCost(sub, limit))
			if cost > limit {
				break
			}
		}
	}
	return min(cost, limit+1)
}

func regexpExtract(c *evalCtx, p, s string, group int64) (types.Value, error) {
	re, err := compileRegexp(c, p)
	if err != nil {
		return null, err
	}
	if group < 0 || group > int64(re.NumSubexp()) {
		return null, errorf(ErrInvalidArgument, "REGEXP_EXTRACT: group %d does not exist in %q", group, clipText(p))
	}
	if re.cannotMatch(s) {
		return null, nil
	}
	m := re.findSubmatchIndex(s)
	if m == nil || m[2*group] < 0 {
		return null, nil
	}
	return str(s[m[2*group]:m[2*group+1]]), nil
}

// matchOverhead is the memory regexp's Find...Index functions use per
// match with groups capturing groups: a slice of 2·(groups+1) ints.
func matchOverhead(groups int) int64 { return 24 + 16*int64(groups+1) }

func regexpExtractAll(c *evalCtx, p, s string, group int64) (types.Value, error) {
	re, err := compileRegexp(c, p)
	if err != nil {
		return null, err
	}
	if group < 0 || group > int64(re.NumSubexp()) {
		return null, errorf(ErrInvalidArgument, "REGEXP_EXTRACT_ALL: group %d does not exist in %q", group, clipText(p))
	}
	if re.cannotMatch(s) {
		return types.NewArray([]types.Value{}), nil
	}
	// Ask for one match more than the limit allows, counting the
	// matches' bookkeeping, which grows with the number of groups.
	maxMatches := c.maxBytes / (valueOverhead + matchOverhead(re.NumSubexp()))
	ms := re.FindAllStringSubmatchIndex(s, int(min(maxMatches+1, math.MaxInt32)))
	if int64(len(ms)) > maxMatches {
		return null, c.tooLarge("REGEXP_EXTRACT_ALL", math.MaxInt64)
	}
	out := make([]types.Value, 0, len(ms))
	for _, m := range ms {
		if m[2*group] < 0 {
			out = append(out, null)
			continue
		}
		out = append(out, str(s[m[2*group]:m[2*group+1]]))
	}
	return types.NewArray(out), nil
}

// regexpReplace is REGEXP_REPLACE, sized before it is built. A first pass
// counts the matches and their length without expanding anything; since
// a group lies within its match, a template of L bytes with d '$'s adds
// at most L + d·len(match) per match. Only when that bound is over the
// limit is the replacement refused.
func regexpReplace(c *evalCtx, s, p, tmpl string) (types.Value, error) {
	re, err := compileRegexp(c, p)
	if err != nil {
		return null, err
	}
	var count, matched int64
	re.ReplaceAllStringFunc(s, func(m string) string {
		count++
		matched += int64(len(m))
		return ""
	})
	dollars := int64(strings.Count(tmpl, "$"))
	bound := sizeAdd(int64(len(s))-matched, sizeAdd(sizeMul(count, int64(len(tmpl))), sizeMul(dollars, matched)))
	if err := c.checkString("REGEXP_REPLACE", bound); err != nil {
		return null, err
	}
	return str(re.ReplaceAllString(s, tmpl)), nil
}

// Masking.

type maskKind int

const (
	maskAll maskKind = iota
	maskKeepLeft
	maskKeepRight
	maskLeft
	maskRight
)

func maskFn(name, desc string, kind maskKind) *Function {
	f := &Function{Name: name, Category: "STRING", Description: desc, nullCall: true}
	impl := func(c *evalCtx, a []types.Value) (types.Value, error) {
		if a[0].IsNull() {
			return null, nil
		}
		chars := a[1:]
		n := int64(0)
		if kind != maskAll {
			if a[1].IsNull() {
				return null, nil
			}
			n, chars = a[1].Int(), a[2:]
			if n < 0 {
				return null, errorf(ErrInvalidArgument, "%s: the number of characters must not be negative", name)
			}
		}
		repl := [4]rune{'X', 'x', 'n', '-'}
		keep := [4]bool{}
		for i := 0; i < len(chars) && i < 4; i++ {
			if chars[i].IsNull() {
				keep[i] = true
				continue
			}
			r, _ := utf8.DecodeRuneInString(chars[i].Str())
			repl[i] = r
		}
		s := a[0].Str()
		l := int64(utf8.RuneCountInString(s))
		// out maps the character at index idx; masking may change its
		// width, so the result is sized before it is built.
		out := func(idx int64, r rune) rune {
			var masked bool
			switch kind {
			case maskAll:
				masked = true
			case maskKeepLeft:
				masked = idx >= n
			case maskKeepRight:
				masked = idx < l-n
			case maskLeft:
				masked = idx < n
			case maskRight:
				masked = idx >= l-n
			}
			if !masked {
				return r
			}
			cl := 3
			switch {
			case unicode.IsUpper(r):
				cl = 0
			case unicode.IsLower(r):
				cl = 1
			case unicode.IsDigit(r):
				cl = 2
			}
			if keep[cl] {
				return r
			}
			return repl[cl]
		}
		var size, idx int64
		for _, r := range s {
			size += int64(utf8.RuneLen(out(idx, r)))
			idx++
		}
		if err := c.checkString(name, size); err != nil {
			return null, err
		}
		var b strings.Builder
		b.Grow(int(size))
		idx = 0
		for _, r := range s {
			b.WriteRune(out(idx, r))
			idx++
		}
		return str(b.String()), nil
	}
	if kind == maskAll {
		f.overloads = []overload{
			ovL(types.String, impl, pString),
			ovL(types.String, impl, pString, pString),
			ovL(types.String, impl, pString, pString, pString),
			ovL(types.String, impl, pString, pString, pString, pString),
			ovL(types.String, impl, pString, pString, pString, pString, pString),
		}
	} else {
		f.overloads = []overload{
			ovL(types.String, impl, pString, pIntegral),
			ovL(types.String, impl, pString, pIntegral, pString),
			ovL(types.String, impl, pString, pIntegral, pString, pString),
			ovL(types.String, impl, pString, pIntegral, pString, pString, pString),
			ovL(types.String, impl, pString, pIntegral, pString, pString, pString, pString),
		}
	}
	return f
}

func decodeText(s, enc string) ([]byte, error) {
	switch strings.ToLower(enc) {
	case "hex":
		b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
		if err != nil {
			return nil, errorf(ErrInvalidText, "invalid hex text %q", s)
		}
		return b, nil
	case "utf8", "utf-8":
		return []byte(s), nil
	case "ascii":
		for i := 0; i < len(s); i++ {
			if s[i] > 127 {
				return nil, errorf(ErrInvalidText, "%q is not ASCII", s)
			}
		}
		return []byte(s), nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, errorf(ErrInvalidText, "invalid base64 text %q", s)
		}
		return b, nil
	}
	return nil, errorf(ErrInvalidArgument, "unknown encoding %q (want hex, utf8, ascii or base64)", enc)
}

// encodeText renders raw bytes (a string holding them) in an encoding,
// sized first: hex doubles them, base64 adds a third.
func encodeText(c *evalCtx, what, raw, enc string) (string, error) {
	var n int
	switch strings.ToLower(enc) {
	case "hex":
		n = hex.EncodedLen(len(raw))
	case "utf8", "utf-8", "ascii":
		n = len(raw)
	case "base64":
		n = base64.StdEncoding.EncodedLen(len(raw))
	default:
		return "", errorf(ErrInvalidArgument, "unknown encoding %q (want hex, utf8, ascii or base64)", enc)
	}
	if err := c.checkString(what, int64(n)); err != nil {
		return "", err
	}
	switch strings.ToLower(enc) {
	case "hex":
		return hex.EncodeToString([]byte(raw)), nil
	case "ascii":
		out := make([]byte, len(raw))
		for i := 0; i < len(raw); i++ {
			ch := raw[i]
			if ch > 127 {
				ch = '?'
			}
			out[i] = ch
		}
		return string(out), nil
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte(raw)), nil
	}
	return raw, nil
}

func encode(c *evalCtx, s, from, to string) (types.Value, error) {
	raw, err := decodeText(s, from)
	if err != nil {
		return null, err
	}
	out, err := encodeText(c, "ENCODE", string(raw), to)
	if err != nil {
		return null, err
	}
	return str(out), nil
}
