package expr

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/sql/types"
)

// ksqlDB's conversions from BYTES, its ENTRIES and GENERATE_SERIES, and
// its URL functions.

func init() {
	register(
		fromBytes("INT_FROM_BYTES", types.Int, 4, func(b []byte, o binary.ByteOrder) types.Value {
			return types.NewInt(int32(o.Uint32(b)))
		}),
		fromBytes("BIGINT_FROM_BYTES", types.Bigint, 8, func(b []byte, o binary.ByteOrder) types.Value {
			return types.NewBigint(int64(o.Uint64(b)))
		}),
		fromBytes("DOUBLE_FROM_BYTES", types.Double, 8, func(b []byte, o binary.ByteOrder) types.Value {
			return types.NewDouble(math.Float64frombits(o.Uint64(b)))
		}),
		fn("ENTRIES", "MAP", "The entries of a MAP as an ARRAY of STRUCT<K, V>, sorted by key when the second argument is TRUE.",
			ovTL(func(a []types.Type) types.Type {
				return types.Array(types.Struct(types.Field{Name: "K", Type: keyType(0)(a)}, types.Field{Name: "V", Type: elemType(0)(a)}))
			}, "ARRAY<STRUCT<K key type, V value type>>", func(c *evalCtx, a []types.Value) (types.Value, error) {
				m := a[0]
				n := m.MapLen()
				// One STRUCT of two fields a entry, sharing the map's values.
				if err := c.check("ENTRIES", sizeAdd(m.Size(), sizeMul(int64(n), 3*valueOverhead))); err != nil {
					return null, err
				}
				out := make([]types.Value, n)
				for i := range out {
					k, v := m.MapEntry(i)
					out[i] = types.NewStruct([]types.Value{k, v})
				}
				if a[1].Bool() {
					sort.SliceStable(out, func(i, j int) bool { return types.Compare(out[i].List()[0], out[j].List()[0]) < 0 })
				}
				return types.NewArray(out), nil
			}, pMap, pBoolean)),
		fn("GENERATE_SERIES", "ARRAY", "The integers from start to end inclusive, by a step (default 1, or -1 when end is before start).",
			ovTL(seriesType, "ARRAY<INT> for INT bounds, else ARRAY<BIGINT>", func(c *evalCtx, a []types.Value) (types.Value, error) {
				step := int64(-1)
				if a[1].Int() > a[0].Int() {
					step = 1
				}
				return series(c, a, step)
			}, pIntegral, pIntegral),
			ovTL(seriesType, "ARRAY<INT> for INT bounds, else ARRAY<BIGINT>", func(c *evalCtx, a []types.Value) (types.Value, error) {
				return series(c, a, a[2].Int())
			}, pIntegral, pIntegral, pIntegral)),
		fn("URL_ENCODE_PARAM", "URL", "Escapes a string for a URL's query parameter (application/x-www-form-urlencoded: a space becomes +).",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) { return urlEncodeParam(c, a[0].Str()) }, pString)),
		fn("URL_DECODE_PARAM", "URL", "Unescapes a URL query parameter (+ is a space, %XX a byte).",
			ov(types.String, func(a []types.Value) (types.Value, error) { return urlDecodeParam(a[0].Str()) }, pString)),
		urlFn("URL_EXTRACT_PROTOCOL", "The protocol (scheme) of a URL; NULL when it has none.", types.String, func(u *uri) types.Value {
			return optStr(u.scheme, u.hasScheme)
		}),
		urlFn("URL_EXTRACT_HOST", "The host name of a URL; NULL when it has none.", types.String, func(u *uri) types.Value {
			return optStr(u.host, u.hasHost)
		}),
		urlFn("URL_EXTRACT_PORT", "The port of a URL; NULL when it has none.", types.Int, func(u *uri) types.Value {
			if u.port < 0 {
				return null
			}
			return intV(u.port)
		}),
		urlFn("URL_EXTRACT_PATH", "The path of a URL, decoded; empty when it has none.", types.String, func(u *uri) types.Value {
			return optStr(u.path, !u.opaque)
		}),
		urlFn("URL_EXTRACT_QUERY", "The query of a URL, decoded; NULL when it has none.", types.String, func(u *uri) types.Value {
			return optStr(u.query, u.hasQuery)
		}),
		urlFn("URL_EXTRACT_FRAGMENT", "The fragment of a URL, decoded; NULL when it has none.", types.String, func(u *uri) types.Value {
			return optStr(u.fragment, u.hasFragment)
		}),
		fn("URL_EXTRACT_PARAMETER", "URL", "The value of a parameter in a URL's decoded query: empty when the parameter has no value, NULL when it is absent.",
			ov(types.String, func(a []types.Value) (types.Value, error) {
				u, err := parseURI(a[0].Str())
				if err != nil || !u.hasQuery {
					return null, err
				}
				for p := range strings.SplitSeq(u.query, "&") {
					k, v, hasValue := strings.Cut(p, "=")
					if k == a[1].Str() {
						if !hasValue {
							return str(""), nil
						}
						return str(v), nil
					}
				}
				return null, nil
			}, pString, pString)),
	)
}

// fromBytes builds INT_FROM_BYTES and friends: exactly size bytes, in
// BIG_ENDIAN (the default) or LITTLE_ENDIAN order.
func fromBytes(name string, t types.Type, size int, conv func([]byte, binary.ByteOrder) types.Value) *Function {
	impl := func(a []types.Value) (types.Value, error) {
		b := []byte(a[0].Str())
		var order binary.ByteOrder = binary.BigEndian
		if len(a) > 1 {
			switch strings.ToUpper(a[1].Str()) {
			case "BIG_ENDIAN":
			case "LITTLE_ENDIAN":
				order = binary.LittleEndian
			default:
				return null, errorf(ErrInvalidArgument, "Byte order must be BIG_ENDIAN or LITTLE_ENDIAN. Unknown byte order '%s'.", a[1].Str())
			}
		}
		if len(b) != size {
			return null, errorf(ErrInvalidArgument, "Number of bytes must be equal to %d, but found %d", size, len(b))
		}
		return conv(b, order), nil
	}
	return fn(name, "CONVERSIONS", "Reads "+t.String()+" from BYTES of its size in a byte order: BIG_ENDIAN (the default) or LITTLE_ENDIAN.",
		ov(t, impl, pBytes), ov(t, impl, pBytes, pString))
}

// seriesType is GENERATE_SERIES's result: ARRAY<INT> when both bounds are
// INT, else ARRAY<BIGINT>.
func seriesType(a []types.Type) types.Type {
	if a[0].Kind == types.KindBigint || a[1].Kind == types.KindBigint {
		return types.Array(types.Bigint)
	}
	return types.Array(types.Int)
}

// series is GENERATE_SERIES(a[0], a[1]): start, start+step, ... up to
// end inclusive, as INT when both bounds are INT, sized before it is built.
func series(c *evalCtx, a []types.Value, step int64) (types.Value, error) {
	from, end := a[0].Int(), a[1].Int()
	mk := types.NewBigint
	if a[0].Kind() == types.KindInt && a[1].Kind() == types.KindInt {
		mk = func(v int64) types.Value { return types.NewInt(int32(v)) }
	}
	if step == 0 {
		return null, errorf(ErrInvalidArgument, "GENERATE_SERIES step cannot be zero")
	}
	if (end > from && step < 0) || (end < from && step > 0) {
		return null, errorf(ErrInvalidArgument, "GENERATE_SERIES step has wrong sign")
	}
	// The count in uint64: end - from may overflow int64.
	var span uint64
	if end >= from {
		span = uint64(end) - uint64(from)
	} else {
		span = uint64(from) - uint64(end)
	}
	mag := uint64(step)
	if step < 0 {
		mag = uint64(-(step + 1)) + 1
	}
	count := span/mag + 1
	if count > math.MaxInt64/uint64(valueOverhead) {
		return null, c.tooLarge("GENERATE_SERIES", math.MaxInt64)
	}
	if err := c.checkElems("GENERATE_SERIES", int64(count), 0); err != nil {
		return null, err
	}
	out := make([]types.Value, count)
	v := from
	for i := range out {
		out[i] = mk(v)
		v += step // past the last element it may overflow, unused
	}
	return types.NewArray(out), nil
}

// URLs, as java.net.URI reads them (RFC 2396): ksqlDB's URL functions
// take their parts from a java.net.URI, so an invalid URL is an error
// rather than NULL.

// uri is a parsed URI; the path, query and fragment are decoded, as
// URI.getPath, getQuery and getFragment return them.
type uri struct {
	scheme, host, path, query, fragment       string
	hasScheme, hasHost, hasQuery, hasFragment bool
	opaque                                    bool // scheme:rest without //, as mailto:x
	port                                      int  // -1 when absent
}

func optStr(s string, ok bool) types.Value {
	if !ok {
		return null
	}
	return str(s)
}

func urlFn(name, desc string, t types.Type, get func(*uri) types.Value) *Function {
	return fn(name, "URL", desc, ov(t, func(a []types.Value) (types.Value, error) {
		u, err := parseURI(a[0].Str())
		if err != nil {
			return null, err
		}
		return get(u), nil
	}, pString))
}

// uriIllegal are the characters java.net.URI refuses anywhere in a URI
// (besides controls and a '%' not followed by two hex digits).
const uriIllegal = " \"<>\\^`{|}"

func parseURI(s string) (*uri, error) {
	bad := func(why string) (*uri, error) {
		return nil, errorf(ErrInvalidArgument, "URL input has invalid syntax: %s (%s)", clipText(s), why)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return bad("a control character")
		case strings.IndexByte(uriIllegal, c) >= 0:
			return bad(fmt.Sprintf("illegal character %q", c))
		case c == '%':
			if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) {
				return bad("a % not followed by two hex digits")
			}
		}
	}
	u := &uri{port: -1}
	rest := s
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		u.fragment, u.hasFragment = decodePercent(rest[i+1:]), true
		if strings.IndexByte(rest[i+1:], '#') >= 0 {
			return bad("a second #")
		}
		rest = rest[:i]
	}
	// A scheme is letters, digits, + - . starting with a letter, before
	// the first ':' that comes before any / ? #.
	if i := strings.IndexByte(rest, ':'); i > 0 && !strings.ContainsAny(rest[:i], "/?") {
		sch := rest[:i]
		ok := isLetter(sch[0])
		for j := 1; j < len(sch) && ok; j++ {
			ok = isLetter(sch[j]) || (sch[j] >= '0' && sch[j] <= '9') || strings.IndexByte("+-.", sch[j]) >= 0
		}
		if !ok {
			return bad("an illegal scheme")
		}
		u.scheme, u.hasScheme = sch, true
		rest = rest[i+1:]
		if rest == "" {
			return bad("nothing after the scheme")
		}
		if rest[0] != '/' {
			u.opaque = true // mailto:a@b: no authority, path or query
			return u, nil
		}
	} else if i == 0 {
		return bad("an empty scheme")
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		u.query, u.hasQuery = decodePercent(rest[i+1:]), true
		rest = rest[:i]
	}
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		auth := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			auth, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		u.parseAuthority(auth)
	}
	u.path = decodePercent(rest)
	return u, nil
}

// parseAuthority reads [userinfo@]host[:port]. As java.net.URI, an
// authority that is not a server's (a host name, IPv4 or [IPv6] address
// and an optional numeric port) has no host and no port.
func (u *uri) parseAuthority(auth string) {
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		auth = auth[i+1:]
	}
	host, port := auth, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return
		}
		host, port = auth[:end+1], auth[end+1:]
		if port != "" && port[0] != ':' {
			return
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host, port = auth[:i], auth[i+1:]
	}
	if port != "" {
		p := 0
		for _, c := range port {
			if c < '0' || c > '9' || p > 65535 {
				return
			}
			p = p*10 + int(c-'0')
		}
		u.port = p
	}
	if host == "" || !validHost(host) {
		u.port = -1
		return
	}
	u.host, u.hasHost = host, true
}

// validHost accepts an [IPv6] literal or labels of letters, digits and
// '-' separated by dots, the last not starting with a digit unless the
// whole is an IPv4 address.
func validHost(h string) bool {
	if h[0] == '[' {
		return len(h) > 2 && h[len(h)-1] == ']'
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isLetter(c) && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isHexDigit(c byte) bool { return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// decodePercent decodes %XX escapes (already validated) as UTF-8, an
// invalid sequence as U+FFFD, as java.net.URI's decoding does.
func decodePercent(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			v, _ := hex.DecodeString(s[i+1 : i+3])
			b = append(b, v[0])
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// urlEncodeParam is Guava's form-parameter escaper, which ksqlDB uses:
// letters, digits and -_.* stay, a space becomes +, every other byte of
// the UTF-8 text is %XX in upper case.
func urlEncodeParam(c *evalCtx, s string) (types.Value, error) {
	n := int64(0)
	for i := 0; i < len(s); i++ {
		if urlSafe(s[i]) || s[i] == ' ' {
			n++
		} else {
			n += 3
		}
	}
	if err := c.checkString("URL_ENCODE_PARAM", n); err != nil {
		return null, err
	}
	const digits = "0123456789ABCDEF"
	s = strings.ToValidUTF8(s, "\uFFFD")
	b := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case urlSafe(ch):
			b = append(b, ch)
		case ch == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', digits[ch>>4], digits[ch&15])
		}
	}
	return str(string(b)), nil
}

func urlSafe(c byte) bool {
	return isLetter(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '*'
}

// urlDecodeParam is java.net.URLDecoder.decode(s, UTF-8): + is a space,
// %XX a byte; a malformed escape is an error.
func urlDecodeParam(s string) (types.Value, error) {
	if !strings.ContainsAny(s, "+%") {
		return str(s), nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) {
				return null, errorf(ErrInvalidArgument, "URLDecoder: Illegal hex characters in escape (%%) pattern in %q", clipText(s))
			}
			v, _ := hex.DecodeString(s[i+1 : i+3])
			b = append(b, v[0])
			i += 2
		default:
			b = append(b, s[i])
		}
	}
	if !utf8.Valid(b) {
		return str(strings.ToValidUTF8(string(b), "\uFFFD")), nil
	}
	return str(string(b)), nil
}

// AS_VALUE is ksqlDB's marker that a key column is copied into the
// value. What it changes is which select item is a key, which is the
// planner's: a planner hook binds it before this registry is asked
// (planner/groupby.go). Here it is the identity, so that it is listed,
// described and bound like any function where no planner is involved.
func init() {
	register(&Function{Name: "AS_VALUE", Category: "OTHER",
		Description: "Copies a key column into the value: the select item AS_VALUE(k) is a value column even where k alone would be the key.",
		overloads:   []overload{ovT(argType(0), "T", func(a []types.Value) (types.Value, error) { return a[0], nil }, pAny)},
	})
}
