package torture

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestChecksCatchTampering runs the checks against a real server whose
// source topic holds what a broken server would have written: an
// acknowledged row twice, an acknowledged row missing, a refused row
// present and a row nobody sent. The checks must name each one, and find
// nothing before the tampering.
func TestChecksCatchTampering(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	p, err := newProcess(binary(t), filepath.Join(dir, "data"), filepath.Join(dir, "runnel.log"), "warn")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	if err := p.waitReady(ctx, time.Minute, -1); err != nil {
		t.Fatal(withLog(err, filepath.Join(dir, "runnel.log")))
	}
	if err := createSchema(ctx, p.dsn(), 2); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, p.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn(conn)

	const users = 8
	led := newLedger()
	w := &writer{users: users, timeout: time.Minute, stats: &writeStats{}, logf: t.Logf}
	// write sends ids first..first+n-1 as a writer would, in both protocols.
	write := func(first int64, n int, simple bool) {
		t.Helper()
		if o, err := w.insert(ctx, conn, first, n, simple); o != acked {
			t.Fatalf("insert ids %d..%d: %s, %v", first, first+int64(n)-1, o, err)
		}
	}
	for i := range 20 {
		n := 1 + i%7
		first := led.allocate(n)
		write(first, n, i%2 == 0)
		led.settle(first, n, acked)
	}
	check := func() (tallies, *violations) {
		t.Helper()
		tl, v, err := verify(ctx, p.dsn(), led.snapshot(), users, 2*time.Minute, t.Logf, nil)
		if err != nil {
			t.Fatal(withLog(err, filepath.Join(dir, "runnel.log")))
		}
		return tl, v
	}
	if tl, v := check(); v.total() != 0 || tl.SourceRows != led.count(acked) || tl.Users == 0 || tl.Windows == 0 {
		t.Fatalf("honest server: %+v\n%s", tl, v)
	}

	// The tampering. dup: an acknowledged id sent again behind the
	// ledger's back. lost: acknowledged in the ledger, never sent.
	// refusedID: sent, recorded as refused. stranger: never allocated.
	dup := firstPassing(1)
	write(dup, 1, true)
	lost := led.allocate(1)
	led.settle(lost, 1, acked)
	refusedID := led.allocate(1)
	write(refusedID, 1, false)
	led.settle(refusedID, 1, refused)
	stranger := firstPassing(refusedID + 100)
	write(stranger, 1, true)

	tl, v := check()
	want := map[string]int64{vDupSource: 1, vLostSource: 1, vPhantomSource: 2, vPhantomSink: 1}
	// The sink mirrors the source as it is, so only the stranger (an id
	// the ledger never allocated) is blamed there too.
	if !maps.Equal(v.counts, want) {
		t.Fatalf("violations:\n%s\nwant %v", v, want)
	}
	if tl.Lost != 1 || tl.Duplicated != 1 || tl.Phantom != 3 {
		t.Fatalf("lost %d, duplicated %d, phantom %d; want 1, 1, 3 (%s)", tl.Lost, tl.Duplicated, tl.Phantom, fmt.Sprint(v))
	}
}

// firstPassing returns the first id from id on that passes the filter.
func firstPassing(id int64) int64 {
	for !passes(id) {
		id++
	}
	return id
}
