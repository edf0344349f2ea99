package torture

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fleet is the servers under test: one lone server on the embedded log,
// or the nodes of a cluster on one kfake cluster. kfake runs inside the
// test's process, so a node's kill -9 leaves the brokers and what they
// hold untouched, as a real cluster's would be.
type fleet struct {
	nodes []*process
	// kafka and brokers are the cluster's (nil and empty for a lone
	// server).
	kafka   *kfake.Cluster
	brokers []string
	// closeOnce makes close safe to call twice (Run calls it before
	// removing a clean run's directory, and again on its way out).
	closeOnce sync.Once
}

// newFleet creates the processes (not started) and, for a cluster, starts
// kfake. It fills in rep.Logs.
func newFleet(opts *Options, rep *Report, work string) (*fleet, error) {
	f := &fleet{}
	if opts.Nodes == 1 {
		log := filepath.Join(work, "runnel.log")
		p, err := newProcess(opts.Binary, rep.DataDir, log, opts.ServerLogLevel)
		if err != nil {
			return nil, err
		}
		f.nodes = []*process{p}
		rep.Logs = []string{log}
		return f, nil
	}
	kc, err := kfake.NewCluster(kfake.NumBrokers(opts.Brokers))
	if err != nil {
		return nil, fmt.Errorf("torture: kfake: %w", err)
	}
	f.kafka, f.brokers = kc, kc.ListenAddrs()
	for i := range opts.Nodes {
		name := fmt.Sprintf("n%d", i+1)
		log := filepath.Join(work, "runnel-"+name+".log")
		p, err := newProcess(opts.Binary, filepath.Join(rep.DataDir, name), log, opts.ServerLogLevel)
		if err != nil {
			f.close()
			return nil, err
		}
		p.name = name
		p.extra = []string{"--kafka", strings.Join(f.brokers, ","), "--node-id", name, "--advertise", p.addr}
		f.nodes = append(f.nodes, p)
		rep.Logs = append(rep.Logs, log)
	}
	return f, nil
}

// describe names the servers' addresses for the first progress line.
func (f *fleet) describe() string {
	var addrs []string
	for _, p := range f.nodes {
		addrs = append(addrs, strings.TrimSpace(p.label()+" "+p.addr))
	}
	s := strings.Join(addrs, ", ")
	if f.kafka != nil {
		s += fmt.Sprintf(" (kfake brokers %s)", strings.Join(f.brokers, ","))
	}
	return s
}

// dsns are the servers' connection strings.
func (f *fleet) dsns() []string {
	var out []string
	for _, p := range f.nodes {
		out = append(out, p.dsn())
	}
	return out
}

// runFor waits d while every server runs; one that exits meanwhile is an
// errExited.
func (f *fleet) runFor(ctx context.Context, d time.Duration) error {
	if len(f.nodes) == 1 {
		return f.nodes[0].runFor(ctx, d)
	}
	deadline := time.Now().Add(d)
	for {
		for _, p := range f.nodes {
			if !p.running() {
				return &errExited{node: p.name, start: p.starts, err: p.waitErr}
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(left, 20*time.Millisecond)):
		}
	}
}

// close kills every running server, closes their logs and stops kfake.
func (f *fleet) close() {
	f.closeOnce.Do(func() {
		for _, p := range f.nodes {
			p.close()
		}
		if f.kafka != nil {
			f.kafka.Close()
		}
	})
}

// perUserTopic is the topic of the per_user table: ksqlDB names a CREATE
// TABLE AS SELECT's topic after the table, upper case.
const perUserTopic = "PER_USER"

// tableTopic reads the per_user table's topic straight from Kafka, the
// way any consumer of the sink would (read_committed, from the start to
// the end it has when the read begins), and returns each key's last
// value: what the table's topic says once compacted. It is nil for a
// lone server, whose topics only the server reads. Memory is one entry
// per key.
func (f *fleet) tableTopic(ctx context.Context) (map[string]agg, error) {
	if f.kafka == nil {
		return nil, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// The end follows a transaction marker, which no record
		// reaches: seeing the markers tells when a partition is read.
		kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, perUserTopic)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", perUserTopic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", perUserTopic, err)
	}
	// Only partitions with records are consumed, each to its end.
	left := map[int32]int64{}
	consume := map[string]map[int32]kgo.Offset{perUserTopic: {}}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
			consume[perUserTopic][o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	out := map[string]agg{}
	if len(left) == 0 {
		return out, nil
	}
	cl.AddConsumePartitions(consume)
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", perUserTopic, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, fmt.Errorf("read %s: %w", perUserTopic, ferr)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			end, ok := left[p.Partition]
			for _, r := range p.Records {
				if !ok || r.Offset >= end {
					continue
				}
				if r.Offset+1 >= end {
					delete(left, p.Partition)
				}
				switch {
				case r.Attrs.IsControl():
				case r.Value == nil:
					delete(out, string(r.Key))
				default:
					var v struct{ N, TOTAL int64 }
					if err := json.Unmarshal(r.Value, &v); err != nil {
						ferr = fmt.Errorf("%s partition %d offset %d: %q: %w", perUserTopic, p.Partition, r.Offset, r.Value, err)
						return
					}
					out[string(r.Key)] = agg{N: v.N, Total: v.TOTAL}
				}
			}
		})
		if ferr != nil {
			return nil, ferr
		}
	}
	return out, nil
}
