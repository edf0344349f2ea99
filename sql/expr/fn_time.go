package expr

import (
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/runnel/runnel/sql/types"
)

// now is the clock of UNIX_TIMESTAMP() and UNIX_DATE(); tests replace it.
var now = time.Now

func zoneArg(a []types.Value, i int) (*time.Location, error) {
	if i >= len(a) {
		return time.UTC, nil
	}
	return loadZone(a[i].Str())
}

func formatMs(c *evalCtx, name string, ms int64, pattern string, a []types.Value, zi int) (types.Value, error) {
	toks, err := compileJava(pattern)
	if err != nil {
		return null, err
	}
	loc, err := zoneArg(a, zi)
	if err != nil {
		return null, err
	}
	return formatToks(c, name, ms, toks, len(pattern), loc)
}

// formatToks formats ms in loc with a compiled pattern of patternLen
// bytes.
func formatToks(c *evalCtx, name string, ms int64, toks []jtok, patternLen int, loc *time.Location) (types.Value, error) {
	w := builder{max: c.maxBytes - valueOverhead}
	// One allocation for the usual text, whose length is about the
	// pattern's (digits for letters), not one per doubling of it.
	w.b.Grow(int(min(int64(patternLen)+8, max(w.max, 0))))
	formatJava(toks, time.UnixMilli(ms).In(loc), &w)
	if w.err != nil {
		return null, c.tooLarge(name, math.MaxInt64)
	}
	return str(w.b.String()), nil
}

// ovFormat is an overload of TIMESTAMPTOSTRING or FORMAT_TIMESTAMP
// (milliseconds, a pattern, optionally a time zone): with a literal
// pattern and zone, as a query usually has, the pattern is compiled and
// the zone found once, when the call is bound. Otherwise (or when either
// is invalid, whose error then comes from each row, as before) both are
// looked up per row.
func ovFormat(name string, params ...pk) overload {
	perRow := func(c *evalCtx, a []types.Value) (types.Value, error) {
		return formatMs(c, name, a[0].Int(), a[1].Str(), a, 2)
	}
	o := ovL(types.String, perRow, params...)
	o.prep = func(c *evalCtx, args []Expr) impl {
		generic := func(a []types.Value) (types.Value, error) { return perRow(c, a) }
		pattern, ok := literalString(args[1])
		if !ok {
			return generic
		}
		toks, err := compileJava(pattern)
		if err != nil {
			return generic
		}
		loc := time.UTC
		if len(args) > 2 {
			zone, ok := literalString(args[2])
			if !ok {
				return generic
			}
			if loc, err = loadZone(zone); err != nil {
				return generic
			}
		}
		unit := patternUnit(toks)
		if unit == 0 {
			return func(a []types.Value) (types.Value, error) {
				return formatToks(c, name, a[0].Int(), toks, len(pattern), loc)
			}
		}
		var last atomic.Pointer[formatted]
		return func(a []types.Value) (types.Value, error) {
			ms := a[0].Int()
			if f := last.Load(); f != nil && ms >= f.lo && ms < f.hi {
				return f.v, nil
			}
			v, err := formatToks(c, name, ms, toks, len(pattern), loc)
			if err == nil {
				if lo, hi, ok := unitAround(ms, unit, loc); ok {
					last.Store(&formatted{lo: lo, hi: hi, v: v})
				}
			}
			return v, err
		}
	}
	return o
}

// formatted is the text a pattern gives every instant of [lo, hi): the
// last one a FORMAT_TIMESTAMP call site formatted, which the rows that
// follow usually share (a stream's times rise slowly: Nexmark q10's
// 'yyyy-MM-dd' and 'HH:mm' change once a day and once a minute).
type formatted struct {
	lo, hi int64
	v      types.Value
}

// patternUnit returns the span, in ms, of the finest field a compiled
// pattern writes, when it is a second, a minute, an hour or a day: two
// instants of one such span in the zone write the same text. 0 when
// the pattern writes a fraction of a second (S, n, A), or nothing that
// varies within a day, or when that span is not one of those: a span
// longer than a day (a month, a year) is not a whole number of ms.
func patternUnit(toks []jtok) int64 {
	unit := int64(msPerDay)
	for _, k := range toks {
		switch k.letter {
		case 0, 'y', 'u', 'M', 'L', 'd', 'D', 'E', 'X', 'x', 'Z', 'z', 'V':
			// Constant over a day whose zone offset and name are
			// constant (unitAround checks them).
		case 'H', 'k', 'h', 'K', 'a':
			unit = min(unit, 3_600_000)
		case 'm':
			unit = min(unit, 60_000)
		case 's':
			unit = min(unit, 1000)
		default: // S, n, A, and any letter added later
			return 0
		}
	}
	return unit
}

// unitAround returns the span [lo, hi) of length unit, aligned in loc's
// local time, that holds ms, when the zone in effect at ms (its offset
// and name) lasts through all of it (time.Time.ZoneBounds).
func unitAround(ms, unit int64, loc *time.Location) (lo, hi int64, ok bool) {
	if ms > math.MaxInt64/4 || ms < math.MinInt64/4 {
		return 0, 0, false // far from any row's time; no overflow below
	}
	t := time.UnixMilli(ms).In(loc)
	_, off := t.Zone()
	lo = floorDiv(ms+int64(off)*1000, unit)*unit - int64(off)*1000
	hi = lo + unit
	start, end := t.ZoneBounds()
	if (!start.IsZero() && lo < start.UnixMilli()) || (!end.IsZero() && hi > end.UnixMilli()) {
		return 0, 0, false
	}
	return lo, hi, true
}

// literalString returns e's value when e is a non-NULL STRING literal.
func literalString(e Expr) (string, bool) {
	l, ok := e.(*Literal)
	if !ok || l.Value.Kind() != types.KindString {
		return "", false
	}
	return l.Value.Str(), true
}

// daysToMs converts days since the epoch to ms, refusing what overflows.
func daysToMs(days int64) (int64, error) {
	if days > math.MaxInt64/msPerDay || days < math.MinInt64/msPerDay {
		return 0, errorf(ErrOutOfRange, "date %d days from the epoch is out of range", days)
	}
	return days * msPerDay, nil
}

func parseMs(s, pattern string, a []types.Value, zi int) (int64, error) {
	toks, err := compileJava(pattern)
	if err != nil {
		return 0, err
	}
	loc, err := zoneArg(a, zi)
	if err != nil {
		return 0, err
	}
	t, err := parseJava(toks, s, loc)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

// unitMs is the length of a fixed time unit; months and years are
// calendar arithmetic instead.
func timeUnit(u string) (ms int64, months int, ok bool) {
	switch strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(u)), "S") {
	case "MILLISECOND":
		return 1, 0, true
	case "SECOND":
		return 1000, 0, true
	case "MINUTE":
		return 60000, 0, true
	case "HOUR":
		return 3600000, 0, true
	case "DAY":
		return msPerDay, 0, true
	case "WEEK":
		return 7 * msPerDay, 0, true
	case "MONTH":
		return 0, 1, true
	case "QUARTER":
		return 0, 3, true
	case "YEAR":
		return 0, 12, true
	}
	return 0, 0, false
}

func addUnits(ms int64, unit string, n int64, sign int64) (int64, error) {
	step, months, ok := timeUnit(unit)
	if !ok {
		return 0, errorf(ErrInvalidArgument, "unknown time unit %q", unit)
	}
	// n comes from a row: the arithmetic is checked, an overflow is out of
	// range, never a wrapped-around time. (time.Time itself only spans
	// some 292 billion years, far more than milliseconds do.)
	outOfRange := errorf(ErrOutOfRange, "%d %s from %d ms is out of range", n, unit, ms)
	if months != 0 {
		const maxMonths = 12 * 300_000_000 // well inside time.Time's range
		if n > maxMonths || n < -maxMonths {
			return 0, outOfRange
		}
		t := time.UnixMilli(ms).UTC().AddDate(0, int(sign*n)*months, 0)
		if t.Year() > 292_000_000 || t.Year() < -292_000_000 {
			return 0, outOfRange
		}
		return t.UnixMilli(), nil
	}
	d, ok := mulInt64(sign*n, step)
	if ok {
		d, ok = add64(ms, d)
	}
	if !ok {
		return 0, outOfRange
	}
	return d, nil
}

func init() {
	register(
		fn("UNIX_TIMESTAMP", "DATE / TIME", "Milliseconds since the epoch: now, or of a TIMESTAMP.",
			ov(types.Bigint, func([]types.Value) (types.Value, error) { return types.NewBigint(now().UnixMilli()), nil }),
			ov1(types.Bigint, func(a types.Value) (types.Value, error) { return types.NewBigint(a.Int()), nil }, pTimestamp)),
		fn("UNIX_DATE", "DATE / TIME", "Days since the epoch: today (UTC), or of a DATE.",
			ov(types.Int, func([]types.Value) (types.Value, error) {
				return intV(int(floorDiv(now().UnixMilli(), msPerDay))), nil
			}),
			ov1(types.Int, func(a types.Value) (types.Value, error) { return intV(int(a.Int())), nil }, pDate)),
		fn("FROM_UNIXTIME", "DATE / TIME", "The TIMESTAMP of milliseconds since the epoch.",
			ov1(types.Timestamp, func(a types.Value) (types.Value, error) { return types.NewTimestamp(a.Int()), nil }, pIntegral)),
		fn("FROM_DAYS", "DATE / TIME", "The DATE of days since the epoch.",
			ov1(types.Date, func(a types.Value) (types.Value, error) { return types.NewDate(a.Int()), nil }, pIntegral)),
		fn("TIMESTAMPTOSTRING", "DATE / TIME", "Formats milliseconds since the epoch with a Java DateTimeFormatter pattern, in UTC or a time zone.",
			ovFormat("TIMESTAMPTOSTRING", pIntegral, pString),
			ovFormat("TIMESTAMPTOSTRING", pIntegral, pString, pString)),
		fn("STRINGTOTIMESTAMP", "DATE / TIME", "Parses a string with a Java DateTimeFormatter pattern into milliseconds since the epoch, in UTC or a time zone.",
			ov(types.Bigint, func(a []types.Value) (types.Value, error) {
				ms, err := parseMs(a[0].Str(), a[1].Str(), a, 2)
				return types.NewBigint(ms), err
			}, pString, pString),
			ov(types.Bigint, func(a []types.Value) (types.Value, error) {
				ms, err := parseMs(a[0].Str(), a[1].Str(), a, 2)
				return types.NewBigint(ms), err
			}, pString, pString, pString)),
		fn("FORMAT_TIMESTAMP", "DATE / TIME", "Formats a TIMESTAMP with a Java DateTimeFormatter pattern, in UTC or a time zone.",
			ovFormat("FORMAT_TIMESTAMP", pTimestamp, pString),
			ovFormat("FORMAT_TIMESTAMP", pTimestamp, pString, pString)),
		fn("PARSE_TIMESTAMP", "DATE / TIME", "Parses a string with a Java DateTimeFormatter pattern into a TIMESTAMP, in UTC or a time zone.",
			ov(types.Timestamp, func(a []types.Value) (types.Value, error) {
				ms, err := parseMs(a[0].Str(), a[1].Str(), a, 2)
				return types.NewTimestamp(ms), err
			}, pString, pString),
			ov(types.Timestamp, func(a []types.Value) (types.Value, error) {
				ms, err := parseMs(a[0].Str(), a[1].Str(), a, 2)
				return types.NewTimestamp(ms), err
			}, pString, pString, pString)),
		fn("DATETOSTRING", "DATE / TIME", "Formats days since the epoch with a Java DateTimeFormatter pattern.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				ms, err := daysToMs(a[0].Int())
				if err != nil {
					return null, err
				}
				return formatMs(c, "DATETOSTRING", ms, a[1].Str(), nil, 0)
			}, pIntegral, pString)),
		fn("STRINGTODATE", "DATE / TIME", "Parses a string with a Java DateTimeFormatter pattern into days since the epoch.",
			ov(types.Int, func(a []types.Value) (types.Value, error) {
				ms, err := parseMs(a[0].Str(), a[1].Str(), nil, 0)
				return intV(int(floorDiv(ms, msPerDay))), err
			}, pString, pString)),
		fn("FORMAT_DATE", "DATE / TIME", "Formats a DATE with a Java DateTimeFormatter pattern.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				ms, err := daysToMs(a[0].Int())
				if err != nil {
					return null, err
				}
				return formatMs(c, "FORMAT_DATE", ms, a[1].Str(), nil, 0)
			}, pDate, pString)),
		fn("PARSE_DATE", "DATE / TIME", "Parses a string with a Java DateTimeFormatter pattern into a DATE.",
			ov(types.Date, func(a []types.Value) (types.Value, error) {
				ms, err := parseMs(a[0].Str(), a[1].Str(), nil, 0)
				return types.NewDate(floorDiv(ms, msPerDay)), err
			}, pString, pString)),
		fn("FORMAT_TIME", "DATE / TIME", "Formats a TIME with a Java DateTimeFormatter pattern.",
			ovL(types.String, func(c *evalCtx, a []types.Value) (types.Value, error) {
				return formatMs(c, "FORMAT_TIME", a[0].Int(), a[1].Str(), nil, 0)
			}, pTime, pString)),
		fn("PARSE_TIME", "DATE / TIME", "Parses a string with a Java DateTimeFormatter pattern into a TIME.",
			ov(types.Time, func(a []types.Value) (types.Value, error) {
				ms, err := parseMs(a[0].Str(), a[1].Str(), nil, 0)
				return types.NewTime(floorMod(ms, msPerDay)), err
			}, pString, pString)),
		fn("CONVERT_TZ", "DATE / TIME", "Shifts a TIMESTAMP from one time zone's wall clock to another's.",
			ov(types.Timestamp, func(a []types.Value) (types.Value, error) {
				from, err := loadZone(a[1].Str())
				if err != nil {
					return null, err
				}
				to, err := loadZone(a[2].Str())
				if err != nil {
					return null, err
				}
				// The value is a wall-clock time in from; find the instant,
				// then its wall clock in to, re-read as UTC.
				wall := time.UnixMilli(a[0].Int()).UTC()
				inst := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), from)
				w2 := inst.In(to)
				out := time.Date(w2.Year(), w2.Month(), w2.Day(), w2.Hour(), w2.Minute(), w2.Second(), w2.Nanosecond(), time.UTC)
				return types.NewTimestamp(out.UnixMilli()), nil
			}, pTimestamp, pString, pString)),
		timeAdd("TIMESTAMPADD", "Adds an interval (unit, count) to a TIMESTAMP: TIMESTAMPADD(SECONDS, 5, ts).", pTimestamp, 1),
		timeAdd("TIMESTAMPSUB", "Subtracts an interval (unit, count) from a TIMESTAMP.", pTimestamp, -1),
		timeAdd("DATEADD", "Adds an interval (unit of a day or more, count) to a DATE.", pDate, 1),
		timeAdd("DATESUB", "Subtracts an interval (unit of a day or more, count) from a DATE.", pDate, -1),
		timeAdd("TIMEADD", "Adds an interval (unit, count) to a TIME, wrapping at midnight.", pTime, 1),
		timeAdd("TIMESUB", "Subtracts an interval (unit, count) from a TIME, wrapping at midnight.", pTime, -1),
	)
}

func timeAdd(name, desc string, target pk, sign int64) *Function {
	t := pkDefault(target)
	return fn(name, "DATE / TIME", desc,
		ov(t, func(a []types.Value) (types.Value, error) {
			unit, n, v := a[0].Str(), a[1].Int(), a[2].Int()
			switch target {
			case pDate:
				ms, err := daysToMs(v)
				if err != nil {
					return null, err
				}
				ms, err = addUnits(ms, unit, n, sign)
				if err != nil {
					return null, err
				}
				return types.NewDate(floorDiv(ms, msPerDay)), nil
			case pTime:
				ms, err := addUnits(v, unit, n, sign)
				if err != nil {
					return null, err
				}
				return types.NewTime(floorMod(ms, msPerDay)), nil
			}
			ms, err := addUnits(v, unit, n, sign)
			return types.NewTimestamp(ms), err
		}, pString, pIntegral, target))
}
