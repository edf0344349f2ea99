package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded/quotafs"
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
)

// testDisk are small limits, so that tests fill a few MiB, not GiB.
var testDisk = DiskOptions{
	ReserveBytes:       2 * mib,
	SystemReserveBytes: 1 * mib,
	BallastBytes:       1 * mib,
	RecheckInterval:    10 * time.Millisecond,
}

// openQuota opens a log in dir through fs with the given disk options.
func openQuota(t *testing.T, dir string, fs vfs.FS, disk DiskOptions, system ...string) *Log {
	t.Helper()
	l, err := openQuotaErr(dir, fs, disk, system...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func openQuotaErr(dir string, fs vfs.FS, disk DiskOptions, system ...string) (*Log, error) {
	return Open(Options{Dir: dir, Logger: quietLogger(), FS: fs, Disk: disk, SystemTopics: system})
}

func newQuotaFS(t *testing.T, dir string, quota int64) *quotafs.FS {
	t.Helper()
	fs, err := quotafs.New(vfs.Default, dir, quota)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// value is a record value of n bytes that says which record it is.
func value(id, n int) []byte {
	// Incompressible, so that the disk takes the bytes a test counts on.
	v := incompressible(uint64(id), n)
	copy(v, fmt.Sprintf("%08d", id))
	return v
}

// requireDiskFull fails unless err is a disk-full refusal that carries
// SQLSTATE 53100.
func requireDiskFull(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, log.ErrDiskFull) {
		t.Fatalf("%s: error %v, want one wrapping log.ErrDiskFull", what, err)
	}
	if code := sqlstate.Of(err); code != sqlstate.DiskFull {
		t.Fatalf("%s: SQLSTATE %q, want %q (%v)", what, code, sqlstate.DiskFull, err)
	}
}

// readAll reads partition 0 of topic up to its end.
func readAll(t *testing.T, l *Log, topic string) []log.Record {
	t.Helper()
	ctx := ctxT(t)
	ends, err := l.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []log.Record
	for p := range ends {
		r, err := l.NewReader(ctx, log.TopicPartition{Topic: topic, Partition: int32(p)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for r.Position() < ends[p] {
			recs, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, recs...)
		}
		r.Close()
	}
	return out
}

func hasBallast(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, BallastFile))
	return err == nil
}

func TestDiskOptionsDefaults(t *testing.T) {
	const m = 4 * mib
	tests := []struct {
		name            string
		in              DiskOptions
		total, memtable int64
		want            DiskOptions
	}{
		{"small disk: the floors", DiskOptions{}, 64 * mib, m,
			DiskOptions{ReserveBytes: 16 * mib, SystemReserveBytes: 8 * mib, BallastBytes: 16 * mib}},
		{"2% of a mid disk", DiskOptions{}, 10 << 30, m,
			DiskOptions{ReserveBytes: (10 << 30) / 50, SystemReserveBytes: 8 * mib, BallastBytes: 16 * mib}},
		{"capped on a large disk", DiskOptions{}, 1 << 40, m,
			DiskOptions{ReserveBytes: 4 << 30, SystemReserveBytes: 8 * mib, BallastBytes: 16 * mib}},
		{"bigger memtables", DiskOptions{}, 64 * mib, 64 * mib,
			DiskOptions{ReserveBytes: 256 * mib, SystemReserveBytes: 128 * mib, BallastBytes: 256 * mib}},
		{"system reserve never above the reserve", DiskOptions{ReserveBytes: 4 * mib}, 64 * mib, m,
			DiskOptions{ReserveBytes: 4 * mib, SystemReserveBytes: 4 * mib, BallastBytes: 16 * mib}},
		{"no ballast", DiskOptions{BallastBytes: -1}, 64 * mib, m,
			DiskOptions{ReserveBytes: 16 * mib, SystemReserveBytes: 8 * mib, BallastBytes: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.ensureDefaults(tc.total, tc.memtable)
			tc.want.RecheckInterval, tc.want.LogInterval = defaultRecheckInterval, defaultDiskLogInterval
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []DiskOptions{
		{ReserveBytes: -1},
		{SystemReserveBytes: -1},
		{ReserveBytes: mib, SystemReserveBytes: 2 * mib},
	} {
		if err := (&Options{Dir: "x", Disk: bad}).validate(); err == nil {
			t.Errorf("%+v: validate accepted it", bad)
		}
	}
}

// TestDiskFullRefusesWrites fills the disk to just above the reserve: data
// writes of every kind are refused with 53100 and write nothing (no
// offset is used up), system writes and reads go on, Pebble never sees
// ENOSPC, and writes resume once space is freed.
func TestDiskFullRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	ctx := ctxT(t)
	l := openQuota(t, dir, fs, testDisk, "sys")
	defer l.Close()
	if !hasBallast(dir) {
		t.Fatal("no ballast made at open")
	}
	for _, name := range []string{"data", "sys"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Append(ctx, "data", []log.Record{{Value: value(0, 100), Partition: 0}}); err != nil {
		t.Fatal(err)
	}

	fs.Fill(testDisk.ReserveBytes + 64*kib)
	big := []log.Record{{Value: value(1, int(128*kib)), Partition: 0}}
	_, err := l.Append(ctx, "data", big)
	requireDiskFull(t, "append", err)
	err = l.Commit(ctx, log.Txn{Group: "g", Records: []log.ProduceRecord{{Topic: "data", Record: big[0]}},
		Offsets: map[log.TopicPartition]int64{{Topic: "sys", Partition: 0}: 1}})
	requireDiskFull(t, "commit", err)
	if got, err := l.CommittedOffsets(ctx, "g", "sys"); err != nil || len(got) != 0 {
		t.Fatalf("refused commit left offsets %v (%v)", got, err)
	}
	// 64 KiB over the reserve: a small data write still fits.
	if _, err := l.Append(ctx, "data", []log.Record{{Value: value(2, 100), Partition: 0}}); err != nil {
		t.Fatalf("small append above the reserve: %v", err)
	}

	// Now below the reserve: even a tiny data write is refused, system
	// writes are not.
	fs.Fill(testDisk.SystemReserveBytes + 256*kib)
	_, err = l.Append(ctx, "data", []log.Record{{Value: value(3, 10), Partition: 0}})
	requireDiskFull(t, "tiny append", err)
	err = l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{{Topic: "data", Partition: 0}: 1})
	requireDiskFull(t, "commit offsets", err)
	if _, err := l.Append(ctx, "sys", []log.Record{{Value: []byte("catalog"), Partition: 0}}); err != nil {
		t.Fatalf("system append: %v", err)
	}
	if err := l.CreateTopic(ctx, "more", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	if err := l.DeleteTopic(ctx, "more"); err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	fs.Fill(128 * kib)
	_, err = l.Append(ctx, "sys", []log.Record{{Value: []byte("catalog"), Partition: 0}})
	requireDiskFull(t, "system append below the system reserve", err)

	// Reads work while full.
	recs := readAll(t, l, "data")
	if len(recs) != 2 || recs[0].Offset != 0 || recs[1].Offset != 1 {
		t.Fatalf("read while full: %d records %+v", len(recs), recs)
	}

	fs.SetQuota(64 * mib)
	out, err := l.Append(ctx, "data", []log.Record{{Value: value(4, 100), Partition: 0}})
	if err != nil {
		t.Fatalf("append after space returned: %v", err)
	}
	if out[0].Offset != 2 {
		t.Errorf("offset after refusals = %d, want 2: a refused write must not use offsets", out[0].Offset)
	}
	if n := fs.ENOSPCs(); n != 0 {
		t.Errorf("Pebble met ENOSPC %d times; the guard should have refused first", n)
	}
}

// TestDiskFullManyWriters races many writers for the last free space. The
// guard must admit no more than fits above the reserve: Pebble never meets
// ENOSPC, the reserve is intact, every acknowledged record is there and
// every refused one is not.
func TestDiskFullManyWriters(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 256*mib)
	ctx := ctxT(t)
	// Memtables big enough never to flush here, so that the only bytes
	// written are the ones the guard counts.
	l, err := Open(Options{Dir: dir, Logger: quietLogger(), FS: fs, Disk: testDisk,
		Pebble: &pebble.Options{MemTableSize: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 4}); err != nil {
		t.Fatal(err)
	}
	fs.Fill(testDisk.ReserveBytes + 2*mib)

	const writers, size = 16, 16 << 10
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := w*100000 + i
				v := value(id, size)
				_, err := l.Append(ctx, "t", []log.Record{{Key: v[:8], Value: v, Partition: -1}})
				if errors.Is(err, log.ErrDiskFull) {
					return
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				acked[string(v[:8])] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n := fs.ENOSPCs(); n != 0 {
		t.Errorf("Pebble met ENOSPC %d times", n)
	}
	if free := fs.Free(); free < testDisk.ReserveBytes {
		t.Errorf("free space %d is below the reserve %d: the guard admitted too much", free, testDisk.ReserveBytes)
	}
	if len(acked) < 50 {
		t.Errorf("only %d records acknowledged in 2 MiB of room", len(acked))
	}
	recs := readAll(t, l, "t")
	seen := map[string]bool{}
	for _, r := range recs {
		k := string(r.Key)
		if !acked[k] || seen[k] {
			t.Fatalf("record %s read back: acknowledged %v, seen before %v", k, acked[k], seen[k])
		}
		seen[k] = true
	}
	if len(seen) != len(acked) {
		t.Fatalf("read %d records, %d were acknowledged", len(seen), len(acked))
	}
}

// TestENOSPCReleasesBallast fills the disk behind the guard's back: the
// write that meets ENOSPC in Pebble gets the ballast's space and succeeds
// (rather than Pebble failing fatally), later writes are refused until
// space returns, and the ballast is made again then.
func TestENOSPCReleasesBallast(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	ctx := ctxT(t)
	l := openQuota(t, dir, fs, testDisk)
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	fs.Fill(0)
	fs.ReportFree(1 << 40)
	if _, err := l.Append(ctx, "t", []log.Record{{Value: value(1, int(64*kib)), Partition: 0}}); err != nil {
		t.Fatalf("append that met ENOSPC: %v", err)
	}
	if fs.ENOSPCs() == 0 {
		t.Fatal("the write never met ENOSPC: the test tested nothing")
	}
	if hasBallast(dir) {
		t.Fatal("ballast still there after ENOSPC")
	}
	_, err := l.Append(ctx, "t", []log.Record{{Value: value(2, 100), Partition: 0}})
	requireDiskFull(t, "append after the ballast went", err)
	if recs := readAll(t, l, "t"); len(recs) != 1 || !bytes.Equal(recs[0].Value, value(1, int(64*kib))) {
		t.Fatalf("records after ENOSPC: %d", len(recs))
	}

	fs.SetQuota(64 * mib)
	deadline := time.Now().Add(10 * time.Second)
	for !hasBallast(dir) {
		if time.Now().After(deadline) {
			t.Fatal("ballast not made again once space returned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := l.Append(ctx, "t", []log.Record{{Value: value(3, 100), Partition: 0}}); err != nil {
		t.Fatalf("append after space returned: %v", err)
	}
}

// TestENOSPCWithoutBallastWaits: with no ballast to give, a Pebble write
// that meets ENOSPC waits for space instead of failing fatally, and
// completes once space returns.
func TestENOSPCWithoutBallastWaits(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	ctx := ctxT(t)
	disk := testDisk
	disk.BallastBytes = -1
	l := openQuota(t, dir, fs, disk)
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	fs.Fill(0)
	fs.ReportFree(1 << 40)
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, "t", []log.Record{{Value: value(1, int(64*kib)), Partition: 0}})
		done <- err
	}()
	for fs.ENOSPCs() == 0 {
		select {
		case err := <-done:
			t.Fatalf("append returned %v without meeting ENOSPC", err)
		case <-time.After(time.Millisecond):
		}
	}
	// Reads work while Pebble waits.
	if recs := readAll(t, l, "t"); len(recs) != 0 {
		t.Fatalf("read %d records of a write still waiting", len(recs))
	}
	select {
	case err := <-done:
		t.Fatalf("append returned %v on a full disk", err)
	default:
	}
	fs.SetQuota(64 * mib)
	if err := <-done; err != nil {
		t.Fatalf("append after space returned: %v", err)
	}
	if recs := readAll(t, l, "t"); len(recs) != 1 {
		t.Fatalf("read %d records, want 1", len(recs))
	}
}

// TestOpenOnFullDisk restarts on a disk with too little room to replay
// the write-ahead log: the ballast is released and the log opens,
// read-only in effect (data writes refused, reads and system writes
// work), and writable again once space returns. Without a ballast the
// open fails with 53100 at once instead of hanging.
func TestOpenOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	ctx := ctxT(t)
	// A ballast big enough to replay the WAL below.
	disk := testDisk
	disk.BallastBytes = 4 * mib
	l := openQuota(t, dir, fs, disk, "sys")
	for _, name := range []string{"t", "sys"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 40
	for i := range n {
		if _, err := l.Append(ctx, "t", []log.Record{{Value: value(i, int(8*kib)), Partition: 0}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !hasBallast(dir) {
		t.Fatal("no ballast")
	}

	fs.Fill(16 * kib)
	l = openQuota(t, dir, fs, disk, "sys")
	if hasBallast(dir) {
		t.Fatal("ballast kept although the disk was too full to open")
	}
	if recs := readAll(t, l, "t"); len(recs) != n {
		t.Fatalf("read %d records after a restart on a full disk, want %d", len(recs), n)
	}
	_, err := l.Append(ctx, "t", []log.Record{{Value: value(n, 100), Partition: 0}})
	requireDiskFull(t, "append after a restart on a full disk", err)
	if _, err := l.Append(ctx, "sys", []log.Record{{Value: []byte("marker"), Partition: 0}}); err != nil {
		t.Fatalf("system append after a restart on a full disk: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// No ballast left and no room: a clear error, not a hang.
	fs.Fill(0)
	if _, err := openQuotaErr(dir, fs, disk, "sys"); err != nil {
		requireDiskFull(t, "open with no room", err)
	} else {
		t.Fatal("open on a disk with no room at all succeeded")
	}

	fs.SetQuota(64 * mib)
	l = openQuota(t, dir, fs, disk, "sys")
	defer l.Close()
	if !hasBallast(dir) {
		t.Error("ballast not made again on an open with room")
	}
	if _, err := l.Append(ctx, "t", []log.Record{{Value: value(n, 100), Partition: 0}}); err != nil {
		t.Fatalf("append once space returned: %v", err)
	}
	if recs := readAll(t, l, "t"); len(recs) != n+1 {
		t.Fatalf("read %d records, want %d", len(recs), n+1)
	}
	if n := fs.ENOSPCs(); n != 0 {
		t.Errorf("Pebble met ENOSPC %d times", n)
	}
}

func TestDeleteStateRange(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	l := openTest(t, dir)
	defer l.Close()
	if err := l.DeleteStateRange(ctx, []byte("La"), []byte("Lb")); err == nil {
		t.Fatal("DeleteStateRange accepted log keys")
	}
	if err := l.DB().Set([]byte("Sa1"), []byte("v"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := l.DB().Set([]byte("Sb1"), []byte("v"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteStateRange(ctx, []byte("Sa"), []byte("Sb")); err != nil {
		t.Fatal(err)
	}
	if _, c, err := l.DB().Get([]byte("Sa1")); !errors.Is(err, pebble.ErrNotFound) {
		if c != nil {
			c.Close()
		}
		t.Errorf("Sa1 survived: %v", err)
	}
	v, c, err := l.DB().Get([]byte("Sb1"))
	if err != nil || string(v) != "v" {
		t.Errorf("Sb1 = %q, %v", v, err)
	}
	if c != nil {
		c.Close()
	}
}

// TestQuotaFSShortWrite checks the test filesystem itself: a write past
// the quota writes what fits and fails with ENOSPC, as a full disk does.
func TestQuotaFSShortWrite(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 100)
	f, err := fs.Create(filepath.Join(dir, "f"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := f.Write(make([]byte, 60)); n != 60 || err != nil {
		t.Fatalf("first write: %d, %v", n, err)
	}
	n, err := f.Write(make([]byte, 60))
	if n != 40 || !vfs.IsNoSpaceError(err) {
		t.Fatalf("write past the quota: %d, %v; want 40 and ENOSPC", n, err)
	}
	if du, _ := fs.GetDiskUsage(dir); du.AvailBytes != 0 || du.UsedBytes != 100 {
		t.Fatalf("usage %+v", du)
	}
	if err := fs.Remove(filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	if fs.Used() != 0 {
		t.Fatalf("used %d after removing the only file", fs.Used())
	}
	g, err := fs.Create(filepath.Join(dir, "g"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Preallocate(0, 101); !vfs.IsNoSpaceError(err) {
		t.Fatalf("preallocating past the quota: %v", err)
	}
	if err := g.Preallocate(0, 100); err != nil || fs.Free() != 0 {
		t.Fatalf("preallocating the quota: %v, %d free", err, fs.Free())
	}
}

// TestCloseWhileWaitingForSpace: Close does not hang behind a write that
// Pebble holds until space returns, nor end that wait (which Pebble would
// turn into a fatal error): it reports the disk full and leaves the
// database open.
func TestCloseWhileWaitingForSpace(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	ctx := ctxT(t)
	disk := testDisk
	disk.BallastBytes = -1
	l := openQuota(t, dir, fs, disk)
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	fs.Fill(0)
	fs.ReportFree(1 << 40)
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, "t", []log.Record{{Value: value(1, int(64*kib)), Partition: 0}})
		done <- err
	}()
	for !l.disk.stuck() {
		select {
		case err := <-done:
			t.Fatalf("append returned %v without waiting for space", err)
		case <-time.After(time.Millisecond):
		}
	}
	err := l.Close()
	requireDiskFull(t, "close while a write waits for space", err)
	if _, err := l.Append(ctx, "t", []log.Record{{Value: value(2, 10), Partition: 0}}); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("append after Close: %v, want ErrClosed", err)
	}
	fs.SetQuota(64 * mib)
	if err := <-done; err != nil {
		t.Fatalf("the waiting append, once space returned: %v", err)
	}
}

// countHandler counts the log lines whose message contains "disk".
type countHandler struct {
	mu *sync.Mutex
	n  *int
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "disk") {
		h.mu.Lock()
		*h.n++
		h.mu.Unlock()
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// TestDiskFullLogsRateLimited: hundreds of refusals, with the free space
// crossing the reserve back and forth, make one line each way, not one
// per write (the issue saw 500 lines/s).
func TestDiskFullLogsRateLimited(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	ctx := ctxT(t)
	var n int
	logger := slog.New(countHandler{mu: &sync.Mutex{}, n: &n})
	l, err := Open(Options{Dir: dir, Logger: logger, FS: fs, Disk: testDisk})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if i%50 == 0 {
			fs.Fill(testDisk.ReserveBytes + mib)
			if _, err := l.Append(ctx, "t", []log.Record{{Value: value(i, 100), Partition: 0}}); err != nil {
				t.Fatal(err)
			}
			fs.Fill(testDisk.ReserveBytes / 2)
		}
		_, err := l.Append(ctx, "t", []log.Record{{Value: value(i, 100), Partition: 0}})
		requireDiskFull(t, "append", err)
	}
	if n > 2 {
		t.Errorf("%d log lines about the disk for 300 refusals, want at most 2", n)
	}
	if n == 0 {
		t.Error("no log line about a full disk")
	}
}

// TestBallastDeletedByHand: an operator who deletes the ballast to make
// room gets it back once there is room again, and a later ENOSPC, finding
// none, waits for space rather than pretend it freed some.
func TestBallastDeletedByHand(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	l := openQuota(t, dir, fs, testDisk)
	defer l.Close()
	if err := fs.Remove(filepath.Join(dir, BallastFile)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !hasBallast(dir) {
		if time.Now().After(deadline) {
			t.Fatal("ballast deleted by hand never made again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Close first, so the loop cannot make it again under the test.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove(filepath.Join(dir, BallastFile)); err != nil {
		t.Fatal(err)
	}
	if l.disk.releaseBallast("test") {
		t.Fatal("releaseBallast claimed to free a ballast that was gone")
	}
}

// TestDiskWriteLeavesFlightBeforeReaders: a reader that acts on a record
// the moment it is published (a query commits its output of it) must be
// admitted on the free space the record's write left. The write's bytes
// show in the free space once its commit returns; were the write still
// counted in flight when its records are published, the reader's commit
// would be charged for them twice and refused: a 218-byte commit 16 KiB
// above the reserve after a 64 KiB write (TestDiskFullOverPgwire, which
// failed so about once in 15 runs).
func TestDiskWriteLeavesFlightBeforeReaders(t *testing.T) {
	dir := t.TempDir()
	fs := newQuotaFS(t, dir, 64*mib)
	ctx := ctxT(t)
	l := openQuota(t, dir, fs, testDisk)
	defer l.Close()
	for _, name := range []string{"src", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	const big = 64 << 10
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "src"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for round := range 30 {
		fs.Fill(testDisk.ReserveBytes + big + 16*kib)
		got := make(chan error, 1)
		go func() {
			recs, err := r.Next(ctx)
			if err == nil {
				// At once, as a task commits its output and offsets.
				last := recs[len(recs)-1]
				err = l.Commit(ctx, log.Txn{Group: "q",
					Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: value(round, 100), Partition: 0}}},
					Offsets: map[log.TopicPartition]int64{{Topic: "src"}: last.Offset + 1}})
			}
			got <- err
		}()
		if _, err := l.Append(ctx, "src", []log.Record{{Value: value(round, big), Partition: 0}}); err != nil {
			t.Fatalf("round %d: the 64 KiB append: %v", round, err)
		}
		if err := <-got; err != nil {
			t.Fatalf("round %d: a small commit right after the append was published, 16 KiB above the reserve: %v", round, err)
		}
	}
	if n := fs.ENOSPCs(); n != 0 {
		t.Errorf("Pebble met ENOSPC %d times", n)
	}
}
