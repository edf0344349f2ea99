package nexmark

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBench runs the benchmark harness end to end on a few events: the
// load, the raw copy, a stateless query, a query of several stages over
// two event streams (q3: its events are the people and auctions), an
// unsupported one and an aggregation, with their lines, the report and
// the chart.
func TestBench(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := Bench(ctx, BenchOptions{Events: 3000, Queries: []string{"q0", "q3", "q6", "q17", "q20"}, DataDir: filepath.Join(t.TempDir(), "data"),
		CPUProfileDir: t.TempDir(), Out: &out, QueryTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	for _, re := range []string{
		`(?m)^nexmark load events=3000 persons=60 auctions=180 bids=2760 seconds=\S+ events/s=\d+ bytes=\d+$`,
		`(?m)^nexmark raw_copy topic=nexmark_bid events=2760 seconds=\S+ events/s=\d+ events/s/core=\d+ cpu_seconds=\S+$`,
		`(?m)^nexmark q0 events=2760 seconds=\S+ events/s=\d+ events/s/core=\d+ state_bytes=0 raw_copy_ratio=\S+ cpu_seconds=\S+ state_ratio=0\.00 offsets_written=[1-9]\d* minor_faults=\d+$`,
		`(?m)^nexmark q3 events=240 seconds=\S+ events/s=\d+ events/s/core=\d+ state_bytes=[1-9]\d* raw_copy_ratio=\S+ cpu_seconds=\S+ state_ratio=\d+\.\d\d offsets_written=[1-9]\d* minor_faults=\d+$`,
		`(?m)^nexmark q6 not supported: needs an OVER window`,
		`(?m)^nexmark q17 events=2760 seconds=\S+ events/s=\d+ events/s/core=\d+ state_bytes=[1-9]\d* raw_copy_ratio=\S+ cpu_seconds=\S+ state_ratio=\d+\.\d\d offsets_written=[1-9]\d* minor_faults=\d+$`,
		// A stream written by a stream-stream join keeps its windows' records.
		`(?m)^nexmark q20 events=2940 seconds=\S+ events/s=\d+ events/s/core=\d+ state_bytes=[1-9]\d* raw_copy_ratio=\S+ cpu_seconds=\S+ state_ratio=\d+\.\d\d offsets_written=[1-9]\d* minor_faults=\d+$`,
		// What the LSM wrote: q0 wrote its sink's records to the database.
		`(?m)^nexmark lsm q0 wal_mb=(?:[1-9]\d*\.\d|0\.[1-9]) flushed_mb=\S+\(records \S+, meta \S+, state \S+\) compacted_mb=\S+\(records \S+, meta \S+, state \S+\) intra_l0_mb=\S+ moved_mb=\S+\(records \S+, meta \S+, state \S+\) flushes=\d+ compactions=\d+ moves=\d+ write_amp=\S+ cpu_seconds=\S+$`,
		`(?m)^nexmark lsm raw_copy wal_mb=\S+ `,
		`(?m)^nexmark lsm settle_before_q3 wal_mb=\S+ `,
		`(?m)^nexmark lsm settle_after_q20 wal_mb=\S+ `,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("no line matches %s in:\n%s", re, text)
		}
	}
	if len(rep.Results) != 5 || rep.Results[3].StateKeys == 0 || rep.Results[3].StateDiskBytes <= 0 || rep.Results[3].Incomplete || rep.Results[1].Incomplete {
		t.Errorf("results %+v", rep.Results)
	}
	// q0 writes a record per bid into its sink, and commit markers;
	// q20's join writes its repartitioned inputs too, then a row per
	// bid that meets its auction.
	if w := rep.Results[0].Written; w < 2760 {
		t.Errorf("q0 wrote %d offsets, want at least its 2,760 bids", w)
	}
	if w := rep.Results[4].Written; w <= 2940 {
		t.Errorf("q20 wrote %d offsets, want more than its 2,940 inputs (their repartitions, then its rows)", w)
	}
	md := rep.Markdown("abc123", "chart.svg")
	for _, want := range []string{"commit `abc123`", "| q0 | pass through | 2,760 |", "| q3 | local item suggestion | 240 |", "| q17 | auction statistics report | 2,760 |",
		"Not supported (see the queries above): q6.", "](chart.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	checkSVG(t, rep.SVG("abc123"), "q0 pass through", "q3 local item suggestion", "q17 auction statistics report", "raw copy", "q6")
}

// checkSVG checks that an SVG is well-formed XML holding the texts.
func checkSVG(t *testing.T, svg string, texts ...string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the chart is not XML: %v\n%s", err, svg)
		}
	}
	for _, s := range texts {
		if !strings.Contains(svg, s) {
			t.Errorf("the chart lacks %q", s)
		}
	}
}

// TestLatency measures q0's latency at a low rate for a second: every bid
// is seen by both watchers, and the percentiles are ordered.
func TestLatency(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Latency(ctx, LatencyOptions{Rate: 2000, Duration: time.Second, Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	r := res[0]
	const bids = 2000 * 46 / 50
	if r.Events != 2000 || r.Sink.N != bids || r.Push.N != bids {
		t.Fatalf("%d events, %d sink and %d push samples, want %d each", r.Events, r.Sink.N, r.Push.N, bids)
	}
	for _, p := range []Percentiles{r.Sink, r.Push} {
		if p.P50 <= 0 || p.P50 > p.P99 || p.P99 > p.Max {
			t.Errorf("percentiles out of order: %+v", p)
		}
	}
	if !regexp.MustCompile(`^nexmark latency q0 rate=2000 achieved=\d+ events=2000 sink_p50_ms=\S+ sink_p99_ms=\S+ sink_max_ms=\S+ push_p50_ms=\S+ push_p99_ms=\S+ push_max_ms=\S+$`).MatchString(r.Line()) {
		t.Errorf("line %q", r.Line())
	}
	if _, err := Latency(ctx, LatencyOptions{Rate: 100, Queries: []string{"q17"}}); err == nil {
		t.Errorf("latency of q17, whose rows do not carry their bid's time, was accepted")
	}
}

// TestReplaceSection rewrites only between the markers, and refuses a file
// without them.
func TestReplaceSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	before := "# Title\n\nintro\n" + throughputBegin + "\nold\n" + throughputEnd + "\nafter\n" + latencyBegin + "\nold latency\n" + latencyEnd + "\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(path, "throughput", "new table"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# Title\n\nintro\n" + throughputBegin + "\nnew table\n" + throughputEnd + "\nafter\n" + latencyBegin + "\nold latency\n" + latencyEnd + "\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	bare := filepath.Join(t.TempDir(), "bare.md")
	os.WriteFile(bare, []byte("no markers"), 0o644)
	if err := CheckSection(bare, "latency"); err == nil {
		t.Error("a file without markers was accepted")
	}
}

func TestFormatting(t *testing.T) {
	for v, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%d) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]float64{0: 1, 0.3: 0.5, 7: 10, 92622: 100000, 120000: 200000, 450000: 500000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
}

// TestBenchmarksDoc: BENCHMARKS.md's table of queries says of each query
// what Queries says: supported or not.
func TestBenchmarksDoc(t *testing.T) {
	doc, err := os.ReadFile("../../BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range Queries() {
		m := regexp.MustCompile(`(?m)^\| ` + q.Name + ` \| [^|]+ \| (.*) \|$`).FindStringSubmatch(string(doc))
		if m == nil {
			t.Errorf("BENCHMARKS.md has no row for %s", q.Name)
			continue
		}
		if says := !strings.HasPrefix(m[1], "not supported"); says != q.Supported() {
			t.Errorf("BENCHMARKS.md says of %s %q; Queries says supported = %v", q.Name, m[1], q.Supported())
		}
	}
}

// TestQueryFiles: every supported query has its file and every file is a
// supported query's; each statement creates its sink from the stream it
// reads.
func TestQueryFiles(t *testing.T) {
	entries, err := queryFiles.ReadDir("queries")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, e := range entries {
		files[strings.TrimSuffix(e.Name(), ".sql")] = true
	}
	for _, q := range Queries() {
		if q.Supported() != files[q.Name] {
			t.Errorf("%s: supported %v, file %v", q.Name, q.Supported(), files[q.Name])
		}
		delete(files, q.Name)
		if !q.Supported() {
			continue
		}
		if len(q.Inputs) == 0 {
			t.Errorf("%s: reads no event stream:\n%s", q.Name, q.SQL)
		}
		for _, st := range q.Stages {
			kind := "STREAM"
			if st.Table {
				kind = "TABLE"
			}
			// A WITH clause may come before AS (q16's and q17's key format);
			// a declaration has its columns and WITH instead.
			tail := `( WITH \([^)]*\))? AS\n`
			if st.Declared {
				tail = ` \(`
			}
			head := regexp.MustCompile(`^CREATE ` + kind + ` ` + regexp.QuoteMeta(strings.ToLower(st.Sink)) + tail)
			if st.Insert {
				head = regexp.MustCompile(`^INSERT INTO ` + regexp.QuoteMeta(strings.ToLower(st.Sink)) + `\nSELECT `)
			}
			if !head.MatchString(st.SQL) {
				t.Errorf("%s: a statement does not create %s %s as its first line says:\n%s", q.Name, kind, st.Sink, st.SQL)
			}
			if strings.Contains(st.SQL, "--") || strings.Contains(st.SQL, ";") {
				t.Errorf("%s: comments or semicolons left in:\n%s", q.Name, st.SQL)
			}
			if !strings.HasPrefix(st.Sink, q.Sink) {
				t.Errorf("%s: stage %s is not named after the query's sink %s", q.Name, st.Sink, q.Sink)
			}
		}
	}
	for f := range files {
		t.Errorf("queries/%s.sql is not in the query list", f)
	}
}
