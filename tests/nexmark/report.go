package nexmark

import (
	"fmt"
	"html"
	"os"
	"strconv"
	"strings"
)

// The markers around the sections of BENCHMARKS.md that `make nexmark`
// rewrites; everything outside them is left as it is.
const (
	throughputBegin = "<!-- nexmark:throughput:begin -->"
	throughputEnd   = "<!-- nexmark:throughput:end -->"
	latencyBegin    = "<!-- nexmark:latency:begin -->"
	latencyEnd      = "<!-- nexmark:latency:end -->"
)

// Markdown is the throughput section of BENCHMARKS.md: the run's machine,
// commit and load, and a table of every query's figures.
func (r *Report) Markdown(commit, chart string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run on %s at commit `%s` (`make nexmark`: %s events, seed %d, %d partitions per topic).\n\n",
		r.Started.Format("2006-01-02 15:04 UTC"), commit, thousands(r.Options.Events), r.Options.Generator.Seed, r.Options.Partitions)
	fmt.Fprintf(&b, "- Machine: %s.\n", r.Machine)
	fmt.Fprintf(&b, "- Load: %s.\n", r.Quietness())
	fmt.Fprintf(&b, "- Events: %s (%s people, %s auctions, %s bids), loaded through the log API in %.1f s (%s events/s, %.0f MB of JSON).\n",
		thousands(r.Load.Events), thousands(r.Load.ByKind[KindPerson]), thousands(r.Load.ByKind[KindAuction]), thousands(r.Load.ByKind[KindBid]),
		r.Load.Elapsed.Seconds(), thousands(int64(r.Load.Rate())), float64(r.Load.Bytes)/1e6)
	fmt.Fprintf(&b, "- Raw copy of `%s` (no decoding, one commit per read batch): %s events/s, %s per core, %.1f CPU seconds.\n\n",
		Topics[KindBid], thousands(int64(r.RawCopy.Rate())), thousands(int64(r.RawCopy.Rate()/float64(r.Machine.Procs))), r.RawCopy.Usage.Process.Seconds())
	b.WriteString("| query | what | events | seconds | events/s | events/s/core | state bytes | raw copy ratio | CPU seconds | state ratio |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var unsupported []string
	for _, res := range r.Results {
		q := res.Query
		switch {
		case !q.Supported():
			unsupported = append(unsupported, q.Name)
		case res.Incomplete:
			fmt.Fprintf(&b, "| %s | %s | %s | did not finish in %.0f s | about %s | | | | %.1f | |\n", q.Name, q.Title, thousands(res.Events),
				res.Elapsed.Seconds(), thousands(int64(float64(res.SinkUpdates)/res.Elapsed.Seconds())), res.Usage.Process.Seconds())
		default:
			fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %s | %s | %s | %.2f | %.1f | %s |\n", q.Name, q.Title, thousands(res.Events),
				res.Elapsed.Seconds(), thousands(int64(res.Rate())), thousands(int64(res.PerCore())), thousands(res.StateBytes),
				res.RawCopyRatio(), res.Usage.Process.Seconds(), stateRatio(res))
		}
	}
	if len(unsupported) > 0 {
		fmt.Fprintf(&b, "\nNot supported (see the queries above): %s.\n", strings.Join(unsupported, ", "))
	}
	for _, res := range r.Results {
		if res.Incomplete {
			fmt.Fprintf(&b, "\nAn unfinished query's events/s is its sink's records (one per input record it aggregated) over the time it had.\n")
			break
		}
	}
	if chart != "" {
		fmt.Fprintf(&b, "\n![events/s per core of each query](%s)\n", chart)
	}
	return b.String()
}

// stateRatio is a result's StateRatio for the table, empty for a query
// without state.
func stateRatio(res Result) string {
	if res.StateBytes <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", res.StateRatio())
}

// thousands prints 1234567 as 1,234,567.
func thousands(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// LatencyMarkdown is the latency section of BENCHMARKS.md.
func LatencyMarkdown(results []LatencyResult, m Machine, commit, when, quiet string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run on %s at commit `%s` on %s. Load: %s.\n\n", when, commit, m, quiet)
	b.WriteString("| query | rate asked | rate written | events | sink p50 ms | sink p99 ms | sink max ms | push p50 ms | push p99 ms | push max ms |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	ms := func(p Percentiles, which int) string {
		d := [3]float64{p.P50.Seconds(), p.P99.Seconds(), p.Max.Seconds()}[which]
		return fmt.Sprintf("%.1f", d*1000)
	}
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Query,
			thousands(int64(r.Rate)), thousands(int64(r.Achieved)), thousands(r.Events),
			ms(r.Sink, 0), ms(r.Sink, 1), ms(r.Sink, 2), ms(r.Push, 0), ms(r.Push, 1), ms(r.Push, 2))
	}
	return b.String()
}

// ReplaceSection rewrites the text between the begin and end markers of
// kind ("throughput" or "latency") in the file at path, leaving the rest.
func ReplaceSection(path, kind, content string) error {
	s, i, j, err := findSection(path, kind)
	if err != nil {
		return err
	}
	s = s[:i] + "\n" + content + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}

// CheckSection reports whether ReplaceSection can rewrite the file, so
// that a long run fails at its start rather than at its end.
func CheckSection(path, kind string) error {
	_, _, _, err := findSection(path, kind)
	return err
}

// findSection returns the file's text and the bounds of the section's
// content: after the begin marker, up to the end marker.
func findSection(path, kind string) (text string, from, to int, err error) {
	begin, end := throughputBegin, throughputEnd
	if kind == "latency" {
		begin, end = latencyBegin, latencyEnd
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, 0, err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return "", 0, 0, fmt.Errorf("nexmark: %s has no %s ... %s section to rewrite", path, begin, end)
	}
	return s, i + len(begin), j, nil
}

// SVG draws the run as a horizontal bar chart: events/s per core of each
// supported query, with the raw copy's as a reference bar, and the
// queries Runnel does not run listed below.
func (r *Report) SVG(commit string) string {
	type bar struct {
		label string
		value float64
		ref   bool
	}
	bars := []bar{{label: "raw copy", value: r.RawCopy.Rate() / float64(r.Machine.Procs), ref: true}}
	var unsupported []string
	for _, res := range r.Results {
		if !res.Query.Supported() {
			unsupported = append(unsupported, res.Query.Name)
			continue
		}
		label, value := res.Query.Name+" "+res.Query.Title, res.PerCore()
		if res.Incomplete {
			// What it managed before the bound: a ceiling on its speed.
			label += " (unfinished)"
			value = float64(res.SinkUpdates) / res.Elapsed.Seconds() / float64(res.Cores)
		}
		bars = append(bars, bar{label: label, value: value})
	}
	top := 0.0
	for _, b := range bars {
		top = max(top, b.value)
	}
	top = niceCeil(top)
	const (
		width  = 860
		left   = 300 // room for the labels
		right  = 70  // room for the values
		rowH   = 24
		header = 76
	)
	plotW := float64(width - left - right)
	height := header + rowH*len(bars) + 56
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">Runnel on Nexmark: input events/s per core</text>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#555">%s</text>`+"\n", html.EscapeString(fmt.Sprintf(
		"%s events (%s bids), commit %s, %s; embedded durable log, JSON, exactly-once",
		thousands(r.Options.Events), thousands(r.Load.ByKind[KindBid]), commit, r.Started.Format("2006-01-02"))))
	fmt.Fprintf(&b, `<text x="10" y="54" fill="#555">%s</text>`+"\n", html.EscapeString(fmt.Sprintf(
		"%d cores (%s); %s", r.Machine.Procs, r.Machine.Go, shortQuiet(r))))
	// Grid lines at fifths of the scale.
	for i := 0; i <= 5; i++ {
		x := left + plotW*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, header-6, x, header+rowH*len(bars))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", x, header+rowH*len(bars)+16, humanCount(top*float64(i)/5))
	}
	for i, bb := range bars {
		y := header + rowH*i
		w := 0.0
		if top > 0 {
			w = plotW * bb.value / top
		}
		fill := "#2b6cb0"
		if bb.ref {
			fill = "#a0aec0"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+rowH/2+4, html.EscapeString(bb.label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y+3, w, rowH-6, fill)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(left)+w+6, y+rowH/2+4, humanCount(bb.value))
	}
	if len(unsupported) > 0 {
		fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%s</text>`+"\n", height-14,
			html.EscapeString("Not supported yet (joins, ROW_NUMBER, processing time): "+strings.Join(unsupported, ", ")))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func shortQuiet(r *Report) string {
	oc := r.Usage.OtherCores()
	if oc < 0 {
		return "machine load unknown"
	}
	return fmt.Sprintf("other processes kept %.2f cores busy", oc)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for p > v {
		p /= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// humanCount prints 123456 as 123k and 1234567 as 1.23M.
func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
