package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/runnel/runnel/log"
)

// newCluster starts a one-broker in-process cluster for the test.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// openLog opens a log on c and closes it at the end of the test.
func openLog(t *testing.T, c *kfake.Cluster, opts Options) *Log {
	t.Helper()
	opts.Brokers = c.ListenAddrs()
	l, err := Open(testCtx(t), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// testCtx bounds one test step.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustCreate creates a topic.
func mustCreate(t *testing.T, l *Log, name string, cfg log.TopicConfig) {
	t.Helper()
	if err := l.CreateTopic(testCtx(t), name, cfg); err != nil {
		t.Fatalf("CreateTopic(%q): %v", name, err)
	}
}

// readAll reads n records from tp at offset.
func readAll(t *testing.T, l *Log, tp log.TopicPartition, offset int64, n int) []log.Record {
	t.Helper()
	r, err := l.NewReader(testCtx(t), tp, offset)
	if err != nil {
		t.Fatalf("NewReader(%v): %v", tp, err)
	}
	defer r.Close()
	ctx := testCtx(t)
	var out []log.Record
	for len(out) < n {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d: %v", len(out), n, err)
		}
		out = append(out, recs...)
	}
	return out
}
