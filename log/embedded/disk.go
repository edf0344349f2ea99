package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/log"
)

// DiskOptions bound how much of its disk the log may fill; doc.go explains
// the design. Each zero field means its default, computed by Open from
// the size of the disk and of Pebble's memtables (m below: a 256th of the
// disk, at least 4 MiB and at most 64 MiB, unless Options.Pebble sets
// MemTableSize; see lsm.go). The floors below are those of a disk under
// 1 GiB, where m is 4 MiB.
type DiskOptions struct {
	// ReserveBytes is the free space that data writes (appends to user
	// topics, task commits, consumer offsets) never take: one that would
	// leave less free is refused with log.ErrDiskFull. The reserve is
	// room for Pebble's flushes and compactions, which write before they
	// free, and for system writes. While the ballast is missing, data
	// writes also leave BallastBytes free, so that it can come back.
	// Default: 2% of the disk, at least SystemReserveBytes+2m (16 MiB)
	// and at most 4 GiB.
	ReserveBytes int64
	// SystemReserveBytes is the free space that system writes (appends to
	// SystemTopics, creating, deleting and compacting topics, dropping
	// state) never take. Below ReserveBytes, so that the catalog still
	// records DROP and TERMINATE, and a restart still starts, once data
	// writes are refused. Default: 2m (8 MiB), room to flush two
	// memtables; never more than ReserveBytes.
	SystemReserveBytes int64
	// BallastBytes is the size of the emergency ballast file
	// (EMERGENCY_BALLAST in the log's directory), space held back so it
	// can be given to Pebble when the disk fills behind the log's back:
	// when a Pebble write meets ENOSPC, and when Open finds too little
	// space to replay the write-ahead log. It is made again once free
	// space allows. Default: 4m (16 MiB), enough to flush what a restart
	// replays. Negative: no ballast.
	BallastBytes int64
	// RecheckInterval is how often the log looks at the free space when
	// no write makes it look: while Pebble waits for space after ENOSPC,
	// and while the ballast is missing. Default: 1s.
	RecheckInterval time.Duration
	// LogInterval is the least time between two log lines about one lack
	// of space, so that a full disk is not also a flood of lines.
	// Default: 1 minute.
	LogInterval time.Duration
}

// BallastFile is the name of the ballast in the log's directory. Deleting
// it by hand is safe; the log makes it again when there is room.
const BallastFile = "EMERGENCY_BALLAST"

// Defaults that do not depend on the disk.
const (
	defaultMemTableSize    = 4 << 20 // Pebble's default
	defaultRecheckInterval = time.Second
	defaultDiskLogInterval = time.Minute
	maxDefaultReserve      = 4 << 30
	// minOpenHeadroom is what Open needs free beyond the write-ahead log
	// it replays: a new WAL, MANIFEST and OPTIONS file.
	minOpenHeadroom = 1 << 20
	// minResume is the least free space at which Pebble, waiting after
	// ENOSPC, tries again.
	minResume = 1 << 20
)

// ensureDefaults fills in the defaults for a disk of total bytes and
// memtables of memtable bytes.
func (o *DiskOptions) ensureDefaults(total, memtable int64) {
	if o.SystemReserveBytes == 0 {
		o.SystemReserveBytes = 2 * memtable
	}
	if o.ReserveBytes == 0 {
		o.ReserveBytes = min(max(total/50, o.SystemReserveBytes+2*memtable), maxDefaultReserve)
	}
	o.SystemReserveBytes = min(o.SystemReserveBytes, o.ReserveBytes)
	if o.BallastBytes == 0 {
		o.BallastBytes = 4 * memtable
	}
	if o.RecheckInterval <= 0 {
		o.RecheckInterval = defaultRecheckInterval
	}
	if o.LogInterval <= 0 {
		o.LogInterval = defaultDiskLogInterval
	}
}

func (o *DiskOptions) validate() error {
	if o.ReserveBytes < 0 || o.SystemReserveBytes < 0 {
		return fmt.Errorf("embedded: DiskOptions.ReserveBytes (%d) and SystemReserveBytes (%d) must not be negative", o.ReserveBytes, o.SystemReserveBytes)
	}
	if o.SystemReserveBytes > o.ReserveBytes && o.ReserveBytes > 0 {
		return fmt.Errorf("embedded: DiskOptions.SystemReserveBytes (%d) exceeds ReserveBytes (%d): system writes must be able to go on after data writes stop", o.SystemReserveBytes, o.ReserveBytes)
	}
	return nil
}

// writeClass says how much of the reserve a write may use.
type writeClass int

const (
	// classData writes leave ReserveBytes free (plus the ballast's size
	// while it is missing).
	classData writeClass = iota
	// classSystem writes leave SystemReserveBytes free.
	classSystem
	// classBallast is the ballast itself: it leaves ReserveBytes free.
	classBallast
)

func (c writeClass) String() string {
	switch c {
	case classSystem:
		return "system"
	case classBallast:
		return "ballast"
	}
	return "data"
}

// diskGuard admits writes while the disk has room for them and for the
// reserve, keeps the ballast, and stands between Pebble and ENOSPC.
type diskGuard struct {
	// fs is the filesystem under Pebble's ENOSPC wrapper: the guard's own
	// file operations must not go through the wrapper, whose writes wait
	// while onENOSPC runs.
	fs      vfs.FS
	dir     string
	ballast string
	opts    DiskOptions
	logger  *slog.Logger
	// off is set when the filesystem cannot report its free space (an
	// in-memory one): the guard then admits everything.
	off bool
	// closing is closed by Log.Close: the ballast loop returns.
	closing chan struct{}
	// stopped is closed when the ballast loop has returned.
	stopped chan struct{}

	// ballastMu serializes making and removing the ballast file. Held
	// across that file I/O, never while taking mu.
	ballastMu sync.Mutex

	mu struct {
		sync.Mutex
		// admitted counts every byte ever admitted; inflight the admitted
		// bytes whose write has not returned. See admit for why both.
		admitted int64
		inflight int64
		// hasBallast is whether the ballast file exists.
		hasBallast bool
		// full is set when a write is refused and cleared when a data
		// write is admitted: the edges are logged, rate-limited.
		full bool
		// refused counts refusals since the last line about them.
		refused int64
		// lastFull and lastAvail are when the last lines about refusals
		// and about space returning were logged.
		lastFull, lastAvail time.Time
		// bgErrors counts Pebble background errors not logged yet;
		// lastBgError is when the last one was.
		bgErrors    int64
		lastBgError time.Time
		// waiting counts Pebble writes waiting in onENOSPC for space.
		waiting int
	}
}

// newDiskGuard resolves opts against the disk under dir.
func newDiskGuard(fs vfs.FS, dir string, opts DiskOptions, memtable int64, logger *slog.Logger) (*diskGuard, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	g := &diskGuard{
		fs: fs, dir: dir, ballast: fs.PathJoin(dir, BallastFile), logger: logger,
		closing: make(chan struct{}), stopped: make(chan struct{}),
	}
	du, err := fs.GetDiskUsage(dir)
	if err != nil {
		// An in-memory filesystem has no disk to fill.
		logger.Debug("embedded log: free space unknown; no disk-full protection", "dir", dir, "error", err)
		g.off = true
		opts.ensureDefaults(0, memtable)
		g.opts = opts
		return g, nil
	}
	opts.ensureDefaults(clampInt64(du.TotalBytes), memtable)
	g.opts = opts
	if _, err := fs.Stat(g.ballast); err == nil {
		g.mu.hasBallast = true
	}
	return g, nil
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// free returns the free space the filesystem reports.
func (g *diskGuard) free() (int64, error) {
	du, err := g.fs.GetDiskUsage(g.dir)
	if err != nil {
		return 0, fmt.Errorf("free space of %s: %w", g.dir, err)
	}
	return clampInt64(du.AvailBytes), nil
}

// thresholdLocked is the free space a write of class c must leave.
func (g *diskGuard) thresholdLocked(c writeClass) int64 {
	switch c {
	case classSystem:
		return g.opts.SystemReserveBytes
	case classBallast:
		return g.opts.ReserveBytes
	}
	if g.opts.BallastBytes > 0 && !g.mu.hasBallast {
		return g.opts.ReserveBytes + g.opts.BallastBytes
	}
	return g.opts.ReserveBytes
}

// roomFor reports, without admitting or logging anything, whether a data
// write of n bytes would be admitted now: for work the log may skip when
// the disk is nearly full.
func (g *diskGuard) roomFor(n int64) bool {
	if g.off {
		return true
	}
	free, err := g.free()
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return free-g.mu.inflight-n >= g.thresholdLocked(classData)
}

// admit decides whether a write of n bytes may go to Pebble, and counts it
// in flight until done(n). It refuses with an error wrapping
// log.ErrDiskFull when the write would leave less free than its class
// must.
//
// Many writers may be admitted at once, and the filesystem's free space
// only shows a write once it has returned, so the space each writer sees
// must discount the others. A writer notes the bytes in flight (i0) and
// admitted so far (a0), then asks the filesystem (free). Every write
// admitted before a0 either returned before the question, and shows in
// free, or is in i0; every write admitted since is in admitted-a0. So
//
//	free - i0 - (admitted - a0)
//
// never overstates what is left, and the check and the count of each write
// are one critical section: two writers cannot both take the last room.
// (It understates when a write returned between the note and the question;
// the next write sees the truth.)
func (g *diskGuard) admit(n int64, c writeClass) error {
	if g.off {
		return nil
	}
	n = walSize(n)
	g.mu.Lock()
	a0, i0 := g.mu.admitted, g.mu.inflight
	g.mu.Unlock()
	free, err := g.free()
	if err != nil {
		return err
	}
	g.mu.Lock()
	left := free - i0 - (g.mu.admitted - a0) - n
	thr := g.thresholdLocked(c)
	if left < thr {
		// The ballast waits quietly for room; it is not a refused write.
		var line func()
		if c != classBallast {
			line = g.refusedLocked(c, free, thr)
		}
		g.mu.Unlock()
		if line != nil {
			line()
		}
		return log.ErrDiskFull.Errorf("disk full: %s free in %s, and the log keeps %s free for its own flushes and compactions (a %s write of %s refused)",
			bytesText(max(free, 0)), g.dir, bytesText(thr), c, bytesText(n))
	}
	g.mu.admitted += n
	g.mu.inflight += n
	back := false
	if c == classData && g.mu.full {
		// At most one line per LogInterval, however often the free space
		// crosses the reserve.
		g.mu.full = false
		if now := time.Now(); now.Sub(g.mu.lastAvail) >= g.opts.LogInterval {
			g.mu.lastAvail = now
			back = true
		}
	}
	g.mu.Unlock()
	if back {
		g.logger.Info("disk space available again: accepting writes", "dir", g.dir, "free", bytesText(free))
	}
	return nil
}

// walSize bounds what a batch of n bytes takes in the write-ahead log:
// the batch, a chunk header (at most 19 bytes) per 32 KiB block it spans,
// and the padding of a block's tail too short for a header.
func walSize(n int64) int64 {
	const block, header = 32 << 10, 19
	return n + 2*header*(n/block+2)
}

// done ends the flight of an admitted write of n bytes, whether it
// succeeded or not.
func (g *diskGuard) done(n int64) {
	if g.off {
		return
	}
	n = walSize(n)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.inflight -= n
}

// refusedLocked counts a refusal and returns the line to log about it
// once the lock is released, or nil: one line per LogInterval at most,
// with the number refused since the last, however many writes are refused
// and however often the free space crosses the reserve.
func (g *diskGuard) refusedLocked(c writeClass, free, thr int64) func() {
	g.mu.refused++
	still := g.mu.full
	g.mu.full = true
	now := time.Now()
	if now.Sub(g.mu.lastFull) < g.opts.LogInterval {
		return nil
	}
	msg := "disk full: refusing writes until space is freed (reads still work)"
	if still {
		msg = "disk still full: refusing writes"
	}
	refused := g.mu.refused
	g.mu.lastFull = now
	g.mu.refused = 0
	return func() {
		g.logger.Warn(msg, "dir", g.dir, "free", bytesText(max(free, 0)), "reserve", bytesText(thr),
			"class", c.String(), "refused", refused)
	}
}

// onENOSPC is Pebble's disk-full callback (vfs.OnDiskFull): a Pebble write
// met ENOSPC, so something other than the log filled the disk, or the
// reserve was too small. Every other Pebble write waits until it returns,
// then the failed write is tried once more, and Pebble treats a WAL or
// MANIFEST write that fails again as fatal. So: give Pebble the ballast,
// or, with none left, wait until there is space again. Reads go on
// meanwhile; writes are refused by admit.
func (g *diskGuard) onENOSPC() {
	if g.releaseBallast("a Pebble write ran out of space") {
		return
	}
	g.waitForSpace()
}

// waitForSpace blocks until the disk has room for Pebble again. Not even
// Log.Close ends the wait: Pebble would fail the write fatally; Close
// leaves the database open instead (see stuck).
func (g *diskGuard) waitForSpace() {
	g.mu.Lock()
	g.mu.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.mu.waiting--
		g.mu.Unlock()
	}()
	need := max(g.opts.SystemReserveBytes, minResume)
	t := time.NewTicker(g.opts.RecheckInterval)
	defer t.Stop()
	var logged time.Time
	for {
		// Wait before the first look too: when there is room by then but
		// not enough for the write that failed (a large compaction),
		// Pebble fails it and tries again at once, and this wait is all
		// that paces that loop.
		<-t.C
		free, err := g.free()
		if err == nil && free >= need {
			if !logged.IsZero() {
				g.logger.Info("disk space available again: Pebble resumes writing", "dir", g.dir, "free", bytesText(free))
			}
			return
		}
		if now := time.Now(); now.Sub(logged) >= g.opts.LogInterval {
			g.logger.Warn("disk full: Pebble is waiting for free space (writes wait, reads still work)", "dir", g.dir,
				"free", bytesText(max(free, 0)), "need", bytesText(need))
			logged = now
		}
	}
}

// stuck reports whether a Pebble write is waiting for space.
func (g *diskGuard) stuck() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mu.waiting > 0
}

// releaseBallast removes the ballast, if there is one, and says whether it
// did.
func (g *diskGuard) releaseBallast(why string) bool {
	if g.off {
		return false
	}
	g.ballastMu.Lock()
	defer g.ballastMu.Unlock()
	g.mu.Lock()
	has := g.mu.hasBallast
	g.mu.Unlock()
	if !has {
		return false
	}
	err := g.fs.Remove(g.ballast)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		g.logger.Error("disk full: cannot remove the emergency ballast", "path", g.ballast, "error", err)
		return false
	}
	g.mu.Lock()
	g.mu.hasBallast = false
	g.mu.Unlock()
	if err != nil {
		// Someone deleted it already: there is no space to give.
		return false
	}
	g.logger.Warn("disk full: released the emergency ballast; writes stay refused until space is freed",
		"why", why, "path", g.ballast, "size", bytesText(g.opts.BallastBytes))
	return true
}

// maybeMakeBallast makes the ballast if it is missing and the disk has
// room for it and for the reserve.
func (g *diskGuard) maybeMakeBallast() {
	if g.off || g.opts.BallastBytes <= 0 {
		return
	}
	g.ballastMu.Lock()
	defer g.ballastMu.Unlock()
	g.mu.Lock()
	has := g.mu.hasBallast
	g.mu.Unlock()
	if has {
		// An operator may have deleted it to make room.
		if _, err := g.fs.Stat(g.ballast); !errors.Is(err, os.ErrNotExist) {
			return
		}
		g.mu.Lock()
		g.mu.hasBallast = false
		g.mu.Unlock()
		g.logger.Warn("the emergency ballast was deleted; making it again when there is room", "path", g.ballast)
	}
	n := g.opts.BallastBytes
	if err := g.admit(n, classBallast); err != nil {
		return
	}
	err := g.writeBallast(n)
	g.done(n)
	if err != nil {
		g.logger.Warn("cannot make the emergency ballast; trying again later", "path", g.ballast, "error", err)
		return
	}
	g.mu.Lock()
	g.mu.hasBallast = true
	g.mu.Unlock()
	g.logger.Info("made the emergency ballast", "path", g.ballast, "size", bytesText(n))
}

// writeBallast writes a file of n allocated bytes under a temporary name
// and renames it into place, so that a crash never leaves a short ballast
// that looks whole.
func (g *diskGuard) writeBallast(n int64) (err error) {
	tmp := g.ballast + ".tmp"
	f, err := g.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if err != nil {
			_ = g.fs.Remove(tmp)
		}
	}()
	// fallocate when the filesystem has it: instant, and the blocks are
	// really reserved. The last byte then gives the file its size, so that
	// ls shows what du does.
	if perr := f.Preallocate(0, n); perr == nil {
		if _, err := f.WriteAt([]byte{0}, n-1); err != nil {
			return err
		}
	} else if vfs.IsNoSpaceError(perr) {
		return perr
	} else {
		zeros := make([]byte, 1<<20)
		for left := n; left > 0; {
			k := min(left, int64(len(zeros)))
			if _, err := f.Write(zeros[:k]); err != nil {
				return err
			}
			left -= k
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		f = nil
		return err
	}
	f = nil
	if err := g.fs.Rename(tmp, g.ballast); err != nil {
		return err
	}
	d, err := g.fs.OpenDir(g.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// prepareOpen runs before Pebble opens: it makes sure Pebble has room to
// replay and flush its write-ahead log, releasing the ballast if that is
// what it takes, and fails with log.ErrDiskFull when even that is not
// enough (rather than let Pebble retry a failing flush forever). With
// room to spare, it makes a missing ballast.
func (g *diskGuard) prepareOpen() error {
	if g.off {
		return nil
	}
	_ = g.fs.Remove(g.ballast + ".tmp")
	wal, err := g.walBytes()
	if err != nil {
		return fmt.Errorf("size of the write-ahead log in %s: %w", g.dir, err)
	}
	free, err := g.free()
	if err != nil {
		return err
	}
	if free < wal+g.opts.SystemReserveBytes && g.releaseBallast("too little free space to open") {
		if free, err = g.free(); err != nil {
			return err
		}
	}
	if need := wal + minOpenHeadroom; free < need {
		return log.ErrDiskFull.Errorf("disk full: %s free in %s, and replaying the write-ahead log needs %s: free some space and start again",
			bytesText(max(free, 0)), g.dir, bytesText(need))
	}
	g.maybeMakeBallast()
	return nil
}

// walBytes sums the sizes of the write-ahead log files Pebble will replay
// (and perhaps some obsolete ones: an overestimate errs on the safe side).
func (g *diskGuard) walBytes() (int64, error) {
	names, err := g.fs.List(g.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	var total int64
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		fi, err := g.fs.Stat(g.fs.PathJoin(g.dir, name))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// run keeps the ballast: every RecheckInterval it checks that the ballast
// is there, and makes it when it is missing and there is room. It returns
// when the log closes; Log.Close waits for it.
func (g *diskGuard) run() {
	defer close(g.stopped)
	if g.off || g.opts.BallastBytes <= 0 {
		return
	}
	t := time.NewTicker(g.opts.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-g.closing:
			return
		case <-t.C:
		}
		g.maybeMakeBallast()
	}
}

// backgroundError receives Pebble's failed flushes and compactions, which
// Pebble retries at once: logged once per LogInterval with a count, not
// once per retry.
func (g *diskGuard) backgroundError(err error) {
	g.mu.Lock()
	g.mu.bgErrors++
	now := time.Now()
	if now.Sub(g.mu.lastBgError) < g.opts.LogInterval {
		g.mu.Unlock()
		return
	}
	n := g.mu.bgErrors
	g.mu.bgErrors = 0
	g.mu.lastBgError = now
	g.mu.Unlock()
	msg := "pebble: background error"
	if vfs.IsNoSpaceError(err) {
		msg = "disk full: pebble cannot flush or compact"
	}
	g.logger.Error(msg, "component", "pebble", "error", err, "times", n)
}

// eventListener routes Pebble's events through the guard, teed with
// base's when the caller set one.
func (g *diskGuard) eventListener(base *pebble.EventListener) *pebble.EventListener {
	el := pebble.EventListener{BackgroundError: g.backgroundError}
	if base != nil {
		el = pebble.TeeEventListener(el, *base)
	}
	return &el
}

// close stops the ballast loop.
func (g *diskGuard) close() {
	select {
	case <-g.closing:
	default:
		close(g.closing)
	}
}

// noSpace wraps err, a Pebble write error, with log.ErrDiskFull when it
// was for lack of space.
func noSpace(err error) error {
	if err != nil && vfs.IsNoSpaceError(err) && !errors.Is(err, log.ErrDiskFull) {
		return fmt.Errorf("%w: %w", log.ErrDiskFull, err)
	}
	return err
}

// bytesText renders a byte count for people.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
