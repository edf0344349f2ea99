package expr

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // CONVERT_TZ and the tz arguments need zone data on any host

	"github.com/runnel/runnel/sql/types"
)

// Java's DateTimeFormatter patterns, which ksqlDB's date/time functions
// take, formatted and parsed directly (no translation to Go layouts).
// Supported letters:
//
//	y u   year (yy: two digits, 2000-based when parsing)
//	M L   month: M, MM numeric; MMM Jan; MMMM January
//	d     day of month       D  day of year
//	H     hour 0-23          h  hour 1-12 (with a)   k 1-24   K 0-11
//	m     minute             s  second
//	S     fraction of second (S..SSSSSSSSS)
//	n     nano of second     A  milli of day
//	a     AM/PM              E  day name (E, EE, EEE: Mon; EEEE: Monday)
//	X x Z offset: X → Z or +01, XX/Z → +0100, XXX/ZZZZZ → +01:00
//	z VV  zone name (formatting only)
//	'...' literal text ('' is a quote); other non-letters are literal.
//
// Parsing defaults missing fields (1970-01-01T00:00:00 in the zone).

type jtok struct {
	letter byte // 0 for literal text
	n      int
	lit    string
}

// javaPatterns caches compiled patterns: a pattern is usually a literal,
// compiled once per process. Bounded as the regexp cache is: at most
// javaPatternsMax patterns of at most 256 bytes, all dropped when full
// (patterns may come from rows).
var javaPatterns struct {
	mu sync.Mutex
	m  map[string][]jtok // guarded by mu
}

const javaPatternsMax = 1024

func compileJava(p string) ([]jtok, error) {
	javaPatterns.mu.Lock()
	toks, ok := javaPatterns.m[p]
	javaPatterns.mu.Unlock()
	if ok {
		return toks, nil
	}
	toks, err := compileJavaUncached(p)
	if err != nil || len(p) > 256 {
		return toks, err
	}
	javaPatterns.mu.Lock()
	if javaPatterns.m == nil || len(javaPatterns.m) >= javaPatternsMax {
		javaPatterns.m = make(map[string][]jtok)
	}
	javaPatterns.m[p] = toks
	javaPatterns.mu.Unlock()
	return toks, nil
}

func compileJavaUncached(p string) ([]jtok, error) {
	var toks []jtok
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			j := i + 1
			var sb strings.Builder
			for {
				if j >= len(p) {
					return nil, errorf(ErrInvalidDatetime, "unterminated quote in date/time pattern %q", p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(p[j])
				j++
			}
			if j == i+1 {
				toks = append(toks, jtok{lit: "'"})
			} else {
				toks = append(toks, jtok{lit: sb.String()})
			}
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			if !strings.ContainsRune("yuMLdDHhkKmsSnAaEXxZzV", rune(c)) {
				return nil, errorf(ErrInvalidDatetime, "unsupported letter %q in date/time pattern %q", c, p)
			}
			toks = append(toks, jtok{letter: c, n: j - i})
			i = j
		default:
			toks = append(toks, jtok{lit: string(c)})
			i++
		}
	}
	return toks, nil
}

func zeroPad(v, n int) string {
	s := strconv.Itoa(v)
	if v < 0 || len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// writeZeroPad writes v with leading zeros to n digits; n comes from the
// pattern and may be large, so the zeros go through w's limit first.
// The digits go through a buffer on the stack: strconv.Itoa allocates
// for a value of 100 or more (every year), once per formatted row.
func writeZeroPad(w *builder, v, n int) {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(v), 10)
	if v >= 0 && len(s) < n {
		writeRepeat(w, '0', n-len(s))
	}
	if w.room(len(s)) {
		w.b.Write(s)
	}
}

func writeRepeat(w *builder, c byte, n int) {
	if !w.room(n) {
		return
	}
	for range n {
		w.b.WriteByte(c)
	}
}

// formatJava writes t as the compiled pattern says into w, which bounds
// the text (a pattern of many 'z's names the zone once for each).
func formatJava(toks []jtok, t time.Time, w *builder) {
	// The civil date and the clock are each worked out once, when a
	// letter first needs them: t.Year(), t.Month() and t.Day() each
	// repeat the whole calendar computation.
	var (
		year, day, hour, minute, sec int
		month                        time.Month
		haveDate, haveClock          bool
	)
	date := func() {
		if !haveDate {
			year, month, day = t.Date()
			haveDate = true
		}
	}
	clock := func() {
		if !haveClock {
			hour, minute, sec = t.Clock()
			haveClock = true
		}
	}
	for _, k := range toks {
		if w.err != nil {
			return
		}
		if k.letter == 0 {
			w.WriteString(k.lit)
			continue
		}
		switch k.letter {
		case 'y', 'u':
			date()
			if k.n == 2 {
				writeZeroPad(w, year%100, 2)
			} else {
				writeZeroPad(w, year, k.n)
			}
		case 'M', 'L':
			date()
			switch {
			case k.n >= 4:
				w.WriteString(month.String())
			case k.n == 3:
				w.WriteString(month.String()[:3])
			default:
				writeZeroPad(w, int(month), k.n)
			}
		case 'd':
			date()
			writeZeroPad(w, day, k.n)
		case 'D':
			writeZeroPad(w, t.YearDay(), k.n)
		case 'H':
			clock()
			writeZeroPad(w, hour, k.n)
		case 'k':
			clock()
			h := hour
			if h == 0 {
				h = 24
			}
			writeZeroPad(w, h, k.n)
		case 'h':
			clock()
			h := hour % 12
			if h == 0 {
				h = 12
			}
			writeZeroPad(w, h, k.n)
		case 'K':
			clock()
			writeZeroPad(w, hour%12, k.n)
		case 'm':
			clock()
			writeZeroPad(w, minute, k.n)
		case 's':
			clock()
			writeZeroPad(w, sec, k.n)
		case 'S':
			f := zeroPad(t.Nanosecond(), 9)
			if k.n <= 9 {
				w.WriteString(f[:k.n])
			} else {
				w.WriteString(f)
				writeRepeat(w, '0', k.n-9)
			}
		case 'n':
			writeZeroPad(w, t.Nanosecond(), k.n)
		case 'A':
			clock()
			ms := ((hour*60+minute)*60+sec)*1000 + t.Nanosecond()/1e6
			writeZeroPad(w, ms, k.n)
		case 'a':
			clock()
			if hour < 12 {
				w.WriteString("AM")
			} else {
				w.WriteString("PM")
			}
		case 'E':
			if k.n >= 4 {
				w.WriteString(t.Weekday().String())
			} else {
				w.WriteString(t.Weekday().String()[:3])
			}
		case 'X', 'x', 'Z':
			_, off := t.Zone()
			if off == 0 && (k.letter == 'X' || k.letter == 'Z' && k.n == 5) {
				w.WriteString("Z")
				continue
			}
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			hh, mm := off/3600, off/60%60
			w.WriteRune(sign)
			writeZeroPad(w, hh, 2)
			switch {
			case (k.letter == 'X' || k.letter == 'x') && k.n == 1:
				if mm != 0 {
					writeZeroPad(w, mm, 2)
				}
			case k.letter == 'Z' && k.n <= 3, k.n == 2:
				writeZeroPad(w, mm, 2)
			default:
				w.WriteString(":")
				writeZeroPad(w, mm, 2)
			}
		case 'z':
			name, _ := t.Zone()
			w.WriteString(name)
		case 'V':
			w.WriteString(t.Location().String())
		}
	}
}

// parseJava parses s with a compiled pattern in loc (used when the text
// carries no offset).
func parseJava(toks []jtok, s string, loc *time.Location) (time.Time, error) {
	year, month, day, yday := 1970, 1, 1, 0
	hour, minute, sec, nanos := 0, 0, 0, 0
	pm, hasAmPm, h12 := false, false, false
	offset, hasOffset := 0, false
	pos := 0
	fail := func(what string) (time.Time, error) {
		return time.Time{}, errorf(ErrInvalidText, "cannot parse %q as a date/time: %s at position %d", s, what, pos)
	}
	for ti, k := range toks {
		if k.letter == 0 {
			if !strings.HasPrefix(s[pos:], k.lit) {
				return fail(fmt.Sprintf("expected %q", k.lit))
			}
			pos += len(k.lit)
			continue
		}
		// A numeric field is fixed-width when followed by another number
		// (yyyyMMdd) and otherwise takes as many digits as there are.
		nextNumeric := ti+1 < len(toks) && toks[ti+1].letter != 0 && strings.IndexByte("yuMLdDHhkKmsSnA", toks[ti+1].letter) >= 0 &&
			!(toks[ti+1].letter == 'M' && toks[ti+1].n >= 3)
		num := func(minW, maxW int) (int, bool) {
			if nextNumeric {
				maxW = max(minW, k.n)
			}
			j := pos
			neg := false
			if k.letter == 'y' && j < len(s) && s[j] == '-' {
				neg = true
				j++
			}
			start := j
			for j < len(s) && j-start < maxW && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j-start < minW || j == start {
				return 0, false
			}
			v, _ := strconv.Atoi(s[start:j])
			if neg {
				v = -v
			}
			pos = j
			return v, true
		}
		var ok bool
		switch k.letter {
		case 'y', 'u':
			if k.n == 2 {
				if year, ok = num(2, 2); ok {
					year += 2000
				}
			} else {
				year, ok = num(k.n, 9)
			}
		case 'M', 'L':
			if k.n >= 3 {
				ok = false
				for m := time.January; m <= time.December; m++ {
					name := m.String()
					if k.n == 3 {
						name = name[:3]
					}
					if len(s)-pos >= len(name) && strings.EqualFold(s[pos:pos+len(name)], name) {
						month, pos, ok = int(m), pos+len(name), true
						break
					}
				}
			} else {
				month, ok = num(k.n, 2)
			}
		case 'd':
			day, ok = num(k.n, 2)
		case 'D':
			yday, ok = num(k.n, 3)
		case 'H', 'k':
			hour, ok = num(k.n, 2)
			if k.letter == 'k' && hour == 24 {
				hour = 0
			}
		case 'h', 'K':
			hour, ok = num(k.n, 2)
			h12 = true
		case 'm':
			minute, ok = num(k.n, 2)
		case 's':
			sec, ok = num(k.n, 2)
		case 'S':
			j := pos
			for j < len(s) && j-pos < max(k.n, 9) && s[j] >= '0' && s[j] <= '9' {
				if nextNumeric && j-pos >= k.n {
					break
				}
				j++
			}
			if j == pos {
				ok = false
				break
			}
			f := s[pos:j]
			if len(f) > 9 {
				f = f[:9]
			}
			nanos, _ = strconv.Atoi(f + strings.Repeat("0", 9-len(f)))
			pos, ok = j, true
		case 'n':
			nanos, ok = num(k.n, 9)
		case 'A':
			var ms int
			if ms, ok = num(k.n, 8); ok {
				hour, minute, sec, nanos = ms/3600000, ms/60000%60, ms/1000%60, ms%1000*1e6
			}
		case 'a':
			ok = len(s)-pos >= 2
			if ok {
				switch strings.ToUpper(s[pos : pos+2]) {
				case "AM":
					hasAmPm = true
				case "PM":
					hasAmPm, pm = true, true
				default:
					ok = false
				}
				pos += 2
			}
		case 'E':
			ok = false
			for d := time.Sunday; d <= time.Saturday; d++ {
				name := d.String()
				if k.n < 4 {
					name = name[:3]
				}
				if len(s)-pos >= len(name) && strings.EqualFold(s[pos:pos+len(name)], name) {
					pos, ok = pos+len(name), true
					break
				}
			}
		case 'X', 'x', 'Z':
			if pos < len(s) && (s[pos] == 'Z' || s[pos] == 'z') {
				pos++
				offset, hasOffset, ok = 0, true, true
				break
			}
			if pos >= len(s) || (s[pos] != '+' && s[pos] != '-') {
				ok = false
				break
			}
			sign := 1
			if s[pos] == '-' {
				sign = -1
			}
			pos++
			var hh, mm int
			if hh, ok = num(2, 2); !ok {
				break
			}
			if pos < len(s) && s[pos] == ':' {
				pos++
			}
			if pos+2 <= len(s) && s[pos] >= '0' && s[pos] <= '9' {
				mm, _ = strconv.Atoi(s[pos : pos+2])
				pos += 2
			}
			offset, hasOffset = sign*(hh*3600+mm*60), true
		case 'z', 'V':
			j := pos
			for j < len(s) && (s[j] == '/' || s[j] == '_' || s[j] == '+' || s[j] == '-' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			l, err := loadZone(s[pos:j])
			if err != nil {
				return fail("unknown zone")
			}
			loc, pos, ok = l, j, true
		}
		if !ok {
			return fail(fmt.Sprintf("bad %s field", strings.Repeat(string(k.letter), k.n)))
		}
	}
	if pos != len(s) {
		return fail("unexpected trailing text")
	}
	if h12 || hasAmPm {
		hour %= 12
		if pm {
			hour += 12
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return fail("field out of range")
	}
	if hasOffset {
		loc = time.FixedZone("", offset)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	if yday > 0 {
		t = time.Date(year, 1, yday, hour, minute, sec, nanos, loc)
	} else if t.Day() != day {
		return fail("no such day")
	}
	return t, nil
}

var zones sync.Map // name → *time.Location

// loadZone resolves a time zone: an IANA name (America/New_York), UTC/Z,
// or an offset (+01:00, -0530, GMT+2).
func loadZone(name string) (*time.Location, error) {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), nil
	}
	n := strings.TrimSpace(name)
	var loc *time.Location
	switch up := strings.ToUpper(n); {
	case up == "UTC" || up == "Z" || up == "GMT" || up == "UT":
		loc = time.UTC
	case strings.HasPrefix(up, "UTC") || strings.HasPrefix(up, "GMT") || strings.HasPrefix(n, "+") || strings.HasPrefix(n, "-"):
		off := strings.TrimLeft(up, "UTCGM")
		ms, err := types.ParseTimestamp("1970-01-01T00:00:00" + normalizeOffset(off))
		if err != nil {
			return nil, errorf(ErrInvalidArgument, "unknown time zone %q", name)
		}
		loc = time.FixedZone(n, int(-ms/1000))
	default:
		l, err := time.LoadLocation(n)
		if err != nil || n == "" || n == "Local" {
			return nil, errorf(ErrInvalidArgument, "unknown time zone %q", name)
		}
		loc = l
	}
	zones.Store(name, loc)
	return loc, nil
}

// normalizeOffset turns "+2" into "+02" so ParseTimestamp accepts it.
func normalizeOffset(off string) string {
	if len(off) == 2 && (off[0] == '+' || off[0] == '-') {
		return off[:1] + "0" + off[1:]
	}
	return off
}
