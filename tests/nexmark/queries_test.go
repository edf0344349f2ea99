package nexmark

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestParseStages: what a query file's statements read and write, a
// declaration over an earlier stage's topic included, and the files
// parse refuses.
func TestParseStages(t *testing.T) {
	const counts = "CREATE TABLE nexmark_qx_counts AS\nSELECT auction, COUNT(*) AS n FROM bid GROUP BY auction;\n"
	const declared = "CREATE STREAM nexmark_qx_changes (auction BIGINT KEY, n BIGINT)\nWITH (kafka_topic='NEXMARK_QX_COUNTS');\n"
	for _, tc := range []struct {
		name, text string
		// stages are "sink topic declared inputs" per stage; err a
		// substring of parse's error.
		stages []string
		err    string
	}{
		{
			name:   "one stage",
			text:   "-- a comment\nCREATE STREAM nexmark_qx AS\nSELECT * FROM bid;\n",
			stages: []string{"NEXMARK_QX NEXMARK_QX false nexmark_bid"},
		},
		{
			name: "a declaration read by the next stage",
			text: counts + declared + "CREATE TABLE nexmark_qx AS\nSELECT auction, MAX(n) AS m FROM nexmark_qx_changes GROUP BY auction;\n",
			stages: []string{
				"NEXMARK_QX_COUNTS NEXMARK_QX_COUNTS false nexmark_bid",
				"NEXMARK_QX_CHANGES NEXMARK_QX_COUNTS true NEXMARK_QX_COUNTS",
				"NEXMARK_QX NEXMARK_QX false NEXMARK_QX_COUNTS",
			},
		},
		{
			name: "an insert into an earlier stage's stream",
			text: "CREATE STREAM nexmark_qx_bids AS\nSELECT * FROM bid WHERE price > 10;\n" +
				"INSERT INTO nexmark_qx_bids\nSELECT * FROM bid WHERE price < 5;\n" +
				"CREATE TABLE nexmark_qx AS\nSELECT auction, COUNT(*) AS n FROM nexmark_qx_bids GROUP BY auction;\n",
			stages: []string{
				"NEXMARK_QX_BIDS NEXMARK_QX_BIDS false nexmark_bid",
				"NEXMARK_QX_BIDS NEXMARK_QX_BIDS false nexmark_bid",
				"NEXMARK_QX NEXMARK_QX false NEXMARK_QX_BIDS",
			},
		},
		{
			name: "an insert into a later stage",
			text: "INSERT INTO nexmark_qx\nSELECT * FROM bid;\nCREATE STREAM nexmark_qx AS\nSELECT * FROM bid;\n",
			err:  "INSERT INTO nexmark_qx, not an earlier stage",
		},
		{
			name: "an insert last",
			text: "CREATE STREAM nexmark_qx AS\nSELECT * FROM bid;\nINSERT INTO nexmark_qx\nSELECT * FROM bid;\n",
			err:  "not NEXMARK_QX AS SELECT",
		},
		{
			name: "a declaration without a topic",
			text: counts + "CREATE STREAM nexmark_qx_changes (n BIGINT)\nWITH (value_format='JSON');\n",
			err:  "names no kafka_topic",
		},
		{
			name: "a declaration over an event topic",
			text: "CREATE STREAM nexmark_qx_bids (price BIGINT)\nWITH (kafka_topic='nexmark_bid');\n",
			err:  "not an earlier stage's topic",
		},
		{
			name: "a declaration last",
			text: counts + "CREATE STREAM nexmark_qx (auction BIGINT KEY, n BIGINT)\nWITH (kafka_topic='NEXMARK_QX_COUNTS');\n",
			err:  "not NEXMARK_QX AS SELECT",
		},
		{
			name: "a stage reading a later one",
			text: "CREATE STREAM nexmark_qx AS\nSELECT * FROM nexmark_qx_later;\n",
			err:  "neither an event stream nor an earlier stage",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := Query{Name: "qx"}
			err := q.parse(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parse: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range q.Stages {
				got = append(got, strings.Join([]string{s.Sink, s.Topic, strconv.FormatBool(s.Declared),
					strings.Join(s.Inputs, ",")}, " "))
				if s.Insert != strings.HasPrefix(s.SQL, "INSERT") {
					t.Errorf("%s: Insert %v for %q", s.Sink, s.Insert, s.SQL)
				}
			}
			if !slices.Equal(got, tc.stages) {
				t.Errorf("stages\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.stages, "\n"))
			}
			if !slices.Equal(q.Inputs, []Kind{KindBid}) {
				t.Errorf("inputs %v, want the bids", q.Inputs)
			}
		})
	}
}
