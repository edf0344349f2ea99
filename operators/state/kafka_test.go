package state

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/kafka"
)

// openKafka starts a kfake cluster and a Kafka log on it.
func openKafka(t *testing.T) *kafka.Log {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	l, err := kafka.Open(testCtx(t), kafka.Options{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatalf("kafka.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// memDB opens an in-memory Pebble database, the local copy of Kafka mode.
func memDB(t *testing.T) *pebble.DB {
	t.Helper()
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// lockedBuffer collects log output written from any goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestKafkaChangelogAndRestore(t *testing.T) {
	l := openKafka(t)
	ctx := testCtx(t)
	for name, cfg := range map[string]log.TopicConfig{
		"in":  {Partitions: 1},
		"out": {Partitions: 1},
		"chg": {Partitions: 2, Compacted: true},
	} {
		if err := l.CreateTopic(ctx, name, cfg); err != nil {
			t.Fatal(err)
		}
	}
	spec := Spec{Name: "q/agg/1", Changelog: log.TopicPartition{Topic: "chg", Partition: 1}}
	in := log.TopicPartition{Topic: "in", Partition: 0}

	m1, err := NewManager(Options{Log: l, DB: memDB(t), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if m1.Shared() {
		t.Fatal("manager over Kafka is shared")
	}
	if _, err := m1.Open(ctx, Spec{Name: "no-changelog"}); err == nil {
		t.Fatal("Open without a changelog succeeded in Kafka mode")
	}
	s := open(t, m1, spec)
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	put(t, s, "c", "3")
	put(t, s, "a", "1b")
	del(t, s, "c")
	put(t, s, "e", "")
	wantGet(t, s, "a", "1b", true)
	txn := log.Txn{
		Group:   "g",
		Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Key: []byte("o"), Value: []byte("x"), Partition: 0}}},
		Offsets: map[log.TopicPartition]int64{in: 3},
	}
	if err := s.Commit(ctx, txn); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if len(txn.Records) != 1 {
		t.Fatalf("Commit changed the caller's records: %d", len(txn.Records))
	}

	// One changelog record per key, last write wins, delete = tombstone,
	// empty value stays non-nil; output records and offsets in the same txn.
	chg := readUpTo(t, l, spec.Changelog)
	var got []string
	for _, r := range chg {
		v := "<nil>"
		if r.Value != nil {
			v = "'" + string(r.Value) + "'"
		}
		got = append(got, string(r.Key)+"="+v)
	}
	if want := []string{"a='1b'", "b='2'", "c=<nil>", "e=''"}; !slices.Equal(got, want) {
		t.Fatalf("changelog = %v, want %v", got, want)
	}
	if out := readUpTo(t, l, log.TopicPartition{Topic: "out"}); len(out) != 1 {
		t.Fatalf("out has %d records, want 1", len(out))
	}
	if offs, _ := l.CommittedOffsets(ctx, "g", "in"); offs[0] != 3 {
		t.Fatalf("committed offsets = %v, want 3", offs)
	}
	if got, want := dump(t, m1.Reader(spec.Name), nil, nil), []string{"a=1b", "b=2", "e="}; !slices.Equal(got, want) {
		t.Fatalf("local state after Commit = %v, want %v", got, want)
	}

	// Second round, then a failing commit that must force a restore.
	del(t, s, "b")
	put(t, s, "d", "4")
	if err := s.Commit(ctx, log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{in: 5}}); err != nil {
		t.Fatalf("second Commit: %v", err)
	}
	put(t, s, "lost", "x")
	bad := log.Txn{Records: []log.ProduceRecord{{Topic: "missing", Record: log.Record{Value: []byte("x"), Partition: 0}}}}
	if err := s.Commit(ctx, bad); err == nil {
		t.Fatal("Commit to a missing topic succeeded")
	}
	if err := s.Put([]byte("k"), []byte("v")); !errors.Is(err, ErrNeedsRestore) {
		t.Fatalf("Put after a failed Kafka commit = %v, want ErrNeedsRestore", err)
	}
	s.Close()

	// A fresh local database, with a stale key the restore must remove,
	// and tiny batches and progress steps to exercise both.
	db2 := memDB(t)
	if err := db2.Set(keyIn(storePrefix(spec.Name), []byte("stale")), []byte("x"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	m2, err := NewManager(Options{
		Log: l, DB: db2,
		Logger:               slog.New(slog.NewTextHandler(&logs, nil)),
		RestoreProgressEvery: 2,
		RestoreBatchBytes:    1,
	})
	if err != nil {
		t.Fatal(err)
	}
	s2 := open(t, m2, spec)
	defer s2.Close()
	want := []string{"a=1b", "d=4", "e="}
	if got := dump(t, s2, nil, nil); !slices.Equal(got, want) {
		t.Fatalf("restored state = %v, want %v", got, want)
	}
	wantGet(t, s2, "b", "", false)
	wantGet(t, s2, "c", "", false)
	wantGet(t, m2.Reader(spec.Name), "e", "", true)
	if !strings.Contains(logs.String(), "state: restoring") || !strings.Contains(logs.String(), "records=6") {
		t.Fatalf("restore logged no progress:\n%s", logs.String())
	}

	// The restored store keeps working on the same changelog.
	put(t, s2, "f", "6")
	if err := s2.Commit(ctx, log.Txn{}); err != nil {
		t.Fatal(err)
	}
	if n := len(readUpTo(t, l, spec.Changelog)); n != 7 {
		t.Fatalf("changelog has %d records, want 7", n)
	}
}

// readUpTo reads a partition from its start to its current end offset.
func readUpTo(t *testing.T, l log.Log, tp log.TopicPartition) []log.Record {
	t.Helper()
	ctx := testCtx(t)
	ends, err := l.EndOffsets(ctx, tp.Topic)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, tp, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []log.Record
	for r.Position() < ends[tp.Partition] {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, recs...)
	}
	return out
}

// quietPebble drops Pebble's informational messages in tests.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)              {}
func (quietPebble) Errorf(format string, args ...any) {}
func (quietPebble) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
