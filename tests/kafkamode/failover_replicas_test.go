package kafkamode

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/tests/harness"
)

// TestReplicasOnThreeBrokers runs a node on a kfake cluster of 3 brokers:
// a topic created without REPLICAS (a source, a sink, a table's changelog
// and its repartition topic) gets the cluster's default replication
// factor, 3, and REPLICAS=2 gives 2, on a source and on a sink, as Kafka
// itself reports (not as Runnel remembers). More replicas than brokers is
// Kafka's error.
func TestReplicasOnThreeBrokers(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := harness.Start(t, harness.Options{Kafka: c.ListenAddrs()})
	conn := s.Connect(t)
	exec(t, conn, `CREATE STREAM clicks (userid VARCHAR KEY, region VARCHAR, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=2)`)
	exec(t, conn, `CREATE STREAM clicks2 (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks2', value_format='JSON', partitions=2, replicas=2)`)
	exec(t, conn, `CREATE STREAM big WITH (kafka_topic='big', replicas=2) AS SELECT * FROM clicks WHERE amount > 10`)
	exec(t, conn, `CREATE STREAM small AS SELECT * FROM clicks WHERE amount <= 10`)
	exec(t, conn, `CREATE TABLE per_region AS SELECT region, COUNT(*) AS n FROM clicks GROUP BY region`)
	if _, err := conn.Exec(context.Background(), `CREATE STREAM too_many (id INT KEY, v INT)
  WITH (kafka_topic='too_many', partitions=1, replicas=4)`); err == nil {
		t.Fatal("REPLICAS=4 on 3 brokers succeeded")
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for name, d := range details {
		if strings.HasPrefix(name, "__") || d.Err != nil {
			continue
		}
		rf := -1
		for _, p := range d.Partitions {
			if rf >= 0 && len(p.Replicas) != rf {
				t.Fatalf("%s: partitions with %d and %d replicas", name, rf, len(p.Replicas))
			}
			rf = len(p.Replicas)
		}
		got[name] = rf
	}
	want := map[string]int{"clicks": 3, "clicks2": 2, "big": 2, "SMALL": 3, "PER_REGION": 3}
	for name, rf := range want {
		if got[name] != rf {
			t.Errorf("topic %s has %d replicas, want %d", name, got[name], rf)
		}
	}
	// The query's internal topics (the repartition by region and the
	// changelog of its counts) take the cluster's default too.
	var internal []string
	for name, rf := range got {
		if _, named := want[name]; named || name == "_runnel_catalog" || name == "runnel_processing_log" {
			continue
		}
		internal = append(internal, fmt.Sprintf("%s=%d", name, rf))
		if rf != 3 {
			t.Errorf("internal topic %s has %d replicas, want the cluster's 3", name, rf)
		}
	}
	sort.Strings(internal)
	if len(internal) < 2 {
		t.Fatalf("want a repartition and a changelog topic among %v", got)
	}
	t.Logf("internal topics: %v", internal)
}
