package expr

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
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
			ov(types.String, func(a []types.Value) (types.Value, error) { return str(strings.ToLower(a[0].Str())), nil }, pString)),
		fn("UCASE", "STRING", "Converts a string to upper case.",
			ov(types.String, func(a []types.Value) (types.Value, error) { return str(strings.ToUpper(a[0].Str())), nil }, pString)),
		fn("LEN", "STRING", "The length of a string in characters, or of BYTES in bytes.",
			ov(types.Int, func(a []types.Value) (types.Value, error) { return intV(utf8.RuneCountInString(a[0].Str())), nil }, pString),
			ov(types.Int, func(a []types.Value) (types.Value, error) { return intV(len(a[0].Str())), nil }, pBytes)),
		&Function{Name: "CONCAT", Category: "STRING", nullCall: true,
			Description: "Concatenates strings; NULL arguments are skipped. `a || b` is the same.",
			overloads: []overload{ovVar(types.String, func(a []types.Value) (types.Value, error) {
				var sb strings.Builder
				for _, v := range a {
					sb.WriteString(v.Str())
				}
				return str(sb.String()), nil
			}, pString)}},
		&Function{Name: "CONCAT_WS", Category: "STRING", nullCall: true,
			Description: "Concatenates strings with a separator; NULL arguments are skipped; a NULL separator gives NULL.",
			overloads: []overload{ovVar(types.String, func(a []types.Value) (types.Value, error) {
				if a[0].IsNull() {
					return null, nil
				}
				parts := make([]string, 0, len(a)-1)
				for _, v := range a[1:] {
					if !v.IsNull() {
						parts = append(parts, v.Str())
					}
				}
				return str(strings.Join(parts, a[0].Str())), nil
			}, pString, pString)}},
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
		fn("SUBSTRING", "STRING", "The substring from a 1-based position (negative counts from the end), optionally of a given length.",
			ov(types.String, func(a []types.Value) (types.Value, error) { return str(substring(a[0].Str(), a[1].Int(), -1)), nil }, pString, pIntegral),
			ov(types.String, func(a []types.Value) (types.Value, error) {
				if a[2].Int() < 0 {
					return str(""), nil
				}
				return str(substring(a[0].Str(), a[1].Int(), a[2].Int())), nil
			}, pString, pIntegral, pIntegral)),
		fn("REPLACE", "STRING", "Replaces every occurrence of a substring.",
			ov(types.String, func(a []types.Value) (types.Value, error) {
				return str(strings.ReplaceAll(a[0].Str(), a[1].Str(), a[2].Str())), nil
			}, pString, pString, pString)),
		fn("INSTR", "STRING", "The 1-based position of a substring (0 when absent), from an optional position (negative searches backwards from the end) and for an optional occurrence.",
			ov(types.Int, func(a []types.Value) (types.Value, error) { return intV(instr(a[0].Str(), a[1].Str(), 1, 1)), nil }, pString, pString),
			ov(types.Int, func(a []types.Value) (types.Value, error) {
				return intV(instr(a[0].Str(), a[1].Str(), a[2].Int(), 1)), nil
			}, pString, pString, pIntegral),
			ov(types.Int, func(a []types.Value) (types.Value, error) {
				return intV(instr(a[0].Str(), a[1].Str(), a[2].Int(), a[3].Int())), nil
			}, pString, pString, pIntegral, pIntegral)),
		fn("LPAD", "STRING", "Pads a string on the left to a length (truncating longer input); an empty or NULL padding gives NULL.",
			ov(types.String, func(a []types.Value) (types.Value, error) { return pad(a, true), nil }, pString, pIntegral, pString)),
		fn("RPAD", "STRING", "Pads a string on the right to a length (truncating longer input); an empty or NULL padding gives NULL.",
			ov(types.String, func(a []types.Value) (types.Value, error) { return pad(a, false), nil }, pString, pIntegral, pString)),
		fn("SPLIT", "STRING", "Splits a string at a delimiter into an ARRAY; an empty delimiter splits into characters.",
			ov(types.Array(types.String), func(a []types.Value) (types.Value, error) {
				parts := strings.Split(a[0].Str(), a[1].Str())
				out := make([]types.Value, len(parts))
				for i, p := range parts {
					out[i] = str(p)
				}
				return types.NewArray(out), nil
			}, pString, pString)),
		fn("SPLIT_TO_MAP", "STRING", "Splits 'k1=v1;k2=v2' into a MAP given the entry and key-value delimiters; entries without the key-value delimiter are dropped.",
			ov(types.Map(types.String, types.String), func(a []types.Value) (types.Value, error) {
				if a[1].Str() == "" || a[2].Str() == "" {
					return null, nil
				}
				var ks, vs []types.Value
				for _, e := range strings.Split(a[0].Str(), a[1].Str()) {
					k, v, ok := strings.Cut(e, a[2].Str())
					if !ok {
						continue
					}
					if j := indexOfKey(ks, str(k)); j >= 0 {
						vs[j] = str(v)
						continue
					}
					ks, vs = append(ks, str(k)), append(vs, str(v))
				}
				return types.NewMap(ks, vs), nil
			}, pString, pString, pString)),
		fn("INITCAP", "STRING", "Capitalizes the first letter of each word and lower-cases the rest.",
			ov(types.String, func(a []types.Value) (types.Value, error) { return str(initcap(a[0].Str())), nil }, pString)),
		fn("REGEXP_EXTRACT", "STRING", "The first match of a regular expression in a string (or of a capturing group); NULL when nothing matches. Arguments: (regex, string[, group]).",
			ov(types.String, func(a []types.Value) (types.Value, error) { return regexpExtract(a[0].Str(), a[1].Str(), 0) }, pString, pString),
			ov(types.String, func(a []types.Value) (types.Value, error) {
				return regexpExtract(a[0].Str(), a[1].Str(), int(a[2].Int()))
			}, pString, pString, pIntegral)),
		fn("REGEXP_EXTRACT_ALL", "STRING", "Every match of a regular expression (or of a capturing group) as an ARRAY. Arguments: (regex, string[, group]).",
			ov(types.Array(types.String), func(a []types.Value) (types.Value, error) {
				return regexpExtractAll(a[0].Str(), a[1].Str(), 0)
			}, pString, pString),
			ov(types.Array(types.String), func(a []types.Value) (types.Value, error) {
				return regexpExtractAll(a[0].Str(), a[1].Str(), int(a[2].Int()))
			}, pString, pString, pIntegral)),
		fn("REGEXP_REPLACE", "STRING", "Replaces every match of a regular expression; $1 in the replacement is a group. Arguments: (string, regex, replacement).",
			ov(types.String, func(a []types.Value) (types.Value, error) {
				re, err := compileRegexp(a[1].Str())
				if err != nil {
					return null, err
				}
				return str(re.ReplaceAllString(a[0].Str(), a[2].Str())), nil
			}, pString, pString, pString)),
		fn("REGEXP_SPLIT_TO_ARRAY", "STRING", "Splits a string at every match of a regular expression.",
			ov(types.Array(types.String), func(a []types.Value) (types.Value, error) {
				re, err := compileRegexp(a[1].Str())
				if err != nil {
					return null, err
				}
				parts := re.Split(a[0].Str(), -1)
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
			ov(types.String, func(a []types.Value) (types.Value, error) { return encode(a[0].Str(), a[1].Str(), a[2].Str()) }, pString, pString, pString)),
		fn("TO_BYTES", "STRING", "Converts a string to BYTES with an encoding: hex, utf8, ascii or base64.",
			ov(types.Bytes, func(a []types.Value) (types.Value, error) {
				raw, err := decodeText(a[0].Str(), a[1].Str())
				if err != nil {
					return null, err
				}
				return types.NewBytes(raw), nil
			}, pString, pString)),
		fn("FROM_BYTES", "STRING", "Converts BYTES to a string with an encoding: hex, utf8, ascii or base64.",
			ov(types.String, func(a []types.Value) (types.Value, error) {
				s, err := encodeText([]byte(a[0].Str()), a[1].Str())
				return str(s), err
			}, pBytes, pString)),
	)
}

// substring is ksqlDB's SUBSTRING on characters: pos is 1-based,
// negative pos counts from the end; n < 0 means to the end.
func substring(s string, pos, n int64) string {
	r := []rune(s)
	l := int64(len(r))
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = max(l+pos, 0)
	}
	if start >= l {
		return ""
	}
	end := l
	if n >= 0 && start+n < l {
		end = start + n
	}
	return string(r[start:end])
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
		for i := int(pos - 1); i+len(sr) <= len(r); i++ {
			if matchAt(i) {
				if occ--; occ == 0 {
					return i + 1
				}
			}
		}
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

func pad(a []types.Value, left bool) types.Value {
	s, n, p := []rune(a[0].Str()), a[1].Int(), []rune(a[2].Str())
	if n < 0 || len(p) == 0 {
		return null
	}
	if int64(len(s)) >= n {
		return str(string(s[:n]))
	}
	fill := make([]rune, 0, n-int64(len(s)))
	for int64(len(fill)) < n-int64(len(s)) {
		fill = append(fill, p[len(fill)%len(p)])
	}
	if left {
		return str(string(fill) + string(s))
	}
	return str(string(s) + string(fill))
}

func initcap(s string) string {
	var sb strings.Builder
	start := true
	for _, r := range s {
		if unicode.IsSpace(r) {
			start = true
			sb.WriteRune(r)
			continue
		}
		if start {
			sb.WriteRune(unicode.ToUpper(r))
		} else {
			sb.WriteRune(unicode.ToLower(r))
		}
		start = false
	}
	return sb.String()
}

// regexpCache holds compiled patterns: a pattern is usually a literal, so
// it is compiled once per process. Bounded by dropping everything when it
// grows past regexpCacheMax (patterns built per row).
var regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp // guarded by mu
}

const regexpCacheMax = 1024

func compileRegexp(p string) (*regexp.Regexp, error) {
	regexpCache.mu.Lock()
	re, ok := regexpCache.m[p]
	regexpCache.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, errorf(ErrInvalidRegex, "invalid regular expression %q: %v", p, err)
	}
	regexpCache.mu.Lock()
	if regexpCache.m == nil || len(regexpCache.m) >= regexpCacheMax {
		regexpCache.m = make(map[string]*regexp.Regexp)
	}
	regexpCache.m[p] = re
	regexpCache.mu.Unlock()
	return re, nil
}

func regexpExtract(p, s string, group int) (types.Value, error) {
	re, err := compileRegexp(p)
	if err != nil {
		return null, err
	}
	if group < 0 || group > re.NumSubexp() {
		return null, errorf(ErrInvalidArgument, "REGEXP_EXTRACT: group %d does not exist in %q", group, p)
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2*group] < 0 {
		return null, nil
	}
	return str(s[m[2*group]:m[2*group+1]]), nil
}

func regexpExtractAll(p, s string, group int) (types.Value, error) {
	re, err := compileRegexp(p)
	if err != nil {
		return null, err
	}
	if group < 0 || group > re.NumSubexp() {
		return null, errorf(ErrInvalidArgument, "REGEXP_EXTRACT_ALL: group %d does not exist in %q", group, p)
	}
	out := []types.Value{}
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		if m[2*group] < 0 {
			out = append(out, null)
			continue
		}
		out = append(out, str(s[m[2*group]:m[2*group+1]]))
	}
	return types.NewArray(out), nil
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
	impl := func(a []types.Value) (types.Value, error) {
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
		rs := []rune(a[0].Str())
		l := int64(len(rs))
		for i := range rs {
			idx := int64(i)
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
				continue
			}
			c := 3
			switch {
			case unicode.IsUpper(rs[i]):
				c = 0
			case unicode.IsLower(rs[i]):
				c = 1
			case unicode.IsDigit(rs[i]):
				c = 2
			}
			if !keep[c] {
				rs[i] = repl[c]
			}
		}
		return str(string(rs)), nil
	}
	if kind == maskAll {
		f.overloads = []overload{
			ov(types.String, impl, pString),
			ov(types.String, impl, pString, pString),
			ov(types.String, impl, pString, pString, pString),
			ov(types.String, impl, pString, pString, pString, pString),
			ov(types.String, impl, pString, pString, pString, pString, pString),
		}
	} else {
		f.overloads = []overload{
			ov(types.String, impl, pString, pIntegral),
			ov(types.String, impl, pString, pIntegral, pString),
			ov(types.String, impl, pString, pIntegral, pString, pString),
			ov(types.String, impl, pString, pIntegral, pString, pString, pString),
			ov(types.String, impl, pString, pIntegral, pString, pString, pString, pString),
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

func encodeText(b []byte, enc string) (string, error) {
	switch strings.ToLower(enc) {
	case "hex":
		return hex.EncodeToString(b), nil
	case "utf8", "utf-8":
		return string(b), nil
	case "ascii":
		out := make([]byte, len(b))
		for i, c := range b {
			if c > 127 {
				c = '?'
			}
			out[i] = c
		}
		return string(out), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	}
	return "", errorf(ErrInvalidArgument, "unknown encoding %q (want hex, utf8, ascii or base64)", enc)
}

func encode(s, from, to string) (types.Value, error) {
	raw, err := decodeText(s, from)
	if err != nil {
		return null, err
	}
	out, err := encodeText(raw, to)
	if err != nil {
		return null, err
	}
	return str(out), nil
}
