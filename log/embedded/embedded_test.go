package embedded

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/logtest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTest(t *testing.T, dir string) *Log {
	t.Helper()
	l, err := Open(Options{Dir: dir, Logger: quietLogger(), ReadBatch: 100})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConformance(t *testing.T) {
	// One log shared by every subtest, as a long-lived node would use it.
	l := openTest(t, t.TempDir())
	t.Cleanup(func() { l.Close() })
	logtest.Run(t, func(t *testing.T) log.Log { return l })
}

func TestConformanceFreshLogs(t *testing.T) {
	logtest.Run(t, func(t *testing.T) log.Log {
		l := openTest(t, t.TempDir())
		t.Cleanup(func() { l.Close() })
		return l
	})
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	l := openTest(t, dir)
	if err := l.CreateTopic(ctx, "a", log.TopicConfig{Partitions: 3, Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateTopic(ctx, "c", log.TopicConfig{Partitions: 1, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateTopic(ctx, "gone", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	var want []log.Record
	for i := 0; i < 30; i++ {
		out, err := l.Append(ctx, "a", []log.Record{{
			Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i), Partition: -1,
			Headers: []log.Header{{Key: "i", Value: []byte(strconv.Itoa(i))}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, out...)
	}
	// The compacted topic ends in a tombstone that compaction removes: its
	// offset must not be handed out again after reopening.
	if _, err := l.Append(ctx, "c", []log.Record{
		{Key: []byte("x"), Value: []byte("1"), Partition: 0},
		{Key: []byte("x"), Value: nil, Partition: 0},
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(ctx, log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{{Topic: "a", Partition: 1}: 4}}); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	wantEnds, _ := l.EndOffsets(ctx, "a")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Topics(ctx); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("Topics after Close = %v, want ErrClosed", err)
	}

	l = openTest(t, dir)
	defer l.Close()
	infos, err := l.Topics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0] != (log.TopicInfo{Name: "a", Partitions: 3, Replicas: 2}) ||
		infos[1] != (log.TopicInfo{Name: "c", Partitions: 1, Compacted: true}) {
		t.Fatalf("topics after reopen = %+v", infos)
	}
	ends, err := l.EndOffsets(ctx, "a")
	if err != nil || fmt.Sprint(ends) != fmt.Sprint(wantEnds) {
		t.Fatalf("end offsets after reopen = %v, %v; want %v", ends, err, wantEnds)
	}
	if ends, _ := l.EndOffsets(ctx, "c"); ends[0] != 2 {
		t.Fatalf("end offset of compacted topic after reopen = %d, want 2", ends[0])
	}
	got, err := l.CommittedOffsets(ctx, "g", "a")
	if err != nil || len(got) != 1 || got[1] != 4 {
		t.Fatalf("committed offsets after reopen = %v, %v", got, err)
	}
	for p := int32(0); p < 3; p++ {
		var wantP []log.Record
		for _, r := range want {
			if r.Partition == p {
				wantP = append(wantP, r)
			}
		}
		if len(wantP) == 0 {
			continue
		}
		r, err := l.NewReader(ctx, log.TopicPartition{Topic: "a", Partition: p}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var gotP []log.Record
		for len(gotP) < len(wantP) {
			recs, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			gotP = append(gotP, recs...)
		}
		r.Close()
		for i := range wantP {
			g, w := gotP[i], wantP[i]
			if g.Offset != w.Offset || string(g.Key) != string(w.Key) || string(g.Value) != string(w.Value) ||
				g.Timestamp != w.Timestamp || len(g.Headers) != 1 || string(g.Headers[0].Value) != string(w.Headers[0].Value) {
				t.Fatalf("partition %d record %d after reopen = %+v, want %+v", p, i, g, w)
			}
		}
	}
	// New topics get fresh ids: the deleted topic's name starts empty.
	if err := l.CreateTopic(ctx, "gone", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if ends, _ := l.EndOffsets(ctx, "gone"); ends[0] != 0 {
		t.Fatalf("recreated topic ends at %d", ends[0])
	}
}

func TestReaderWokenByDelete(t *testing.T) {
	l := openTest(t, t.TempDir())
	defer l.Close()
	ctx := ctxT(t)
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan error, 1)
	go func() {
		_, err := r.Next(ctx)
		done <- err
	}()
	if err := l.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, log.ErrUnknownTopic) {
			t.Fatalf("Next on a deleted topic = %v, want ErrUnknownTopic", err)
		}
	case <-ctx.Done():
		t.Fatal("reader not woken by DeleteTopic")
	}
}

func TestReaderWokenByClose(t *testing.T) {
	l := openTest(t, t.TempDir())
	ctx := ctxT(t)
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Next(ctx)
		done <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, log.ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
	if _, err := l.Append(ctx, "t", []log.Record{{Partition: 0}}); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
}

func TestCommitWith(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	ctx := ctxT(t)
	if err := l.CreateTopic(ctx, "out", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	txn := log.Txn{Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte("r"), Partition: 0}}}}
	stateKey := []byte{StatePrefix, 'k'}

	// A failing extra writes nothing at all.
	boom := errors.New("boom")
	err := l.CommitWith(ctx, txn, func(b *pebble.Batch) error {
		_ = b.Set(stateKey, []byte("bad"), nil)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("CommitWith = %v, want boom", err)
	}
	if ends, _ := l.EndOffsets(ctx, "out"); ends[0] != 0 {
		t.Fatalf("failed CommitWith moved the end offset to %d", ends[0])
	}

	err = l.CommitWith(ctx, txn, func(b *pebble.Batch) error {
		return b.Set(stateKey, []byte("good"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openTest(t, dir)
	defer l.Close()
	v, closer, err := l.DB().Get(stateKey)
	if err != nil || string(v) != "good" {
		t.Fatalf("state key after reopen = %q, %v", v, err)
	}
	closer.Close()
	if ends, _ := l.EndOffsets(ctx, "out"); ends[0] != 1 {
		t.Fatalf("end offset after CommitWith = %d, want 1", ends[0])
	}
}

// The kill -9 test: a child process (this test binary, re-executed) appends
// and prints each acknowledged offset; the parent kills it mid-stream and
// checks that every acknowledged record survived.
const killEnv = "RUNNEL_EMBEDDED_KILL_CHILD_DIR"

func TestKillDurability(t *testing.T) {
	if dir := os.Getenv(killEnv); dir != "" {
		killChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), killEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read acknowledgements until enough have arrived, then kill -9
	// while the child is still appending.
	acked := make(map[int32]int64) // partition -> highest acknowledged offset
	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var p int32
		var off int64
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d", &p, &off); err != nil {
			continue // test framework chatter
		}
		acked[p] = max(acked[p], off)
		n++
		if n == 200 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	_ = cmd.Wait()
	if n < 200 {
		t.Fatalf("child acknowledged only %d records before exiting", n)
	}

	l := openTest(t, dir)
	defer l.Close()
	ctx := ctxT(t)
	ends, err := l.EndOffsets(ctx, "kill")
	if err != nil {
		t.Fatal(err)
	}
	for p, off := range acked {
		if ends[p] <= off {
			t.Fatalf("partition %d ends at %d after kill -9; offset %d was acknowledged", p, ends[p], off)
		}
		r, err := l.NewReader(ctx, log.TopicPartition{Topic: "kill", Partition: p}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []log.Record
		for int64(len(got)) <= off {
			recs, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, recs...)
		}
		r.Close()
		for i, rec := range got {
			if want := fmt.Sprintf("p%d-%d", p, i); rec.Offset != int64(i) || string(rec.Value) != want {
				t.Fatalf("partition %d record %d = %d %q, want %d %q", p, i, rec.Offset, rec.Value, i, want)
			}
		}
	}
}

// killChild appends until killed, printing "ack <partition> <offset>" for
// each record once Append has returned.
func killChild(dir string) {
	l, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	if err := l.CreateTopic(ctx, "kill", log.TopicConfig{Partitions: 2}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		p := int32(i % 2)
		var sb strings.Builder
		fmt.Fprintf(&sb, "p%d-%d", p, i/2)
		out, err := l.Append(ctx, "kill", []log.Record{{Value: []byte(sb.String()), Partition: p}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(w, "ack %d %d\n", out[0].Partition, out[0].Offset)
		w.Flush()
		if i > 100000 {
			os.Exit(3) // never reached in a healthy run: the parent kills first
		}
	}
}
