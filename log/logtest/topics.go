package logtest

import (
	"errors"
	"slices"
	"testing"

	"github.com/runnel/runnel/log"
)

func testCreateTopic(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	name := uniqueName("create")
	cfg := log.TopicConfig{Partitions: 3, Compacted: true}
	if err := l.CreateTopic(ctx, name, cfg); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	info, err := l.Topic(ctx, name)
	if err != nil {
		t.Fatalf("Topic: %v", err)
	}
	if info.Name != name || info.Partitions != 3 || !info.Compacted {
		t.Fatalf("Topic = %+v, want name %q, 3 partitions, compacted", info, name)
	}
	err = l.CreateTopic(ctx, name, cfg)
	if !errors.Is(err, log.ErrTopicExists) {
		t.Fatalf("second CreateTopic = %v, want ErrTopicExists", err)
	}
	// A failed create leaves the topic as it was.
	info2, err := l.Topic(ctx, name)
	if err != nil || info2 != info {
		t.Fatalf("Topic after duplicate create = %+v, %v; want %+v", info2, err, info)
	}

	plain := uniqueName("create")
	if err := l.CreateTopic(ctx, plain, log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	info, err = l.Topic(ctx, plain)
	if err != nil || info.Partitions != 1 || info.Compacted {
		t.Fatalf("Topic = %+v, %v; want 1 partition, not compacted", info, err)
	}
}

func testCreateTopicInvalid(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	name := uniqueName("invalid")
	if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 0}); err == nil {
		t.Fatal("CreateTopic with 0 partitions succeeded")
	}
	if _, err := l.Topic(ctx, name); !errors.Is(err, log.ErrUnknownTopic) {
		t.Fatalf("Topic after a failed create = %v, want ErrUnknownTopic", err)
	}
}

func testTopics(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	// Create out of order; Topics must sort.
	base := uniqueName("list")
	names := []string{base + "-c", base + "-a", base + "-b"}
	for i, n := range names {
		if err := l.CreateTopic(ctx, n, log.TopicConfig{Partitions: int32(i + 1)}); err != nil {
			t.Fatalf("CreateTopic(%q): %v", n, err)
		}
	}
	infos, err := l.Topics(ctx)
	if err != nil {
		t.Fatalf("Topics: %v", err)
	}
	if !slices.IsSortedFunc(infos, func(a, b log.TopicInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	}) {
		t.Fatalf("Topics not sorted by name: %v", infos)
	}
	// The log may be shared with other subtests: look for ours only.
	var got []log.TopicInfo
	for _, in := range infos {
		if slices.Contains(names, in.Name) {
			got = append(got, in)
		}
	}
	want := []log.TopicInfo{
		{Name: base + "-a", Partitions: 2},
		{Name: base + "-b", Partitions: 3},
		{Name: base + "-c", Partitions: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Topics has %v of ours, want %v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Partitions != want[i].Partitions || got[i].Compacted {
			t.Fatalf("Topics[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testDeleteTopic(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	name := createTopic(t, l, log.TopicConfig{Partitions: 2})
	mustAppend(t, l, name, []log.Record{{Key: []byte("k"), Value: []byte("v"), Partition: -1}})
	if err := l.DeleteTopic(ctx, name); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	if _, err := l.Topic(ctx, name); !errors.Is(err, log.ErrUnknownTopic) {
		t.Fatalf("Topic after delete = %v, want ErrUnknownTopic", err)
	}
	infos, err := l.Topics(ctx)
	if err != nil {
		t.Fatalf("Topics: %v", err)
	}
	for _, in := range infos {
		if in.Name == name {
			t.Fatalf("Topics still lists deleted topic %q", name)
		}
	}
	if err := l.DeleteTopic(ctx, name); !errors.Is(err, log.ErrUnknownTopic) {
		t.Fatalf("second DeleteTopic = %v, want ErrUnknownTopic", err)
	}
}

// testDeleteRecreate checks that a topic created again under a deleted
// topic's name starts empty: no records, no committed offsets.
func testDeleteRecreate(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	name := createTopic(t, l, log.TopicConfig{Partitions: 1})
	group := uniqueName("group")
	mustAppend(t, l, name, []log.Record{
		{Value: []byte("old-0"), Partition: 0},
		{Value: []byte("old-1"), Partition: 0},
	})
	tp := log.TopicPartition{Topic: name, Partition: 0}
	if err := l.CommitOffsets(ctx, group, map[log.TopicPartition]int64{tp: 2}); err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}
	if err := l.DeleteTopic(ctx, name); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatalf("CreateTopic again: %v", err)
	}
	ends, err := l.EndOffsets(ctx, name)
	if err != nil || len(ends) != 1 || ends[0] != 0 {
		t.Fatalf("EndOffsets of recreated topic = %v, %v; want [0]", ends, err)
	}
	got, err := l.CommittedOffsets(ctx, group, name)
	if err != nil || len(got) != 0 {
		t.Fatalf("CommittedOffsets of recreated topic = %v, %v; want none", got, err)
	}
	out := mustAppend(t, l, name, []log.Record{{Value: []byte("new"), Partition: 0}})
	if out[0].Offset != 0 {
		t.Fatalf("first record of recreated topic has offset %d, want 0", out[0].Offset)
	}
	recs := readN(t, openReader(t, l, name, 0, 0), 1)
	if string(recs[0].Value) != "new" {
		t.Fatalf("read %q from recreated topic, want %q", recs[0].Value, "new")
	}
}

// testUnknownTopic checks that every per-topic method reports a missing
// topic as ErrUnknownTopic.
func testUnknownTopic(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	name := uniqueName("missing")
	if _, err := l.Topic(ctx, name); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("Topic = %v, want ErrUnknownTopic", err)
	}
	if err := l.DeleteTopic(ctx, name); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("DeleteTopic = %v, want ErrUnknownTopic", err)
	}
	if _, err := l.Append(ctx, name, []log.Record{{Value: []byte("v"), Partition: -1}}); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("Append = %v, want ErrUnknownTopic", err)
	}
	if _, err := l.StartOffsets(ctx, name); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("StartOffsets = %v, want ErrUnknownTopic", err)
	}
	if _, err := l.EndOffsets(ctx, name); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("EndOffsets = %v, want ErrUnknownTopic", err)
	}
}
