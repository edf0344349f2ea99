package kafka

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

func appendN(t *testing.T, l *Log, topic string, n int) {
	t.Helper()
	recs := make([]log.Record, n)
	for i := range recs {
		recs[i] = log.Record{Value: []byte{byte('a' + i)}, Partition: 0}
	}
	if _, err := l.Append(testCtx(t), topic, recs); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// TestReaderBounds opens readers below the log start (after records were
// deleted) and past the end.
func TestReaderBounds(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	appendN(t, l, "t", 4)
	os := make(kadm.Offsets)
	os.Add(kadm.Offset{Topic: "t", Partition: 0, At: 2})
	if resps, err := l.adm.DeleteRecords(ctx, os); err != nil || resps.Error() != nil {
		t.Fatalf("DeleteRecords: %v %v", err, resps.Error())
	}
	starts, err := l.StartOffsets(ctx, "t")
	if err != nil || !slices.Equal(starts, []int64{2}) {
		t.Fatalf("StartOffsets = %v, %v; want [2]", starts, err)
	}
	got := readAll(t, l, log.TopicPartition{Topic: "t"}, 0, 2)
	if got[0].Offset != 2 || string(got[0].Value) != "c" {
		t.Fatalf("reader below the start read %d %q first, want 2 c", got[0].Offset, got[0].Value)
	}

	// Past the end (4): records 4..6 arrive first and must be skipped.
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if recs, err := r.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next past the end = %v, %v; want DeadlineExceeded", recs, err)
	}
	appendN(t, l, "t", 5) // offsets 4..8
	recs, err := r.Next(ctx)
	if err != nil || len(recs) == 0 || recs[0].Offset != 7 {
		t.Fatalf("Next past the end = %v, %v; want offset 7 first", recs, err)
	}
}

// TestEndOffsetsAreStable checks that EndOffsets stops at an open
// transaction (the last stable offset), which is as far as a Reader can go.
func TestEndOffsetsAreStable(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	appendN(t, l, "t", 2)
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("open"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if err := pr.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := pr.ProduceSync(ctx, &kgo.Record{Value: []byte("pending")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends, err := l.EndOffsets(ctx, "t")
	if err != nil || !slices.Equal(ends, []int64{2}) {
		t.Fatalf("EndOffsets with an open transaction = %v, %v; want [2]", ends, err)
	}
	if err := pr.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// Committed: the record and its marker are below the end now.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ends, err = l.EndOffsets(ctx, "t")
		if err == nil && ends[0] == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("EndOffsets after commit = %v, %v; want [4]", ends, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReaderOfRecreatedTopic: a reader of a topic deleted and created again
// under the same name reports the topic unknown rather than reading the
// new topic's records as if they were the old one's.
func TestReaderOfRecreatedTopic(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	appendN(t, l, "t", 3)
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Read the old topic's records, so the reader has fetched from it and
	// knows it (a wait for a fetch at the end would be a guess at how long
	// a fetch takes on a loaded machine).
	for got := 0; got < 3; {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next over the old topic after %d records: %v", got, err)
		}
		got += len(recs)
	}
	if err := l.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	appendN(t, l, "t", 5)
	recs, err := r.Next(ctx)
	if !errors.Is(err, log.ErrUnknownTopic) {
		t.Fatalf("Next after recreate = %v, %v; want ErrUnknownTopic", recs, err)
	}
}
