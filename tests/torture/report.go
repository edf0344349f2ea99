package torture

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report is what a run did and found.
type Report struct {
	Seed uint64
	// Nodes is how many servers ran (more than one: a cluster on Kafka).
	Nodes int
	// Kills is how many times the server was killed with SIGKILL;
	// EarlyKills how many of them came before the restart answered.
	Kills, EarlyKills int
	// Restarts are the times from a kill to the restarted server
	// answering SHOW QUERIES, for the restarts that were let answer.
	Restarts []time.Duration
	// Opens are the server's own share of those restarts: from exec to
	// its "serving pgwire" line (opening the log and the state stores,
	// replaying the catalog, starting the queries).
	Opens []time.Duration
	// Graceful is the time a SIGTERM-stopped server took to answer again
	// (the last check runs after it); zero if the run did not get there.
	Graceful time.Duration

	// Writing is the wall time the writers ran, restarts included.
	Writing time.Duration
	// Statements are the INSERTs acknowledged.
	Statements int64
	// Acked, Unknown and Refused count ids by outcome.
	Acked, Unknown, Refused int64
	// Stalls are INSERTs unanswered for the statement timeout; BadTags
	// INSERTs acknowledged with a wrong command tag.
	Stalls, BadTags int64
	// FirstRefusal is the first server error an INSERT got.
	FirstRefusal string

	// Checks holds the figures of each check: after the kills, and again
	// after a graceful restart.
	Checks []tallies
	// ServerErrors counts level=ERROR lines in the server's log;
	// ServerWarnings level=WARN lines.
	ServerErrors, ServerWarnings int

	// DataDir and Logs are where the servers' data and output are (kept
	// after a failed run); Logs has one file per server.
	DataDir string
	Logs    []string
}

// RowsPerSecond is the acknowledged rows per second of writing.
func (r *Report) RowsPerSecond() float64 {
	if r.Writing <= 0 {
		return 0
	}
	return float64(r.Acked) / r.Writing.Seconds()
}

// durationStats are the minimum, median, 90th percentile and maximum.
type durationStats struct{ Min, Median, P90, Max time.Duration }

func summarize(ds []time.Duration) durationStats {
	if len(ds) == 0 {
		return durationStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1)+0.5)] }
	return durationStats{Min: s[0], Median: at(0.5), P90: at(0.9), Max: s[len(s)-1]}
}

func (d durationStats) String() string {
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	return fmt.Sprintf("min %s, median %s, p90 %s, max %s", r(d.Min), r(d.Median), r(d.P90), r(d.Max))
}

// String is the report as printed at the end of a run.
func (r *Report) String() string {
	var b strings.Builder
	if r.Nodes > 1 {
		fmt.Fprintf(&b, "a cluster of %d nodes on kfake; ", r.Nodes)
	}
	fmt.Fprintf(&b, "seed %d: %d kills (%d before the restart answered)\n", r.Seed, r.Kills, r.EarlyKills)
	fmt.Fprintf(&b, "rows: %s acknowledged in %s statements, %s unknown, %s refused; %.0f rows/s over %s of writing\n",
		itoa(r.Acked), itoa(r.Statements), itoa(r.Unknown), itoa(r.Refused), r.RowsPerSecond(), r.Writing.Round(time.Millisecond))
	if r.FirstRefusal != "" {
		fmt.Fprintf(&b, "first refusal: %s\n", r.FirstRefusal)
	}
	fmt.Fprintf(&b, "restarts (kill -9 to answering, %d): %s\n", len(r.Restarts), summarize(r.Restarts))
	fmt.Fprintf(&b, "  of which exec to listening: %s\n", summarize(r.Opens))
	if r.Graceful > 0 {
		fmt.Fprintf(&b, "graceful restart answered in %s\n", r.Graceful.Round(time.Millisecond))
	}
	for i, c := range r.Checks {
		when := "after the kills"
		if i > 0 {
			when = "after a graceful restart"
		}
		fmt.Fprintf(&b, "check %s: source %s rows (%s unknown landed), sink %s rows; lost %d, duplicated %d, phantom %d; per_user %d groups, per_region_10s %d windows\n",
			when, itoa(c.SourceRows), itoa(c.UnknownLanded), itoa(c.SinkRows), c.Lost, c.Duplicated, c.Phantom, c.Users, c.Windows)
	}
	where := strings.Join(r.Logs, ", ")
	if where == "" {
		where = "removed after a clean run"
	}
	fmt.Fprintf(&b, "stalls %d, wrong command tags %d; server log: %d errors, %d warnings (%s)", r.Stalls, r.BadTags, r.ServerErrors, r.ServerWarnings, where)
	return b.String()
}
