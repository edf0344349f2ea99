package state

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
)

// TestKafkaDeferRestore opens a store with DeferRestore: Open reads no
// changelog and the store refuses use until Restore, which then reads it.
func TestKafkaDeferRestore(t *testing.T) {
	l := openKafka(t)
	ctx := testCtx(t)
	if err := l.CreateTopic(ctx, "chg", log.TopicConfig{Partitions: 1, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "q/agg/0", Changelog: log.TopicPartition{Topic: "chg", Partition: 0}}
	writer, err := NewManager(Options{Log: l, DB: memDB(t), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	w := open(t, writer, spec)
	for i := range 30 {
		put(t, w, fmt.Sprintf("k%02d", i), "v")
	}
	if err := w.Commit(ctx, log.Txn{}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	m, err := NewManager(Options{Log: l, DB: memDB(t), Logger: quiet(), DeferRestore: true})
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, m, spec)
	defer s.Close()
	if got := m.RestoreStats(); got.Restores != 0 || got.Records != 0 {
		t.Fatalf("Open with DeferRestore restored: %+v", got)
	}
	for name, call := range map[string]func() error{
		"Get":    func() error { _, _, err := s.Get([]byte("k00")); return err },
		"Put":    func() error { return s.Put([]byte("k"), []byte("v")) },
		"Delete": func() error { return s.Delete([]byte("k")) },
		"Scan":   func() error { return s.Scan(nil, nil, func(k, v []byte) bool { return true }) },
	} {
		if err := call(); !errors.Is(err, ErrNeedsRestore) {
			t.Errorf("%s before Restore: %v, want ErrNeedsRestore", name, err)
		}
	}
	if err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.RestoreStats(); got.Restores != 1 || got.Records != 30 {
		t.Fatalf("Restore: %+v, want 1 restore of 30 records", got)
	}
	wantGet(t, s, "k29", "v", true)
}

// TestKafkaFollow keeps a standby copy with Follow while another manager
// (the task's owner on another node) commits: the copy catches up, then
// tails each commit; the store refuses its task's use meanwhile; and the
// Restore after Follow reads only what was committed after Follow
// stopped, ending with the owner's exact state.
func TestKafkaFollow(t *testing.T) {
	l := openKafka(t)
	ctx := testCtx(t)
	if err := l.CreateTopic(ctx, "chg", log.TopicConfig{Partitions: 2, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "q/agg/1", Changelog: log.TopicPartition{Topic: "chg", Partition: 1}}
	owner, err := NewManager(Options{Log: l, DB: memDB(t), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	o := open(t, owner, spec)
	defer o.Close()
	commit := func(first, n int, value string) {
		t.Helper()
		for i := first; i < first+n; i++ {
			put(t, o, fmt.Sprintf("k%04d", i), value)
		}
		if err := o.Commit(ctx, log.Txn{}); err != nil {
			t.Fatal(err)
		}
	}
	commit(0, 100, "a")

	sb, err := NewManager(Options{Log: l, DB: memDB(t), Logger: quiet(), DeferRestore: true})
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, sb, spec)
	defer s.Close()
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan error, 1)
	go func() { followed <- s.Follow(fctx) }()

	// The standby reads the 100 first records, then each later commit.
	waitFor(t, func() bool { return sb.RestoreStats().StandbyRecords >= 100 })
	commit(50, 100, "b") // 50 updates, 50 new keys
	waitFor(t, func() bool { return sb.RestoreStats().StandbyRecords >= 200 })
	r := sb.Reader(spec.Name)
	wantGet(t, r, "k0010", "a", true)
	wantGet(t, r, "k0120", "b", true)
	stop()
	if err := <-followed; err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if got := sb.RestoreStats(); got.Restores != 0 || got.Standbys != 1 {
		t.Fatalf("stats after Follow: %+v, want no restore and 1 standby", got)
	}
	if _, _, err := s.Get([]byte("k0010")); !errors.Is(err, ErrNeedsRestore) {
		t.Fatalf("Get on a standby copy: %v, want ErrNeedsRestore", err)
	}

	// The owner commits 7 more while nobody follows; then the task moves
	// to the standby, whose restore reads those 7 only.
	del(t, o, "k0000")
	commit(200, 6, "c")
	if err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	got := sb.RestoreStats()
	if got.Restores != 1 || got.FromCheckpoint != 1 || got.Records != 7 {
		t.Fatalf("restore after standing by: %+v, want 1 restore from the checkpoint reading 7 records", got)
	}
	want := dump(t, owner.Reader(spec.Name), nil, nil)
	if have := dump(t, s, nil, nil); fmt.Sprint(have) != fmt.Sprint(want) {
		t.Fatalf("standby's state after its restore differs from the owner's:\n%v\nwant\n%v", have, want)
	}
	if len(want) != 155 { // k0001..k0149 and k0200..k0205
		t.Fatalf("owner holds %d keys, want 155", len(want))
	}
}

// waitFor polls cond until it holds or the test's context ends.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
