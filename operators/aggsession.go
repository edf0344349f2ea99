package operators

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// Session windows through a cache.
//
// A record joins the sessions of its key that it touches, so the
// aggregator must see every session of the key. It used to scan them from
// the store for each record, decoding each: with three quarters of
// Nexmark's bids from a hot bidder at a time, q11 spent 62% of its CPU
// there, and the scan stepped over every earlier version of the hot
// session still in the store's pending writes and memtables, which grows
// with the session. Now the sessions of a key are read from the store
// once, kept decoded in a cache (of two generations, as the group cache),
// changed in memory, and written back when the task flushes: the
// sessions a record merged away are deleted, the changed ones put. A
// record costs a lookup of its key and a look at its sessions. Sessions
// that expire leave the cache as they leave the store.

// sessionSet is the sessions of one key, as the store will hold them once
// written back.
type sessionSet struct {
	list []*cachedSession
	// gone are the state keys of sessions merged away since the last
	// write-back that the store still holds.
	gone []string
	// key is the group key decoded, kept once a session of the key is
	// pending (EmitCacheBytes): its change is emitted at the flush.
	key types.Row
}

// cachedSession is one session of a key.
type cachedSession struct {
	sk   string
	w    window.Window
	accs []agg.Accumulator
	// stored is set when the store holds sk (read from it, or written
	// back); dirty when accs or w changed since.
	stored, dirty bool
	// pending is set while the session is in a.pendingSessions (the emit
	// cache, EmitCacheBytes): its change is emitted at the next
	// emitPending. shown is then whether its row was in the result table
	// before its first change since the last emitPending, and mergedAway
	// whether a record has merged it into another since: its change is
	// then its tombstone, if it was shown, and nothing otherwise.
	pending, shown, mergedAway bool
}

// pendingSession is a session changed since the last emitPending, with
// its key's cache entry: its set holds the key the change is emitted
// under, and its generation tells whether a rotation forgets it.
type pendingSession struct {
	s *cachedSession
	e *genEntry[*sessionSet]
}

// size is what a key's cached sessions cost: the key, the sessions'
// encoded state (encoded bytes), and the structs around them.
func (s *sessionSet) size(key int, encoded int) int {
	n := key + encoded + 96
	for _, c := range s.list {
		n += 96 + 16*len(c.accs)
	}
	return n
}

// sessionsOf returns the cached sessions of a key, reading them from the
// store on a miss.
func (a *Aggregator) sessionsOf(keyBytes []byte, emit Emit) (*genEntry[*sessionSet], error) {
	if e := a.sessions.get(keyBytes); e != nil {
		return e, nil
	}
	if a.sessions.full() {
		// The rotation forgets the old generation's sessions, pending
		// ones among them: their changes go out first, and into the
		// store, as Kafka Streams' cache forwards and flushes the
		// entries it evicts. The young generation's stay pending (see
		// the groups' rotation, Aggregator.group).
		a.emitPendingSessionsOld(emit)
		if err := a.sessions.writeBackOld(a.putSessions()); err != nil {
			return nil, err
		}
		a.sessions.rotate()
	}
	set := &sessionSet{}
	encoded := 0
	prefix := window.AppendStoreKeyPrefix([]byte{'a'}, keyBytes)
	limit := window.AppendStoreKeyPrefixEnd([]byte{'a'}, keyBytes)
	var scanErr error
	err := a.Store.Scan(prefix, limit, func(k, v []byte) bool {
		_, start, err := parseStateKey(k)
		if err != nil {
			scanErr = err
			return false
		}
		accs, end, err := a.decodeState(v)
		if err != nil {
			scanErr = err
			return false
		}
		set.list = append(set.list, &cachedSession{sk: string(k), w: window.Window{Start: start, End: end}, accs: accs, stored: true})
		encoded += len(v)
		return true
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, err
	}
	return a.sessions.add(keyBytes, set, set.size(len(keyBytes), encoded)), nil
}

// writeBackSessions writes the changed keys' sessions into the store:
// deletes of the merged-away ones first, then the changed ones.
func (a *Aggregator) writeBackSessions() error {
	if a.sessions == nil {
		return nil
	}
	return a.sessions.writeBack(a.putSessions())
}

// putSessions returns the function that writes a key's changed sessions
// back (writeBackSessions).
func (a *Aggregator) putSessions() func(e *genEntry[*sessionSet]) (int, error) {
	var buf []byte
	return func(e *genEntry[*sessionSet]) (int, error) {
		set := e.val
		for _, sk := range set.gone {
			if err := a.Store.Delete([]byte(sk)); err != nil {
				return 0, err
			}
		}
		set.gone = set.gone[:0]
		encoded := 0
		for _, s := range set.list {
			// A session's timestamp is its end, where its rows are
			// stamped (see sessionCached).
			buf = encodeStateTo(buf[:0], s.accs, s.w.End, s.w.End)
			encoded += len(buf)
			if !s.dirty {
				continue
			}
			if err := a.Store.Put([]byte(s.sk), buf); err != nil {
				return 0, err
			}
			s.stored, s.dirty = true, false
		}
		return set.size(len(e.key), encoded), nil
	}
}

// dropSession forgets the cached session of state key sk, which has
// expired and been deleted from the store.
func (a *Aggregator) dropSession(sk []byte) {
	keyBytes, _, err := parseStateKey(sk)
	if err != nil {
		return
	}
	e := a.sessions.get(keyBytes)
	if e == nil {
		return
	}
	set := e.val
	for i, s := range set.list {
		if s.sk == string(sk) {
			set.list = append(set.list[:i], set.list[i+1:]...)
			return
		}
	}
}

// sessionDue handles the expiry entry ik of a session, come due at
// stream time now, and returns the state key of the session that expires
// with it, nil if none does: that session's state and the entry are then
// the caller's to delete.
//
// A session's entry is written once, when the session starts, at the
// expiry time of its window then, and stays there while the session
// grows: an entry that moved with the end was a delete and a put in the
// store for each record that extended a session, and the deletes stayed
// on disk as tombstones long after (a flush to L0 keeps them all; q11's
// state was 2.6 times its live bytes). A session that merges others
// keeps their entries, under their state keys, whatever its own: the
// session whose state key an entry names is the one it was written for,
// or, once that is gone, the one that covers its start, into which it
// was merged. So an entry is never later than the expiry of the session
// it stands for, and when it comes due that session's real end decides:
// it expires now, or the entry moves to its expiry time under its state
// key (it grew, or took the entry over); an entry that stands for no
// session any more (its session expired by another entry) goes. Each
// entry is dropped or moved forward when its time comes, so the index
// holds at most one entry per session started and not yet expired, as
// the store held their states. An entry written by an older binary,
// which moved it with the end and deleted a merged-away session's, is
// exact and expires its session as before.
func (a *Aggregator) sessionDue(ik []byte, now int64) (expire []byte, err error) {
	sk, w, ok, err := a.sessionFor(ik[9:])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, a.Store.Delete(ik)
	}
	t := a.expireTime(w)
	if t <= now {
		if !bytes.Equal(sk, ik[9:]) {
			// The caller deletes ik; the session's other entries find
			// it gone.
			return sk, nil
		}
		return ik[9:], nil
	}
	if err := a.Store.Delete(ik); err != nil {
		return nil, err
	}
	return nil, a.indexExpiry(sk, t)
}

// sessionFor returns the session that the expiry entry of state key sk
// stands for (see sessionDue): the session of that key, or the session of
// its group key that covers its start; ok is false when there is none. It
// reads the cache of the group's sessions (all of them, when it holds the
// group) or the store; the cache has been written back (Flush), so the two
// agree.
func (a *Aggregator) sessionFor(sk []byte) (key []byte, w window.Window, ok bool, err error) {
	keyBytes, start, err := parseStateKey(sk)
	if err != nil {
		return nil, w, false, err
	}
	if e := a.sessions.get(keyBytes); e != nil {
		var cover *cachedSession
		for _, s := range e.val.list {
			if s.sk == string(sk) {
				return sk, s.w, true, nil
			}
			if s.w.Start <= start && start <= s.w.End {
				cover = s
			}
		}
		if cover == nil {
			return nil, w, false, nil
		}
		return []byte(cover.sk), cover.w, true, nil
	}
	if v, ok, err := a.Store.Get(sk); err != nil || ok {
		if err != nil {
			return nil, w, false, err
		}
		_, end, err := a.decodeState(v)
		if err != nil {
			return nil, w, false, fmt.Errorf("session %x: %w", sk, err)
		}
		return sk, window.Window{Start: start, End: end}, true, nil
	}
	// The sessions of the group key that start at or before sk's: the
	// last of them may cover it.
	prefix := window.AppendStoreKeyPrefix([]byte{'a'}, keyBytes)
	var last []byte
	var lastV []byte
	err = a.Store.Scan(prefix, sk, func(k, v []byte) bool {
		last, lastV = append(last[:0], k...), append(lastV[:0], v...)
		return true
	})
	if err != nil || last == nil {
		return nil, w, false, err
	}
	_, cstart, err := parseStateKey(last)
	if err != nil {
		return nil, w, false, err
	}
	_, end, err := a.decodeState(lastV)
	if err != nil {
		return nil, w, false, fmt.Errorf("session %x: %w", last, err)
	}
	if end < start {
		return nil, w, false, nil
	}
	return last, window.Window{Start: cstart, End: end}, true, nil
}

// sessionCached folds in into the session it starts, extends or bridges,
// through the cache of its key's sessions.
//
// Every row it emits is stamped with the end of the session it is about,
// as Kafka Streams 3 (under ksqlDB 0.29) stamps them: a merged-away
// session's tombstone at that session's end, the new value at the merged
// session's end. So an out-of-order record inside a session, or one that
// extends it backwards, updates it at its end, not at the record's time.
func (a *Aggregator) sessionCached(in *GroupInput, emit Emit) error {
	gap := a.Spec.Window.Gap
	e, err := a.sessionsOf(in.KeyBytes, emit)
	if err != nil {
		return err
	}
	set := e.val
	var touching []*cachedSession
	var wins []window.Window
	for _, s := range set.list {
		if window.SessionTouches(gap, in.Time, s.w) {
			touching = append(touching, s)
			wins = append(wins, s.w)
		}
	}
	merged := window.MergeSession(gap, in.Time, wins)
	now := a.st.Now()
	late := a.Spec.Window.Closed(merged, now)
	for _, s := range touching {
		// A closed session is final: a record that would extend it is
		// late, rather than the start of a second session beside it.
		late = late || a.Spec.Window.Closed(s.w, now)
	}
	if late {
		a.Metrics.Late.Add(1)
		return nil
	}

	// Whether each touched session is in the result table is judged on
	// its accumulators before the row goes in (see shown): a session
	// merged away is deleted from the result only if it was shown, and the
	// merged one's HAVING failure is a tombstone only if it was. With the
	// emit cache on (EmitCacheBytes), a session already pending keeps
	// what it was before its first change of the batch.
	cached := a.EmitCacheBytes > 0 && !a.Spec.Final
	var shownBuf [4]bool
	shown := shownBuf[:0]
	mergedShown := false
	for _, s := range touching {
		sh := s.shown
		if !cached || !s.pending {
			if sh, err = a.shown(in.Key, &s.w, s.accs, true); err != nil {
				return err
			}
		}
		shown = append(shown, sh)
		if s.w == merged {
			mergedShown = sh
		}
	}

	// The row goes in first, into accumulators that nothing else sees
	// until it succeeds: a skipped row changes no session. Merging
	// sessions is rare, so their merge is made on copies.
	var accs []agg.Accumulator
	switch len(touching) {
	case 0:
		accs = a.fresh()
	case 1:
		accs = touching[0].accs
	default:
		if accs, _, err = a.decodeState(encodeState(touching[0].accs, 0)); err != nil {
			return err
		}
		for _, s := range touching[1:] {
			for i := range accs {
				if err := accs[i].Merge(s.accs[i]); err != nil {
					return err
				}
			}
		}
	}
	ok, err := a.foldAll(nil, accs, in)
	if !ok {
		a.broken = err
		return err
	}
	if err != nil {
		return err
	}
	a.sessions.changed(e)

	if len(touching) == 1 && touching[0].w == merged {
		// Within the session's bounds: it only changed.
		touching[0].dirty = true
		switch {
		case a.Spec.Final:
			return nil
		case cached:
			a.pendSession(e, in.Key, touching[0], mergedShown, emit)
			return nil
		}
		return a.emit(in.Key, &merged, accs, merged.End, mergedShown, emit)
	}
	// The merged session keeps the state key of a touched session that
	// starts where it does (one the record extended at its end, or that
	// absorbed later ones): that key is written over at the write-back,
	// not deleted and written again.
	sk := stateKey(in.KeyBytes, &merged)
	stored := false
	for j, s := range touching {
		for i, t := range set.list {
			if t == s {
				set.list = append(set.list[:i], set.list[i+1:]...)
				break
			}
		}
		switch {
		case s.sk == string(sk):
			stored = s.stored
		case s.stored:
			set.gone = append(set.gone, s.sk)
		}
		// A merged-away session's expiry entry stays, for the merged
		// session (see sessionDue); its close entry (EMIT FINAL) is
		// exact, and goes now.
		if a.Spec.Final {
			if err := a.Store.Delete(a.closeKey([]byte(s.sk), s.w)); err != nil {
				return err
			}
		}
		switch {
		case a.Spec.Final:
		case cached && s.w == merged:
			// Replaced by the merged session, of the same window (the
			// same row of the result): the new session's change is
			// this one's, and it knows whether the row was shown.
			if s.pending {
				s.mergedAway, s.shown = true, false
			}
		case cached:
			// Its change is its tombstone now, at the flush, if the
			// table showed it before the batch: a session made and
			// merged away within one batch never shows. As Kafka
			// Streams' CachingSessionStore forwards a removed session.
			s.mergedAway = true
			if s.pending || shown[j] {
				a.pendSession(e, in.Key, s, shown[j], emit)
			}
		case s.w != merged && shown[j]:
			// The merged-away session is deleted at the time of its
			// last record, its end, as Kafka Streams stamps it
			// (session-windows.json "session start stream", "out of
			// order - no grace period": the tombstone of [0,0] merged by
			// a record at 10009 is at 0, not 10009).
			w := s.w
			if err := a.Output(AggOutput{Key: in.Key, Window: &w, Time: w.End}, emit); err != nil {
				return err
			}
		}
	}
	ns := &cachedSession{sk: string(sk), w: merged, accs: accs, stored: stored, dirty: true}
	set.list = append(set.list, ns)
	if a.Spec.Final {
		if err := a.Store.Put(a.closeKey(sk, merged), nil); err != nil {
			return err
		}
	}
	if len(touching) == 0 {
		// A new session. One that merged others keeps their expiry
		// entries (see sessionDue).
		if err := a.indexExpiry(sk, a.expireTime(merged)); err != nil {
			return err
		}
	}
	switch {
	case a.Spec.Final:
		return nil
	case cached:
		a.pendSession(e, in.Key, ns, mergedShown, emit)
		return nil
	}
	return a.emit(in.Key, &merged, accs, merged.End, mergedShown, emit)
}

// pendSession marks a changed session as pending in the emit cache, if it
// is not already: shown is whether its row was in the result table before
// this change. Pending changes over EmitCacheBytes are emitted at once.
func (a *Aggregator) pendSession(e *genEntry[*sessionSet], key types.Row, s *cachedSession, shown bool, emit Emit) {
	if !s.pending {
		s.pending, s.shown = true, shown
		if e.val.key == nil {
			// A copy: an input's Key may share its array with its
			// arguments.
			e.val.key = slices.Clone(key)
		}
		a.pendingSessions = append(a.pendingSessions, pendingSession{s: s, e: e})
		a.pendingBytes += pendingSessionBytes(s)
	}
	if a.pendingBytes > a.EmitCacheBytes {
		a.emitPending(emit)
	}
}

// emitPendingSessions emits one change for each pending session, in the
// order they were first changed (see emitPending): its latest result,
// stamped with its end, or the tombstone of a session merged away that
// was shown before. A change that fails to evaluate is counted as a failed
// record and skipped.
func (a *Aggregator) emitPendingSessions(emit Emit) {
	for i := range a.pendingSessions {
		a.emitSession(&a.pendingSessions[i], emit)
	}
	// The keys were kept for these changes only.
	for i := range a.pendingSessions {
		a.pendingSessions[i].e.val.key = nil
	}
	clear(a.pendingSessions)
	a.pendingSessions = a.pendingSessions[:0]
}

// emitPendingSessionsOld emits the changes of the pending sessions that
// the session cache's next rotation forgets, those of its old
// generation's keys, as emitPendingOld does for groups; the young
// generation's stay pending.
func (a *Aggregator) emitPendingSessionsOld(emit Emit) {
	old := func(p *pendingSession) bool { return p.e.gen != a.sessions.gen }
	for i := range a.pendingSessions {
		if p := &a.pendingSessions[i]; old(p) {
			a.emitSession(p, emit)
		}
	}
	// A key's sessions are of its entry's generation: the keys of the
	// ones emitted are needed by none still pending.
	kept, bytes := a.pendingSessions[:0], 0
	for _, p := range a.pendingSessions {
		if old(&p) {
			p.e.val.key = nil
			continue
		}
		kept = append(kept, p)
		bytes += pendingSessionBytes(p.s)
	}
	clear(a.pendingSessions[len(kept):])
	a.pendingSessions, a.pendingBytes = kept, bytes
}

// pendingSessionBytes is what a pending session counts for against
// EmitCacheBytes.
func pendingSessionBytes(s *cachedSession) int { return pendingChangeBytes + 96 + 16*len(s.accs) }

// emitSession emits a pending session's change (see emitPendingSessions).
func (a *Aggregator) emitSession(p *pendingSession, emit Emit) {
	s, key := p.s, p.e.val.key
	s.pending = false
	// A copy: Output may keep the window it is given.
	w := s.w
	var err error
	switch {
	case !s.mergedAway:
		err = a.emit(key, &w, s.accs, w.End, s.shown, emit)
	case s.shown:
		err = a.Output(AggOutput{Key: key, Window: &w, Time: w.End}, emit)
	}
	if err != nil {
		a.emitFailed(key, &w, err)
	}
}
