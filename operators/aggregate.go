package operators

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/runnel/runnel/internal/invariants"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// AggOutput is one change of an aggregation's result table.
type AggOutput struct {
	// Key is the group key.
	Key types.Row
	// Window is the group's window; nil for an unwindowed aggregation.
	Window *window.Window
	// Row is the projected output row; nil deletes the group (its rows
	// were all retracted, or HAVING no longer holds).
	Row  types.Row
	Time int64
}

// AggregateSpec describes an aggregation stage. It is immutable and shared
// by the query's tasks.
type AggregateSpec struct {
	// Funcs are the aggregate calls, in post-aggregation row order.
	Funcs []agg.Func
	Codec *GroupCodec
	// Window is nil for an unwindowed aggregation.
	Window *window.Spec
	// AddsOnly is set when no input retracts a row: the aggregation of a
	// stream. A DISTINCT value's key in the store then says only that
	// the group has it (aggdistinct.go), and is written once. Default
	// false: exact counts, which a table's or a join's changes need.
	AddsOnly bool
	// Final emits each window once, when it closes (EMIT FINAL).
	Final bool
	// Having and Project are bound over the post-aggregation row: group
	// values, [WINDOWSTART, WINDOWEND], aggregate results.
	Having  expr.Expr
	Project []expr.Expr
}

// Aggregator is the second stage of an aggregation: it folds GroupInputs
// into per-group (and per-window) accumulators kept in a state store and
// emits the changed rows of the result table.
//
// State keys (all within the task's store):
//
//	'a' group [start]        accumulators of a group (and window)
//	'c' closeTime 'a'...     open windows by close time (EMIT FINAL)
//	'x' expireTime 'a'...    windows by expiry time (retention; a
//	                         session's may be earlier: sessionDue)
//	'x' expireTime 'l' 'a'... -> list of 'a'... keys
//	                         the time windows made by one Flush that
//	                         expire at expireTime (expiryList)
//	's'                      the task's stream time
//	'd' len 'a'... call value  a DISTINCT call's count of one value
//	'v'                      the layout of DISTINCT sets (aggdistinct.go)
//
// Groups and their DISTINCT values' counts pass through write-back caches
// (aggcache.go), and a session window's sessions through a cache of their
// key's sessions (aggsession.go): the store sees their changes when the
// task flushes, before each commit.
//
// The state value (stateVersion) is a version byte, the window end and the
// group's timestamp (8 bytes each), then each accumulator, length-prefixed;
// the first accumulator is a hidden COUNT(*) that tells when a group has no
// rows left. The timestamp is what Kafka Streams 3 keeps beside each
// aggregate (a ValueAndTimestamp) and stamps every update with: the
// record's time for a new group, else the larger of the record's time and
// the stored one (see update). States written before the timestamp was
// kept have no version byte (see decodeAccs).
type Aggregator struct {
	Spec  *AggregateSpec
	Store state.Store
	// Input turns an input record into the group input it carries.
	Input func(rec *log.Record) (GroupInput, bool, error)
	// Output turns a result change into records.
	Output  func(out AggOutput, emit Emit) error
	Metrics *Metrics
	// CacheBytes bounds each of the task's caches: of groups (or of a
	// session window's keys) and of DISTINCT values' counts (aggcache.go).
	// Default: DefaultAggCacheBytes (8 MiB): a task holds at most twice
	// that, the cost of the last batch's growth aside. With Memory, it
	// is the caches' weight in the engine's budget instead.
	CacheBytes int
	// Memory is the account the caches (and the group filter) draw their
	// shares of the engine's cache budget from (internal/membudget).
	// Default: nil, fixed limits (CacheBytes).
	Memory *membudget.Account
	// ReuseRows is set when Output is done with an AggOutput's Row when
	// it returns (it encodes it, as TableSink.Emit does): every output row
	// is then built in one buffer instead of a new row per update.
	// Default false: a new row each time (a push query keeps its rows).
	ReuseRows bool
	// EmitCacheBytes is the query's cache.max.bytes.buffering, the emit
	// side of Kafka Streams' record cache (see emitPending): when it is
	// positive, an update marks its group (and window, or session) as
	// changed, and the batch's Flush emits one change per changed group,
	// before the commit (a session merged away: its tombstone, if it was
	// shown before); changed groups holding more than EmitCacheBytes are
	// emitted early. Default 0: off, every update is emitted as it is
	// folded in (push queries, and the aggregations a join builds).
	EmitCacheBytes int

	count  agg.Func
	st     window.StreamTime
	loaded bool
	wins   []window.Window
	// cache holds the groups of a windowless or time-windowed
	// aggregation between flushes; nil for session windows, whose
	// sessions are cached by key in sessions (aggsession.go).
	cache    *groupCache
	sessions *genCache[*sessionSet]
	// groups tells, on a miss of cache, whether the store may hold the
	// group (aggcache.go); built by init with the cache.
	groups groupFilter
	// order is the order in which a row is folded into a group's
	// accumulators: the fallible ones first (see fold).
	order []int
	// broken, once set, fails the next Flush: a fold failed in a way it
	// could not undo, so the cached group is not to be trusted, and the
	// task goes back to its last commit.
	broken error
	// distinct holds, by function, the aggregate of the distinct values
	// of a DISTINCT call whose set the store keeps (aggdistinct.go); nil
	// for the others. counts caches those sets' counts.
	distinct []agg.Func
	counts   *countCache
	// countsShare is counts' share of the budget, drawn once: init makes
	// counts again after a recovery.
	countsShare *membudget.Share
	dkey        []byte
	// sk is the state key of the group being updated (update), reused.
	sk []byte
	// nextID is the id the next group with distinct values gets; it is
	// put in the store with the counts when it changed.
	nextID      uint64
	nextIDDirty bool
	// row is the post-aggregation row of the group being updated
	// (resultRow), reused from update to update: HAVING and the
	// projection read it and keep none of it.
	row types.Row
	// out is the output row that every update is projected into when
	// ReuseRows is set.
	out types.Row
	// pending are the groups changed since the last emitPending, in the
	// order they were first changed, when EmitCacheBytes is on; and
	// pendingBytes what their cache entries weigh.
	pending      []pendingChange
	pendingBytes int
	// pendingSessions are the sessions changed since the last
	// emitPending, as pending for groups (aggsession.go); pendingBytes
	// counts them too.
	pendingSessions []pendingSession
	// partials are the accumulators a partial record is decoded into,
	// reused from record to record (mergePartials).
	partials []agg.Accumulator
	// emitFailures are the pending changes that failed to evaluate since
	// the task last took them (takeFlushFailures), for its processing
	// log: at most one per pending change, so no more than the batch's
	// records.
	emitFailures []error
	// expiring are the time windows that became live since the last
	// Flush, by expiry time, which Flush indexes in a few list entries
	// (expiryList) rather than one entry each.
	expiring []expiryList
}

var _ flushFailer = (*Aggregator)(nil)

// takeFlushFailures implements flushFailer.
func (a *Aggregator) takeFlushFailures() []error {
	errs := a.emitFailures
	a.emitFailures = nil
	return errs
}

// emitFailed counts a pending change that failed to evaluate as a failed
// record and keeps it for the processing log (takeFlushFailures). The
// change was merged from the batch's records, so the error names the
// group's key and window instead of a record.
func (a *Aggregator) emitFailed(key types.Row, w *window.Window, err error) {
	what := fmt.Sprintf("group %s", formatKey(key))
	if w != nil {
		what += fmt.Sprintf(", window [%d, %d]", w.Start, w.End)
	}
	err = fmt.Errorf("the batch's merged change of %s (no one record made it): %w", what, err)
	if a.Metrics != nil {
		a.Metrics.fail(err)
	}
	a.emitFailures = append(a.emitFailures, err)
}

// formatKey renders a group key for a message: its values as text (as
// CAST AS STRING shows them, NULL as null), comma-separated in
// parentheses. The values carry all a message needs of their types.
func formatKey(key types.Row) string {
	parts := make([]string, len(key))
	for i, v := range key {
		parts[i] = "null"
		if !v.IsNull() {
			parts[i] = types.Format(v, types.Null)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

var (
	_ Processor   = (*Aggregator)(nil)
	_ Recoverable = (*Aggregator)(nil)
)

// Recover implements Recoverable: the stream time is read from the store
// again, where the last commit left it.
func (a *Aggregator) Recover() {
	a.loaded = false
	a.st = window.StreamTime{}
	if a.cache != nil {
		a.cache.forget()
	}
	if a.sessions != nil {
		a.sessions.forget()
	}
	if a.counts != nil {
		a.counts.forget()
	}
	// The pending changes go with the batch that made them: its replay
	// makes them again.
	clear(a.pending)
	a.pending, a.pendingBytes = a.pending[:0], 0
	clear(a.pendingSessions)
	a.pendingSessions = a.pendingSessions[:0]
	a.emitFailures = nil
	a.broken = nil
	for i := range a.expiring {
		a.expiring[i].keys = a.expiring[i].keys[:0]
	}
	a.expiring = a.expiring[:0]
}

var streamTimeKey = []byte{'s'}

// Process implements Processor.
func (a *Aggregator) Process(rec *log.Record, emit Emit) error {
	if err := a.init(); err != nil {
		return err
	}
	in, ok, err := a.Input(rec)
	if err != nil || !ok {
		return err
	}
	return a.Apply(&in, emit)
}

var (
	_ batchRecycler = (*Aggregator)(nil)
	_ inputDropper  = (*Aggregator)(nil)
)

// recycleBatch implements batchRecycler: the aggregation keeps nothing
// of a record once its Process returns (dropsInput).
func (a *Aggregator) recycleBatch() bool { return true }

// dropsInput implements inputDropper. Its inputs copy what they decode:
// GroupCodec's values (agg.DecodeValue) and a partial's accumulators
// (agg.DecodeInto) are copies, Grouper.Reader's strings too. A group's
// key bytes (a view of the record's key) go into the state key buffer,
// and the cache's map keys are strings of it, copies; a cached group's
// key is decoded anew. The store copies what it is given (state.Store),
// and what the aggregation emits is encoded from its groups, never from
// the record.
func (a *Aggregator) dropsInput() bool { return true }

// Apply folds one group input in.
func (a *Aggregator) Apply(in *GroupInput, emit Emit) error {
	if err := a.init(); err != nil {
		return err
	}
	w := a.Spec.Window
	if in.Partials != nil && (in.InWindow != (w != nil) || (w != nil && w.Kind == window.Session)) {
		return errPartialWindowed
	}
	if in.Prev != nil && w != nil {
		// A windowed aggregation has streams for input, which replace no
		// row; an update that reaches one anyway is its two changes.
		retract := GroupInput{Key: in.Key, KeyBytes: in.KeyBytes, Args: in.Prev, Time: in.Time, Retract: true}
		if err := a.Apply(&retract, emit); err != nil {
			return err
		}
		add := *in
		add.Prev = nil
		return a.Apply(&add, emit)
	}
	now := a.st.Observe(in.Time)
	switch {
	case w == nil:
		return a.update(in, nil, emit)
	case w.Kind == window.Session:
		if w.Late(in.Time, now) {
			a.Metrics.Late.Add(1)
			return nil
		}
		if in.Key == nil {
			var err error
			if in.Key, err = a.Spec.Codec.DecodeKey(in.KeyBytes); err != nil {
				return fmt.Errorf("decode group key: %w", err)
			}
		}
		return a.sessionCached(in, emit)
	}
	if in.Partials != nil {
		// A window's partials: the first stage folded in only rows that
		// its own stream time found the window open for, so the window's
		// verdict now is each row's (combine.go).
		win := w.At(in.WindowStart)
		if w.Closed(win, now) {
			a.Metrics.Late.Add(in.LastRows)
			return nil
		}
		return a.update(in, &win, emit)
	}
	if w.Late(in.Time, now) {
		a.Metrics.Late.Add(1)
		return nil
	}
	a.wins = w.Assign(in.Time, a.wins[:0])
	for i := range a.wins {
		win := a.wins[i]
		if w.Closed(win, now) {
			continue
		}
		if err := a.update(in, &win, emit); err != nil {
			return err
		}
	}
	return nil
}

// init loads the stream time on first use.
func (a *Aggregator) init() error {
	if a.loaded {
		return nil
	}
	var err error
	if a.count, err = agg.Resolve("COUNT", nil, nil, false); err != nil {
		return err
	}
	if a.order == nil {
		a.order = append(a.order, 0)
		for i, f := range a.Spec.Funcs {
			if agg.Fallible(f) {
				a.order = append([]int{i + 1}, a.order...)
			} else {
				a.order = append(a.order, i+1)
			}
		}
	}
	switch {
	case a.Spec.Window != nil && a.Spec.Window.Kind == window.Session:
		if a.sessions == nil {
			a.sessions = newGenCacheIn[*sessionSet](a.Memory, a.CacheBytes)
		}
	case a.cache == nil:
		a.cache = newGenCacheIn[*cachedGroup](a.Memory, a.CacheBytes)
		a.groups.share = a.Memory.Share(groupFilterBytes)
	}
	if a.cache != nil {
		// Built again whenever init runs: after Recover, the store may
		// hold other groups (a restore) or fewer (dropped writes).
		if err := a.buildGroupFilter(0); err != nil {
			return fmt.Errorf("load group filter: %w", err)
		}
	}
	if err := a.chooseLayout(); err != nil {
		return err
	}
	if a.externalSets() {
		if a.countsShare == nil {
			a.countsShare = a.Memory.Share(cacheWeight(a.CacheBytes))
		}
		a.counts = newGenCacheWith[uint64](a.countsShare)
	}
	v, ok, err := a.Store.Get(streamTimeKey)
	if err != nil {
		return fmt.Errorf("load stream time: %w", err)
	}
	if ok && len(v) == 8 {
		a.st.Observe(int64(be64(v)))
	}
	a.loaded = true
	return nil
}

// stateKey is the state key of a group (and window): 'a', then the group
// key bytes for an unwindowed aggregation, or window's store key, which
// orders a group's windows by start.
func stateKey(key []byte, w *window.Window) []byte { return appendStateKey(nil, key, w) }

// appendStateKey appends the state key of a group (and window) to dst.
func appendStateKey(dst, key []byte, w *window.Window) []byte {
	dst = append(dst, 'a')
	if w == nil {
		return append(dst, key...)
	}
	return window.AppendStoreKey(dst, key, w.Start)
}

// parseStateKey recovers the group key and window start of a windowed
// state key.
func parseStateKey(k []byte) (key []byte, start int64, err error) {
	if len(k) < 1 || k[0] != 'a' {
		return nil, 0, errors.New("operators: bad state key")
	}
	return window.ParseStoreKey(k[1:])
}

// fresh returns the accumulators of a group that has seen no rows.
func (a *Aggregator) fresh() []agg.Accumulator {
	accs := make([]agg.Accumulator, 1+len(a.Spec.Funcs))
	for i := range accs {
		accs[i] = a.funcOf(i).New()
	}
	return accs
}

// decodeState decodes a group's stored state: its accumulators and window
// end. A group of an aggregation whose DISTINCT sets are kept a key per
// value also has its id (see decodeStateID).
func (a *Aggregator) decodeState(v []byte) ([]agg.Accumulator, int64, error) {
	st, err := a.decodeStateID(v)
	return st.accs, st.end, err
}

// storedGroup is a group's decoded state.
type storedGroup struct {
	accs []agg.Accumulator
	// end is the window's end (0 unwindowed); ts the group's timestamp,
	// noTime in a state of the old format.
	end, ts int64
	// id is the group's id for its DISTINCT values' keys (aggdistinct.go):
	// 0 when it has none, or when the aggregation keeps no set in the
	// store.
	id uint64
}

// decodeStateID decodes a group's whole state.
func (a *Aggregator) decodeStateID(v []byte) (storedGroup, error) {
	accs, end, ts, rest, err := a.decodeAccs(v)
	if err != nil {
		return storedGroup{}, err
	}
	st := storedGroup{accs: accs, end: end, ts: ts}
	if a.counts == nil {
		return st, nil
	}
	id, w := binary.Uvarint(rest)
	if w <= 0 || w != len(rest) {
		return storedGroup{}, errors.New("operators: corrupt aggregate state: no group id")
	}
	st.id = id
	return st, nil
}

// stateVersion is the first byte of a group's state since it keeps the
// group's timestamp. A state written before has no version byte: it begins
// with the window end's big-endian high byte, 0x00 for an end from 0 to
// 2^56-1 (every unwindowed group's end is 0) or 0xFF for a negative one,
// which this version byte cannot be.
const stateVersion = 0x01

// noTime is the timestamp of a group whose state was written before the
// timestamp was kept: max(record time, noTime) is the record's time, as
// such a group was stamped then.
const noTime = math.MinInt64

// decodeAccs decodes a group's state: its accumulators, window end and
// timestamp (noTime for a state of the old format), and what follows
// them.
func (a *Aggregator) decodeAccs(v []byte) (accs []agg.Accumulator, end, ts int64, rest []byte, err error) {
	ts = noTime
	if len(v) > 0 && v[0] == stateVersion {
		if len(v) < 17 {
			return nil, 0, 0, nil, errors.New("operators: corrupt aggregate state")
		}
		end, ts = int64(be64(v[1:9])), int64(be64(v[9:17]))
		v = v[17:]
	} else {
		if len(v) < 8 {
			return nil, 0, 0, nil, errors.New("operators: corrupt aggregate state")
		}
		end = int64(be64(v[:8]))
		v = v[8:]
	}
	accs = make([]agg.Accumulator, 1+len(a.Spec.Funcs))
	for i := range accs {
		n, w := binary.Uvarint(v)
		if w <= 0 || w+int(n) > len(v) {
			return nil, 0, 0, nil, errors.New("operators: corrupt aggregate state")
		}
		acc, err := a.funcOf(i).Decode(v[w : w+int(n)])
		if err != nil {
			return nil, 0, 0, nil, fmt.Errorf("decode accumulator %d: %w", i, err)
		}
		accs[i] = acc
		v = v[w+int(n):]
	}
	return accs, end, ts, v, nil
}

// encodeState encodes a group's state with no timestamp known (noTime).
func encodeState(accs []agg.Accumulator, end int64) []byte {
	return encodeStateTo(make([]byte, 0, 64), accs, end, noTime)
}

// encodeStateTo appends a group's state to b: its accumulators, window
// end and timestamp, in the format of stateVersion.
func encodeStateTo(b []byte, accs []agg.Accumulator, end, ts int64) []byte {
	b = append(b, stateVersion)
	b = appendBE64(b, uint64(end))
	b = appendBE64(b, uint64(ts))
	return appendAccs(b, accs)
}

// foldAll folds in into every accumulator or into none: a record that
// fails (a SUM that overflows) is skipped, and a cached group must be left
// as it was. The fallible accumulators go first (a.order), so that when
// one fails only fallible ones have taken the row, and they give it back
// exactly (agg.Fallible). ok is false when even that failed, which only an
// accumulator broken some other way can make happen.
func (a *Aggregator) foldAll(g *cachedGroup, accs []agg.Accumulator, in *GroupInput) (ok bool, err error) {
	return a.foldArgs(g, accs, in.Args, in.Retract)
}

// foldArgs is foldAll for one row's arguments, added or retracted.
func (a *Aggregator) foldArgs(g *cachedGroup, accs []agg.Accumulator, rowArgs [][]types.Value, retract bool) (ok bool, err error) {
	step := func(i int, retract bool) error {
		var args []types.Value
		if i > 0 {
			args = rowArgs[i-1]
			if a.distinct[i-1] != nil {
				return a.distinctStep(g, i, accs[i], args, retract)
			}
		}
		if retract {
			return accs[i].Retract(args)
		}
		return accs[i].Add(args)
	}
	for n, i := range a.order {
		if err = step(i, retract); err == nil {
			continue
		}
		for _, j := range a.order[:n] {
			if step(j, !retract) != nil {
				return false, err
			}
		}
		return true, err
	}
	return true, nil
}

// foldUpdate folds in a row replaced within its group (in.Prev, KIP-904):
// the old row's retraction, then the new row's addition, each into every
// accumulator or none, as the two records a row moved between groups
// would be. One that fails leaves the other done, as it would have been
// as a record of its own: changed tells whether either was, and err is
// the first failure.
func (a *Aggregator) foldUpdate(g *cachedGroup, in *GroupInput) (changed, ok bool, err error) {
	ok, rerr := a.foldArgs(g, g.accs, in.Prev, true)
	if !ok {
		return true, false, rerr
	}
	ok, aerr := a.foldArgs(g, g.accs, in.Args, false)
	if !ok {
		return true, false, aerr
	}
	return rerr == nil || aerr == nil, true, cmp.Or(rerr, aerr)
}

// group returns the cached group of state key sk, reading it from the
// store on a miss. in is the input that asks for it: a group entering the
// cache keeps its key (in.Key, or in.KeyBytes decoded when the input
// left it nil, see GroupCodec.Input).
func (a *Aggregator) group(sk []byte, in *GroupInput, emit Emit) (*genEntry[*cachedGroup], error) {
	// A hot group is young, and found at once. Otherwise the group
	// filter, which holds every group the cache holds besides the
	// store's (see buildGroupFilter), tells a new group, for which the old
	// generation's map would be looked up in vain too (Nexmark's q3 and
	// q7 make a group of nearly every record).
	if e := a.cache.getYoung(sk); e != nil {
		return e, nil
	}
	known := a.groups.mayHave(sk)
	if known {
		if e := a.cache.getOld(sk); e != nil {
			return e, nil
		}
	} else if invariants.Enabled && a.cache.holds(sk) {
		panic(fmt.Sprintf("invariant: group %x is cached but not in the group filter", sk))
	}
	if a.cache.full() {
		// The rotation forgets the old generation, pending groups
		// among them: their changes go out first, and its changes
		// into the store, as Kafka Streams' cache forwards and
		// flushes the entries it evicts. The young generation's
		// pending groups stay, and merge their further updates until
		// the Flush, or the next rotation, which forgets them.
		a.emitPendingOld(emit)
		if err := a.writeBackOld(); err != nil {
			return nil, err
		}
		a.cache.rotate()
	}
	var (
		v   []byte
		ok  bool
		err error
	)
	if known {
		if v, ok, err = a.Store.Get(sk); err != nil {
			return nil, err
		}
	}
	if !ok {
		a.groups.add(sk)
	}
	// The group and its cache entry in one allocation.
	ge := new(groupEntry)
	g := &ge.g
	// A copy: an input's Key may share its array with its arguments.
	g.key = slices.Clone(in.Key)
	if g.key == nil {
		if g.key, err = a.Spec.Codec.DecodeKey(in.KeyBytes); err != nil {
			return nil, fmt.Errorf("decode group key: %w", err)
		}
	}
	if !ok {
		g.accs = a.fresh()
	} else {
		st, err := a.decodeStateID(v)
		if err != nil {
			return nil, err
		}
		g.accs, g.end, g.ts, g.id, g.live = st.accs, st.end, st.ts, st.id, true
	}
	if a.counts != nil {
		// A group without an id has no distinct values (retracting a
		// group's last row retracts each of its values, and a group the
		// store does not have has none).
		if g.seen, err = a.seenOf(g.id); err != nil {
			return nil, err
		}
	}
	return a.cache.addIn(&ge.e, sk, g, groupSize(len(sk), len(v), g)), nil
}

// groupEntry is a group with its cache entry, allocated together.
type groupEntry struct {
	e genEntry[*cachedGroup]
	g cachedGroup
}

// buildGroupFilter builds the group filter from the store's groups (with
// room for that many more), and adds the cached groups that the store
// does not have: those that are not live (a retraction that reached a
// group without rows, a new group whose first row failed), which the
// write-back leaves out. group trusts the filter's no for the cache as
// well.
func (a *Aggregator) buildGroupFilter(room int) error {
	if err := a.groups.build(a.Store, room); err != nil {
		return err
	}
	for _, m := range [...]map[string]*genEntry[*cachedGroup]{a.cache.young, a.cache.old} {
		for k, e := range m {
			if !e.val.live {
				a.groups.add([]byte(k))
			}
		}
	}
	return nil
}

// writeBack writes the cache's changed groups into the store.
func (a *Aggregator) writeBack() error { return a.cache.writeBack(a.putGroup()) }

// writeBackOld writes the changed groups of the cache's old generation
// into the store, before a rotation forgets them.
func (a *Aggregator) writeBackOld() error { return a.cache.writeBackOld(a.putGroup()) }

// putGroup returns the function that writes a cached group back.
func (a *Aggregator) putGroup() func(e *genEntry[*cachedGroup]) (int, error) {
	// The store copies what it is given (state.Store): one buffer each
	// for the keys and the states serves every group.
	var key, buf []byte
	return func(e *genEntry[*cachedGroup]) (int, error) {
		g := e.val
		key = append(key[:0], e.key...)
		if !g.live {
			return e.size, a.Store.Delete(key)
		}
		buf = encodeStateTo(buf[:0], g.accs, g.end, g.ts)
		if a.counts != nil {
			buf = binary.AppendUvarint(buf, g.id)
		}
		return groupSize(len(e.key), len(buf), g), a.Store.Put(key, buf)
	}
}

// update folds in into one group (and window), through the cache, and
// emits the change.
func (a *Aggregator) update(in *GroupInput, w *window.Window, emit Emit) error {
	a.sk = appendStateKey(a.sk[:0], in.KeyBytes, w)
	e, err := a.group(a.sk, in, emit)
	if err != nil {
		return err
	}
	g := e.val
	if !g.live && in.Retract {
		return nil // retracting a row this group never saw
	}
	// The group's key as the cache holds it: an input from the
	// repartition topic comes without its key decoded (GroupCodec.Input).
	key := g.key
	// With the emit cache on, a group already pending keeps what it was
	// before the batch: whether it was shown then decides its change.
	cached := a.EmitCacheBytes > 0 && !(a.Spec.Final && w != nil)
	var shown bool
	if !cached || !g.pending {
		if shown, err = a.shown(key, w, g.accs, g.live); err != nil {
			return err
		}
	}
	// A row replaced within a group that has no rows to retract it from
	// (its state was dropped) is added only, as Kafka Streams'
	// KTableAggregate adds a change's new value to a group it lacks.
	update := in.Prev != nil && g.live
	var ok, changed bool
	switch {
	case in.Partials != nil:
		ok, err = a.mergePartials(g, in.Partials)
		changed = err == nil
	case update:
		changed, ok, err = a.foldUpdate(g, in)
	default:
		ok, err = a.foldAll(g, g.accs, in)
		changed = err == nil
	}
	if !ok {
		a.cache.changed(e)
		a.broken = fmt.Errorf("group %x: a failed row could not be undone: %w", in.KeyBytes, err)
		return err
	}
	if !changed {
		return err
	}
	// A half-applied update (its retraction or its addition failed) is
	// still a change to emit; its error is the record's, reported after.
	failed := err
	a.cache.changed(e)
	n := g.accs[0].Result().Int()
	if invariants.Enabled && n < 0 {
		panic(fmt.Sprintf("invariant: group %x has a negative row count: a retraction without its row", in.KeyBytes))
	}
	// The update is stamped as Kafka Streams 3 stamps it (KStreamAggregate,
	// KStreamWindowAggregate, and KTableAggregate for a retraction or an
	// addition to a group it has): a new group at the record's time, a
	// group it has at the larger of the record's time and the group's. So
	// an out-of-order record does not move a group's ROWTIME back.
	ts := in.Time
	if g.live {
		ts = max(ts, g.ts)
	}
	g.ts = ts
	// A group whose rows were all retracted (a table's rows moved away or
	// were deleted) stays, with its aggregates' values over no rows
	// (COUNT = 0), as ksqlDB keeps it: it is no tombstone unless HAVING
	// says so (query-validation-tests count.json "count table",
	// group-by.json "field with re-key (table->table)"). So a group, once
	// live, stays live until its window expires.
	wasLive := g.live
	g.live = true
	if w != nil {
		g.end = w.End
		if !wasLive {
			if err := a.index(a.sk, *w); err != nil {
				return err
			}
		}
	}
	if a.Spec.Final && w != nil {
		return failed
	}
	if cached {
		if !g.pending {
			g.pending = true
			p := pendingChange{e: e, shown: shown}
			if w != nil {
				p.win, p.windowed = *w, true
			}
			a.pending = append(a.pending, p)
			a.pendingBytes += e.size + pendingChangeBytes
		}
		if a.pendingBytes > a.EmitCacheBytes {
			a.emitPending(emit)
		}
		return failed
	}
	if err := a.emit(key, w, g.accs, ts, shown, emit); err != nil {
		return err
	}
	return failed
}

// pendingChange is a group (and window) changed since the last
// emitPending: the emit cache's entry.
type pendingChange struct {
	// e is the group's cache entry: its generation tells whether a
	// rotation forgets it (emitPendingOld).
	e *genEntry[*cachedGroup]
	// win is the group's window when windowed is set.
	win      window.Window
	windowed bool
	// shown is whether the group's row was in the result table before
	// its first change since the last emitPending (see shown).
	shown bool
}

// pendingChangeBytes is what a pendingChange costs beside its group.
const pendingChangeBytes = 64

// emitPending emits one change for each pending group, in the order the
// groups were first changed: its result now, stamped with its latest
// timestamp, or a tombstone when HAVING fails now and the row was shown
// before (see emit). This is the emit side of Kafka Streams' record cache
// (cache.max.bytes.buffering): updates to a group between two commits are
// merged, and only the last is forwarded, with what the table showed
// before the first; the cache holds the groups themselves already
// (aggcache.go), so a pending group is a mark and what its change needs.
//
// A change whose HAVING or projection fails to evaluate is counted as a
// failed record (Metrics) and skipped; with the cache off, the record
// that made it would have been. The others are emitted.
func (a *Aggregator) emitPending(emit Emit) {
	for i := range a.pending {
		a.emitChange(&a.pending[i], emit)
	}
	a.emitPendingSessions(emit)
	clear(a.pending)
	a.pending, a.pendingBytes = a.pending[:0], 0
}

var _ flushSizer = (*Aggregator)(nil)

// flushOutput implements flushSizer: a pending group's change is one
// record, a pending session's up to two (the old session's tombstone,
// the new session).
func (a *Aggregator) flushOutput() int {
	return len(a.pending) + 2*len(a.pendingSessions)
}

// emitPendingOld emits the changes of the pending groups that the group
// cache's next rotation forgets, those of its old generation, in the
// order they were first changed; the young generation's stay pending, in
// theirs. A group has one pending change at a time, so its changes still
// go out in the order they were made.
func (a *Aggregator) emitPendingOld(emit Emit) {
	kept, bytes := a.pending[:0], 0
	for i := range a.pending {
		p := a.pending[i]
		if p.e.gen == a.cache.gen {
			kept = append(kept, p)
			bytes += p.e.size + pendingChangeBytes
			continue
		}
		a.emitChange(&p, emit)
	}
	clear(a.pending[len(kept):])
	a.pending, a.pendingBytes = kept, bytes
}

// emitChange emits a pending group's change (see emitPending).
func (a *Aggregator) emitChange(p *pendingChange, emit Emit) {
	g := p.e.val
	g.pending = false
	var w *window.Window
	if p.windowed {
		// A copy: Output may keep the window it is given.
		win := p.win
		w = &win
	}
	if err := a.emit(g.key, w, g.accs, g.ts, p.shown, emit); err != nil {
		a.emitFailed(g.key, w, err)
	}
}

// shown reports whether a group's result, as its accumulators hold it
// before a change, is in the result table: it existed and HAVING held
// for it. A group that fails HAVING now is deleted (a tombstone) only if
// it was shown, as ksqlDB does since 0.15: no tombstone for a row the
// table never had (having.json; ksql pull request 6405).
func (a *Aggregator) shown(key types.Row, w *window.Window, accs []agg.Accumulator, existed bool) (bool, error) {
	if !existed || a.Spec.Having == nil {
		return existed, nil
	}
	return a.having(a.resultRow(key, w, accs))
}

// resultRow is the post-aggregation row of a group's current result, in
// a.row: valid until the next call.
func (a *Aggregator) resultRow(key types.Row, w *window.Window, accs []agg.Accumulator) types.Row {
	clear(a.row)
	row := append(a.row[:0], key...)
	if w != nil {
		row = append(row, types.NewBigint(w.Start), types.NewBigint(w.End))
	}
	for _, acc := range accs[1:] {
		row = append(row, acc.Result())
	}
	a.row = row
	return row
}

// having evaluates HAVING over a post-aggregation row: true when there is
// none.
func (a *Aggregator) having(row types.Row) (bool, error) {
	h := a.Spec.Having
	if h == nil {
		return true, nil
	}
	v, err := h.Eval(row)
	if err != nil {
		return false, err
	}
	return !v.IsNull() && v.Bool(), nil
}

// index records a new window's close and expiry times. A time window's
// expiry goes into the list of its expiry time, which Flush writes.
func (a *Aggregator) index(sk []byte, w window.Window) error {
	if a.Spec.Final {
		if err := a.Store.Put(a.closeKey(sk, w), nil); err != nil {
			return err
		}
	}
	t := a.expireTime(w)
	if a.sessions != nil {
		return a.indexExpiry(sk, t)
	}
	a.addExpiring(sk, t)
	return nil
}

// expiryList is the state keys of the time windows that became live
// since the last Flush and expire at t, each preceded by its length (a
// uvarint).
//
// One expiry entry per window and group, as sessions keep them, was a
// state write per new window and group: in Nexmark's q5 (a count per
// auction and 10-second window advancing by 2) 304,000 of the query's
// 2.75 million writes, each a map insert in the pending writes, a skip
// list insert in the memtable and a key for the compactions to carry.
// A list holds what those entries held, and all of it expires at once,
// as they did: windows of one expiry time expire together whatever
// their group. So Flush writes one entry per expiry time (per
// maxExpiryListBytes of keys), 'x' t 'l' and the list's first key, whose
// value is the list: a key indexed once (a window becomes live once
// before it expires, and a window that expired is closed: Closed) starts
// no other list. Entries written before the lists, 'x' t 'a'..., expire
// as before.
type expiryList struct {
	t    int64
	keys []byte
}

// maxExpiryListBytes bounds one list entry's value: a Flush with more
// new windows of one expiry time writes several.
const maxExpiryListBytes = 32 << 10

// addExpiring adds the state key of a time window that became live,
// expiring at t, to its list.
func (a *Aggregator) addExpiring(sk []byte, t int64) {
	// A batch's new windows have few expiry times (a hopping window's
	// record is in size/advance of them), the latest most often.
	i := len(a.expiring) - 1
	for i >= 0 && a.expiring[i].t != t {
		i--
	}
	if i < 0 {
		if len(a.expiring) < cap(a.expiring) {
			// A list of an earlier Flush, its buffer reused.
			a.expiring = a.expiring[:len(a.expiring)+1]
			a.expiring[len(a.expiring)-1].t = t
		} else {
			a.expiring = append(a.expiring, expiryList{t: t})
		}
		i = len(a.expiring) - 1
	}
	l := &a.expiring[i]
	l.keys = binary.AppendUvarint(l.keys, uint64(len(sk)))
	l.keys = append(l.keys, sk...)
}

// writeExpiring writes the lists of the windows that became live since
// the last Flush (addExpiring) into the store.
func (a *Aggregator) writeExpiring() error {
	var ik []byte
	for i := range a.expiring {
		l := &a.expiring[i]
		for rest := l.keys; len(rest) > 0; {
			// The list's keys up to maxExpiryListBytes, the first of
			// which names its entry.
			first, after, _ := listKey(rest)
			for len(after) > 0 && len(rest)-len(after) < maxExpiryListBytes {
				_, after, _ = listKey(after)
			}
			list := rest[:len(rest)-len(after)]
			rest = after
			ik = append(orderedTime(append(ik[:0], 'x'), l.t), 'l')
			ik = append(ik, first...)
			// The key is new (see expiryList); were it not, the list
			// there is kept, not overwritten.
			old, ok, err := a.Store.Get(ik)
			if err != nil {
				return err
			}
			if ok {
				list = append(slices.Clip(old), list...)
			}
			if err := a.Store.Put(ik, list); err != nil {
				return err
			}
		}
		l.keys = l.keys[:0]
	}
	a.expiring = a.expiring[:0]
	return nil
}

// indexExpiry records that the window of state key sk expires at t (or
// later: see sessionDue).
func (a *Aggregator) indexExpiry(sk []byte, t int64) error {
	return a.Store.Put(append(orderedTime([]byte{'x'}, t), sk...), nil)
}

// closeKey is the close index's key of a window (EMIT FINAL).
func (a *Aggregator) closeKey(sk []byte, w window.Window) []byte {
	return append(orderedTime([]byte{'c'}, a.Spec.Window.CloseTime(w)), sk...)
}

// expireTime is when a window's state is dropped. A session is kept at
// least until no record can reach it any more — one within its gap is
// accepted until gap + grace after it — so that such a record finds the
// session (and is judged late against it) instead of starting a new one.
func (a *Aggregator) expireTime(w window.Window) int64 {
	spec := a.Spec.Window
	t := spec.ExpireTime(w)
	if spec.Kind == window.Session {
		t = max(t, w.End+2*spec.GapMs()+spec.GraceMs()+1)
	}
	return t
}

// emit evaluates HAVING and the projection over a group's current result.
// A group that fails HAVING is deleted from the result (a tombstone) when
// it was shown before, and emits nothing otherwise.
func (a *Aggregator) emit(key types.Row, w *window.Window, accs []agg.Accumulator, ts int64, shown bool, emit Emit) error {
	row := a.resultRow(key, w, accs)
	out := AggOutput{Key: key, Window: w, Time: ts}
	ok, err := a.having(row)
	if err != nil {
		return err
	}
	if !ok {
		if !shown {
			return nil
		}
		return a.Output(out, emit)
	}
	if a.ReuseRows {
		if a.out == nil {
			a.out = make(types.Row, len(a.Spec.Project))
		}
		out.Row = a.out
	} else {
		out.Row = make(types.Row, len(a.Spec.Project))
	}
	for i, e := range a.Spec.Project {
		var err error
		if out.Row[i], err = e.Eval(row); err != nil {
			return err
		}
	}
	return a.Output(out, emit)
}

// Flush implements Processor: it emits the batch's pending changes (the
// emit cache, EmitCacheBytes), saves the stream time, emits the windows
// that closed (EMIT FINAL) and drops the windows past retention.
func (a *Aggregator) Flush(emit Emit) error {
	if a.broken != nil {
		return a.broken
	}
	// The batch's changes first, before any window expires from the
	// cache below.
	a.emitPending(emit)
	if a.cache != nil {
		if err := a.writeBack(); err != nil {
			return err
		}
		if a.cache.full() {
			a.cache.rotate()
		}
		switch {
		case a.groups.rebuild:
			// Every cached group that is live is in the store now.
			if err := a.buildGroupFilter(0); err != nil {
				return fmt.Errorf("rebuild group filter: %w", err)
			}
		case a.groups.layered():
			// Its keys again, in one layer with room for three
			// times as many more: a scan of the store's groups, once
			// each time their number has grown about sixtyfold (the
			// layers after the first hold 2, 4 and 8 times what it
			// does), so that the scans cost a new group little.
			if err := a.buildGroupFilter(4 * a.groups.added); err != nil {
				return fmt.Errorf("rebuild group filter: %w", err)
			}
		}
	}
	if err := a.writeBackCounts(); err != nil {
		return err
	}
	if a.counts != nil && a.counts.full() {
		a.counts.rotate()
	}
	if err := a.writeBackSessions(); err != nil {
		return err
	}
	if a.sessions != nil && a.sessions.full() {
		a.sessions.rotate()
	}
	if a.Spec.Window == nil || !a.st.Seen() {
		return nil
	}
	now := a.st.Now()
	if err := a.Store.Put(streamTimeKey, appendBE64(nil, uint64(now))); err != nil {
		return err
	}
	// Before the expiry scan below: a window that became live in this
	// batch may have expired by its end.
	if err := a.writeExpiring(); err != nil {
		return err
	}
	if a.Spec.Final {
		due, err := a.due('c', now)
		if err != nil {
			return err
		}
		for _, d := range due {
			ik, sk := d.key, d.key[9:]
			v, ok, err := a.Store.Get(sk)
			if err != nil {
				return err
			}
			if err := a.Store.Delete(ik); err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := a.emitStored(sk, v, emit); err != nil {
				return err
			}
		}
	}
	due, err := a.due('x', now)
	if err != nil {
		return err
	}
	for _, d := range due {
		ik, sk := d.key, d.key[9:]
		if len(sk) > 0 && sk[0] == 'l' {
			if err := a.expireList(d.value); err != nil {
				return err
			}
			if err := a.Store.Delete(ik); err != nil {
				return err
			}
			continue
		}
		if a.sessions != nil {
			// The entry may be a session's that grew or was merged
			// away since it was written.
			if sk, err = a.sessionDue(ik, now); err != nil {
				return err
			}
			if sk == nil {
				continue
			}
		}
		if err := a.expire(sk); err != nil {
			return err
		}
		if err := a.Store.Delete(ik); err != nil {
			return err
		}
	}
	if a.counts != nil && len(due) > 0 {
		// Its counts were written back above; some are deleted now.
		a.counts.forget()
	}
	return nil
}

// expire drops the state of window sk, which has expired.
func (a *Aggregator) expire(sk []byte) error {
	if a.counts != nil {
		if err := a.dropDistinct(sk); err != nil {
			return err
		}
	}
	if err := a.Store.Delete(sk); err != nil {
		return err
	}
	if a.cache != nil {
		a.cache.drop(sk)
	}
	if a.sessions != nil {
		a.dropSession(sk)
	}
	return nil
}

// expireList drops the state of the windows of an expiry list
// (expiryList), which have expired.
func (a *Aggregator) expireList(list []byte) error {
	for len(list) > 0 {
		sk, rest, ok := listKey(list)
		if !ok {
			return errors.New("operators: bad expiry list")
		}
		if err := a.expire(sk); err != nil {
			return err
		}
		list = rest
	}
	return nil
}

// listKey splits an expiry list (expiryList) into its first key and the
// keys after it; ok is false when the list does not start with a whole
// key.
func listKey(list []byte) (key, rest []byte, ok bool) {
	n, w := binary.Uvarint(list)
	if w <= 0 || uint64(len(list)-w) < n {
		return nil, nil, false
	}
	return list[w : w+int(n)], list[w+int(n):], true
}

// dueEntry is an index entry that is due: its key, and its value when it
// is an expiry list's.
type dueEntry struct {
	key, value []byte
}

// due lists the index entries of kind ('c' or 'x') whose time is at or
// before now.
func (a *Aggregator) due(kind byte, now int64) ([]dueEntry, error) {
	var ents []dueEntry
	end := orderedTime([]byte{kind}, now)
	end = state.PrefixEnd(end)
	err := a.Store.Scan([]byte{kind}, end, func(k, v []byte) bool {
		e := dueEntry{key: append([]byte(nil), k...)}
		if len(k) > 9 && k[9] == 'l' {
			e.value = append([]byte(nil), v...)
		}
		ents = append(ents, e)
		return true
	})
	return ents, err
}

// emitStored emits a window's final result from its stored state.
func (a *Aggregator) emitStored(sk, v []byte, emit Emit) error {
	keyBytes, start, err := parseStateKey(sk)
	if err != nil {
		return err
	}
	st, err := a.decodeStateID(v)
	if err != nil {
		return err
	}
	key, err := a.Spec.Codec.DecodeKey(keyBytes)
	if err != nil {
		return err
	}
	w := window.Window{Start: start, End: st.end}
	// The final row is stamped with the window's timestamp, the latest of
	// its records' times, as ksqlDB 0.29 emits it (suppress.json "should
	// support final results for hopping windows": [0,5) at 2). A window
	// whose state was written before the timestamp was kept is stamped, as
	// then, with its end.
	ts := st.ts
	if ts == noTime {
		ts = st.end
	}
	return a.emit(key, &w, st.accs, ts, false, emit)
}
