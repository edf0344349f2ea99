package torture

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// built is the runnel binary the tests share, built on first use into
// buildDir, which TestMain removes.
var built struct {
	once sync.Once
	path string
	err  error
}

var buildDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary returns the runnel binary to test: built once per test binary
// with the invariants tag, and the race detector when these tests have it.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		t0 := time.Now()
		if buildDir, built.err = os.MkdirTemp("", "runnel-torture-bin-"); built.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		built.path, built.err = Build(ctx, buildDir, RaceEnabled)
		t.Logf("torture: built %s (race %v) in %s", filepath.Base(built.path), RaceEnabled, time.Since(t0).Round(time.Millisecond))
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// The knobs of TestTorture. Each is a flag (-torture.kills=200, after
// -args when go test runs several packages) or an environment variable
// (RUNNEL_TORTURE_KILLS=200), which `make torture` sets; a flag wins over
// its variable, and an unset knob keeps the Options default.
var knobs = []struct{ name, usage string }{
	{"kills", "how many times to kill -9 the server (default 10)"},
	{"duration", "time the server runs under load over the whole run, restarts not counted (default 10s)"},
	{"seed", "seed of the kill schedule and the writers' choices (default: from the clock)"},
	{"rate", "rows per second all writers send together (default 0: as fast as acknowledged)"},
	{"writers", "writing connections (default 2)"},
	{"early", "fraction of restarts killed before they answer (default 0.1; negative: none)"},
	{"bin", "runnel binary to torture (default: build one with -tags invariants, and -race when this test has it)"},
	{"keep", "keep the data directory and log of a run that passed (default false)"},
	{"loglevel", "the server's --log-level (default warn)"},
}

// clusterKnobs are the knobs TestTortureCluster reads under "cluster."
// (-torture.cluster.kills, RUNNEL_TORTURE_CLUSTER_KILLS), so that one
// `make torture` can set both tests apart; the others it shares.
var clusterKnobs = []struct{ name, usage string }{
	{"cluster.kills", "how many times to kill -9 a node of the cluster (default 3)"},
	{"cluster.duration", "time the cluster runs under load over the whole run (default 15s)"},
	{"cluster.nodes", "nodes of the cluster (default 3)"},
	{"cluster.brokers", "kfake brokers of the cluster (default 3)"},
}

func init() {
	for _, k := range append(knobs, clusterKnobs...) {
		flag.String("torture."+k.name, "", k.usage+"; env "+envName(k.name))
	}
}

func envName(knob string) string {
	return "RUNNEL_TORTURE_" + strings.ToUpper(strings.ReplaceAll(knob, ".", "_"))
}

// knob returns a knob's value: the flag if given, else the environment.
func knob(name string) string {
	var v string
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "torture."+name {
			v, set = f.Value.String(), true
		}
	})
	if set {
		return v
	}
	return os.Getenv(envName(name))
}

// parser reads knobs, collecting the errors of those that do not parse.
type parser struct{ errs []string }

func (p *parser) parse(name string, fn func(string) error) {
	if v := knob(name); v != "" {
		if err := fn(v); err != nil {
			p.errs = append(p.errs, fmt.Sprintf("torture.%s (%s) = %q: %v", name, envName(name), v, err))
		}
	}
}

func (p *parser) err() error {
	if len(p.errs) > 0 {
		return fmt.Errorf("%s", strings.Join(p.errs, "; "))
	}
	return nil
}

// optionsFromKnobs reads the knobs into Options; a knob that does not
// parse is an error naming it. The cluster knobs are
// clusterOptionsFromKnobs's.
func optionsFromKnobs() (Options, error) {
	var o Options
	var p parser
	parse := p.parse
	parse("kills", func(v string) (err error) { o.Kills, err = strconv.Atoi(v); return })
	parse("duration", func(v string) (err error) { o.Duration, err = time.ParseDuration(v); return })
	parse("seed", func(v string) (err error) { o.Seed, err = strconv.ParseUint(v, 10, 64); return })
	parse("rate", func(v string) (err error) { o.Rate, err = strconv.Atoi(v); return })
	parse("writers", func(v string) (err error) { o.Writers, err = strconv.Atoi(v); return })
	parse("early", func(v string) (err error) { o.EarlyKills, err = strconv.ParseFloat(v, 64); return })
	parse("keep", func(v string) (err error) { o.Keep, err = strconv.ParseBool(v); return })
	o.Binary = knob("bin")
	o.ServerLogLevel = knob("loglevel")
	return o, p.err()
}

// clusterOptionsFromKnobs is optionsFromKnobs for TestTortureCluster: a
// cluster of 3 nodes on 3 kfake brokers, 3 kills over 15s by default,
// each changed by its cluster knob, the rest shared with TestTorture.
func clusterOptionsFromKnobs() (Options, error) {
	o, err := optionsFromKnobs()
	if err != nil {
		return o, err
	}
	o.Nodes, o.Brokers, o.Kills, o.Duration = 3, 3, 3, 15*time.Second
	var p parser
	p.parse("cluster.nodes", func(v string) (err error) { o.Nodes, err = strconv.Atoi(v); return })
	p.parse("cluster.brokers", func(v string) (err error) { o.Brokers, err = strconv.Atoi(v); return })
	p.parse("cluster.kills", func(v string) (err error) { o.Kills, err = strconv.Atoi(v); return })
	p.parse("cluster.duration", func(v string) (err error) { o.Duration, err = time.ParseDuration(v); return })
	return o, p.err()
}

// TestTorture kills the real server with SIGKILL under load, restarts it
// on the same directory, and checks that every acknowledged row is in the
// source and the sink exactly once, nothing refused or unknown-twice is
// there, and the tables equal their recomputation (see the package doc).
func TestTorture(t *testing.T) {
	opts, err := optionsFromKnobs()
	if err != nil {
		t.Fatal(err)
	}
	torture(t, opts)
}

// TestTortureCluster is TestTorture on a cluster: 3 nodes (real processes)
// on one kfake cluster of 3 brokers, a node drawn at random killed with
// SIGKILL and restarted each time while the others go on, the writers
// moving to another node when theirs dies. Its checks are TestTorture's,
// through a different node each, plus per_user's topic read straight from
// Kafka: every acknowledged row in the source and the sink exactly once,
// and the tables equal to their recomputation (an uninterrupted run's).
func TestTortureCluster(t *testing.T) {
	opts, err := clusterOptionsFromKnobs()
	if err != nil {
		t.Fatal(err)
	}
	torture(t, opts)
}

// torture runs one torture and fails t on whatever it finds.
func torture(t *testing.T, opts Options) {
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		// Leave time to report before go test's own timeout.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		defer cancel()
	}
	if opts.Binary == "" {
		opts.Binary = binary(t)
	}
	opts.Logf = t.Logf
	opts.EnsureDefaults()
	rep, err := Run(ctx, opts)
	if rep != nil {
		t.Logf("torture report (machine shared with other builds; timings are under that load):\n%s", rep)
	}
	if err != nil {
		if rep != nil {
			t.Errorf("replay with -torture.seed=%d (or %s=%d); data directory %s and log %s are kept", rep.Seed, envName("seed"), rep.Seed, rep.DataDir, strings.Join(rep.Logs, ", "))
		}
		t.Fatal(err)
	}
	// The run must have done what it says, or its silence proves nothing.
	if rep.Kills != opts.Kills {
		t.Fatalf("%d kills, want %d", rep.Kills, opts.Kills)
	}
	if rep.Acked == 0 || len(rep.Checks) != 2 {
		t.Fatalf("nothing acknowledged or checked: %s", rep)
	}
}

func TestKnobsFromEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"KILLS": "3", "DURATION": "2s", "SEED": "9", "RATE": "100", "WRITERS": "3",
		"EARLY": "-1", "KEEP": "true", "BIN": "/x/runnel", "LOGLEVEL": "info",
	} {
		t.Setenv("RUNNEL_TORTURE_"+k, v)
	}
	o, err := optionsFromKnobs()
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Kills: 3, Duration: 2 * time.Second, Seed: 9, Rate: 100, Writers: 3, EarlyKills: -1, Keep: true, Binary: "/x/runnel", ServerLogLevel: "info"}
	if fmt.Sprintf("%+v", o) != fmt.Sprintf("%+v", want) {
		t.Fatalf("options\n%+v\nwant\n%+v", o, want)
	}
	t.Setenv("RUNNEL_TORTURE_KILLS", "many")
	t.Setenv("RUNNEL_TORTURE_DURATION", "5")
	_, err = optionsFromKnobs()
	if err == nil || !strings.Contains(err.Error(), "torture.kills (RUNNEL_TORTURE_KILLS)") || !strings.Contains(err.Error(), "torture.duration") {
		t.Fatalf("bad knobs gave %v, want errors naming kills and duration", err)
	}
}

func TestClusterKnobs(t *testing.T) {
	o, err := clusterOptionsFromKnobs()
	if err != nil {
		t.Fatal(err)
	}
	if o.Nodes != 3 || o.Brokers != 3 || o.Kills != 3 || o.Duration != 15*time.Second {
		t.Fatalf("cluster defaults: %d nodes, %d brokers, %d kills over %s", o.Nodes, o.Brokers, o.Kills, o.Duration)
	}
	for k, v := range map[string]string{"CLUSTER_KILLS": "7", "CLUSTER_DURATION": "1m", "CLUSTER_NODES": "2", "CLUSTER_BROKERS": "1", "KILLS": "99", "WRITERS": "4"} {
		t.Setenv("RUNNEL_TORTURE_"+k, v)
	}
	o, err = clusterOptionsFromKnobs()
	if err != nil {
		t.Fatal(err)
	}
	// The single node's kills are not the cluster's; the writers are
	// shared.
	if o.Nodes != 2 || o.Brokers != 1 || o.Kills != 7 || o.Duration != time.Minute || o.Writers != 4 {
		t.Fatalf("cluster knobs: %+v", o)
	}
	t.Setenv("RUNNEL_TORTURE_CLUSTER_NODES", "x")
	if _, err := clusterOptionsFromKnobs(); err == nil || !strings.Contains(err.Error(), "RUNNEL_TORTURE_CLUSTER_NODES") {
		t.Fatalf("a bad cluster knob gave %v", err)
	}
	o.EnsureDefaults()
	o.Binary, o.Nodes = "x", 10
	if err := o.Validate(); err == nil {
		t.Fatal("10 nodes validated")
	}
}
