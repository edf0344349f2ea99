package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/tests/harness"
	"github.com/runnel/runnel/tests/nexmark"
)

// TestNexmarkCommands: the subcommand's usage errors, and the query list.
func TestNexmarkCommands(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"nexmark"}, {"nexmark", "bogus"}, {"nexmark", "generate"}, {"nexmark", "generate", "--events", "-3"},
		{"nexmark", "generate", "--events", "5", "extra"}, {"nexmark", "generate", "--events", "5", "--pgwire", "x:1", "--kafka", "y:2"},
		{"nexmark", "generate", "--events", "5", "--partitions", "0"}, {"nexmark", "bench", "--partitions", "0"},
		{"nexmark", "bench", "--benchmarks", filepath.Join(t.TempDir(), "missing.md")}, {"nexmark", "bench", "--queries", "q99"}} {
		if err := run(ctx, args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%q was accepted", args)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"nexmark", "queries"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE STREAM IF NOT EXISTS bid (auction BIGINT", "-- q0: pass through\nCREATE STREAM nexmark_q0 AS\n",
		"-- q3: local item suggestion\nCREATE STREAM nexmark_q3_person_by_id AS\n", ";\n\nCREATE TABLE nexmark_q3 AS\n",
		";\n\nINSERT INTO nexmark_q7_bids\n",
		"-- q6: average selling price by seller\n-- not supported: needs an OVER window", "CREATE TABLE nexmark_q17 WITH (key_format='JSON') AS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("runnel nexmark queries lacks %q:\n%s", want, out.String())
		}
	}
}

// TestNexmarkGenerate: generate into a data directory, then continue from
// where it stopped; a server on that directory then serves the events. A
// directory a server holds is refused with a hint, and --pgwire writes
// through that server instead.
func TestNexmarkGenerate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"nexmark", "generate", "--events", "2000", "--data-dir", dir, "--partitions", "2", "--seed", "5"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "wrote 2000 events (40 people, 120 auctions, 1840 bids)") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"nexmark", "generate", "--events", "500", "--first", "2000", "--data-dir", dir, "--seed", "5", "--rate", "20000"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "generating events 2000 to 2499 (seed 5) at 20000 events/s") {
		t.Errorf("output:\n%s", out.String())
	}

	s := harness.Start(t, harness.Options{DataDir: dir})
	lg := s.Engine.Log()
	var total int64
	for _, topic := range nexmark.Topics {
		ends, err := lg.EndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if len(ends) != 2 {
			t.Errorf("%s has %d partitions, want 2", topic, len(ends))
		}
		for _, e := range ends {
			total += e
		}
	}
	if total != 2500 {
		t.Fatalf("the topics hold %d events, want 2500", total)
	}
	conn := s.Connect(t)
	if got := harness.Rows(t, conn, "SELECT auction, price FROM bid WHERE bidder > 0 LIMIT 1"); len(got) != 1 {
		t.Fatalf("bid scan: %v", got)
	}

	out.Reset()
	err := run(ctx, []string{"nexmark", "generate", "--events", "10", "--data-dir", dir}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--pgwire") {
		t.Fatalf("generating into a directory a server holds: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"nexmark", "generate", "--events", "300", "--first", "2500", "--seed", "5", "--pgwire", s.Addr, "--insert-rows", "50"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	ends, err := lg.EndOffsets(ctx, nexmark.Topics[nexmark.KindBid])
	if err != nil {
		t.Fatal(err)
	}
	if ends[0]+ends[1] != 2300+276 {
		t.Fatalf("the bid topic holds %v records, want %d", ends, 2300+276)
	}
}
