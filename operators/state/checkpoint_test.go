package state

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/log"
)

func TestCheckpointEncoding(t *testing.T) {
	for _, c := range []checkpoint{
		{},
		{Topic: "chg", Partition: 3, TopicID: [16]byte{1, 2, 3}, Offset: 12345},
		{Topic: strings.Repeat("t", 249), Partition: 1<<31 - 1, Offset: 1 << 62},
	} {
		got, err := decodeCheckpoint(c.encode())
		if err != nil || got != c {
			t.Errorf("decode(encode(%+v)) = %+v, %v", c, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {2}, append([]byte{1}, make([]byte, 16)...), append(append([]byte{1}, make([]byte, 16)...), 0x01)} {
		if _, err := decodeCheckpoint(bad); err == nil {
			t.Errorf("decode(%x) succeeded", bad)
		}
	}
}

func TestCheckpointUsable(t *testing.T) {
	tp := log.TopicPartition{Topic: "chg", Partition: 1}
	id := [16]byte{7}
	cp := checkpoint{Topic: "chg", Partition: 1, TopicID: id, Offset: 50}
	for _, tc := range []struct {
		name       string
		cp         checkpoint
		start, end int64
		want       string // a word of the reason; "" when usable
	}{
		{"inside", cp, 0, 100, ""},
		{"at the end", cp, 0, 50, ""},
		{"at the start", cp, 50, 60, ""},
		{"another topic", checkpoint{Topic: "other", Partition: 1, TopicID: id, Offset: 50}, 0, 100, "another changelog"},
		{"another partition", checkpoint{Topic: "chg", Partition: 0, TopicID: id, Offset: 50}, 0, 100, "another changelog"},
		{"another generation", checkpoint{Topic: "chg", Partition: 1, TopicID: [16]byte{8}, Offset: 50}, 0, 100, "generation"},
		{"before the log start", cp, 51, 100, "older"},
		{"past the end", cp, 0, 49, "past"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cp.usable(tp, id, tc.start, tc.end)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("usable = %q, want a reason with %q", got, tc.want)
			}
		})
	}
}

// TestKafkaRestoreFromCheckpoint restores stores from their checkpoints:
// a store reopened on its node reads only the changelog's tail since its
// last commit or restore there, whoever wrote that tail (another node
// that ran the task meanwhile); a checkpoint behind what the local copy
// holds (a crash that kept local writes but lost their checkpoint)
// replays to the same state; and a changelog topic deleted and created
// again wipes the local copy.
func TestKafkaRestoreFromCheckpoint(t *testing.T) {
	l := openKafka(t)
	ctx := testCtx(t)
	if err := l.CreateTopic(ctx, "chg", log.TopicConfig{Partitions: 2, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "q/agg/1", Changelog: log.TopicPartition{Topic: "chg", Partition: 1}}
	var logs lockedBuffer
	db1 := memDB(t)
	m1, err := NewManager(Options{Log: l, DB: db1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := NewManager(Options{Log: l, DB: memDB(t), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	// commit writes n keys from first on m's store and commits them.
	commit := func(m *Manager, first, n int, value string) {
		t.Helper()
		s := open(t, m, spec)
		defer s.Close()
		for i := first; i < first+n; i++ {
			k := fmt.Sprintf("k%04d", i)
			put(t, s, k, value)
			want[k] = value
		}
		if err := s.Commit(ctx, log.Txn{}); err != nil {
			t.Fatal(err)
		}
	}
	// reopen opens the store on m1 and checks what the restore read and
	// what the store holds.
	reopen := func(wantRecords int64, wantCheckpoint bool) {
		t.Helper()
		before := m1.RestoreStats()
		s := open(t, m1, spec)
		defer s.Close()
		after := m1.RestoreStats()
		if got := after.Records - before.Records; got != wantRecords {
			t.Errorf("restore read %d changelog records, want %d", got, wantRecords)
		}
		if got := after.FromCheckpoint - before.FromCheckpoint; got != map[bool]int64{true: 1}[wantCheckpoint] {
			t.Errorf("restore from a checkpoint: %v, want %v", got == 1, wantCheckpoint)
		}
		var exp []string
		for k, v := range want {
			exp = append(exp, k+"="+v)
		}
		slices.Sort(exp)
		if got := dump(t, s, nil, nil); !slices.Equal(got, exp) {
			t.Fatalf("state after the restore: %d keys, want %d\n%v", len(got), len(exp), got)
		}
	}

	commit(m1, 0, 500, "a") // opens with an empty changelog: nothing to read
	reopen(0, true)         // the commit's checkpoint covers all 500
	commit(m2, 490, 20, "b")
	reopen(20, true) // only the other node's 20
	// A delete by the other node reaches this one too.
	s := open(t, m2, spec)
	del(t, s, "k0001")
	delete(want, "k0001")
	if err := s.Commit(ctx, log.Txn{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	reopen(1, true)

	// A checkpoint behind the local copy: the replay of the tail from
	// it over the newer local state gives the same state.
	cp, ok, err := m1.readCheckpoint(spec.Name)
	if err != nil || !ok {
		t.Fatalf("no checkpoint: %v", err)
	}
	old := cp
	old.Offset -= 100
	if err := db1.Set(checkpointKey(spec.Name), old.encode(), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	tail := int64(0)
	for _, r := range readUpTo(t, l, spec.Changelog) {
		if r.Offset >= old.Offset {
			tail++
		}
	}
	if tail < 90 { // 100 offsets, a few of them transaction markers
		t.Fatalf("%d records in the last 100 offsets", tail)
	}
	reopen(tail, true)

	// A new generation of the changelog topic, as long as the old one:
	// the checkpoint's offset fits it, its topic id does not.
	if err := l.DeleteTopic(ctx, "chg"); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateTopic(ctx, "chg", log.TopicConfig{Partitions: 2, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	clear(want)
	for i := range 6 {
		commit(m2, i*100, 100, "c")
	}
	if err := m2.Drop(ctx, spec.Name); err != nil {
		t.Fatal(err)
	}
	reopen(600, false)
	if !strings.Contains(logs.String(), "generation") {
		t.Fatalf("the wipe was not logged with its reason:\n%s", logs.String())
	}

	// Drop removes the checkpoint with the state: a store opened again
	// after it reads the whole changelog.
	if err := m1.Drop(ctx, spec.Name); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := m1.readCheckpoint(spec.Name); ok {
		t.Fatal("Drop left the checkpoint")
	}
	reopen(600, false)
}

// TestCheckpointSurvivesACrash crashes the local database after a commit
// (a crashable in-memory filesystem, cloned as a crash leaves it: without
// the writes not synced, as a kill -9 drops what Pebble holds in memory)
// and reopens the store: with CheckpointSyncInterval the commit's checkpoint survived and
// nothing is read again; without (negative), only the restore's synced
// checkpoint survived and the commit's records are read again. The state
// is the same either way.
func TestCheckpointSurvivesACrash(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		reread   int64
	}{
		{"synced commits", time.Nanosecond, 0},
		{"unsynced commits", -1, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openKafka(t)
			ctx := testCtx(t)
			if err := l.CreateTopic(ctx, "chg", log.TopicConfig{Partitions: 1, Compacted: true}); err != nil {
				t.Fatal(err)
			}
			spec := Spec{Name: "q/agg/0", Changelog: log.TopicPartition{Topic: "chg"}}
			fs := vfs.NewCrashableMem()
			openDB := func() *pebble.DB {
				db, err := pebble.Open("", &pebble.Options{FS: fs, Logger: quietPebble{}})
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
			db := openDB()
			m, err := NewManager(Options{Log: l, DB: db, Logger: quiet(), CheckpointSyncInterval: tc.interval})
			if err != nil {
				t.Fatal(err)
			}
			s := open(t, m, spec)
			for i := range 300 {
				put(t, s, fmt.Sprintf("k%03d", i), "v")
			}
			if err := s.Commit(ctx, log.Txn{}); err != nil {
				t.Fatal(err)
			}
			// The crash: what was not synced is gone.
			fs = fs.CrashClone(vfs.CrashCloneCfg{})
			s.Close()
			db.Close()

			db = openDB()
			defer db.Close()
			m, err = NewManager(Options{Log: l, DB: db, Logger: quiet(), CheckpointSyncInterval: tc.interval})
			if err != nil {
				t.Fatal(err)
			}
			s = open(t, m, spec)
			defer s.Close()
			if got := m.RestoreStats(); got.Records != tc.reread || got.FromCheckpoint != 1 {
				t.Fatalf("after the crash the restore read %d records (from a checkpoint: %d), want %d from one", got.Records, got.FromCheckpoint, tc.reread)
			}
			if n := len(dump(t, s, nil, nil)); n != 300 {
				t.Fatalf("%d keys after the crash, want 300", n)
			}
		})
	}
}
