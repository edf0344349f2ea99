package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// This file is a session's transaction, as PostgreSQL clients expect one:
//
//   - Writes (INSERT VALUES, COPY FROM) are buffered in the session and
//     reach the log when their transaction commits, all at once: one
//     log.Commit, atomic across topics in both backends (one Pebble batch
//     in the embedded log, one Kafka transaction in Kafka mode). ROLLBACK,
//     or an error in the transaction, discards them. The buffer is bounded
//     by Options.MaxTransactionBytes (54000 past it).
//   - Outside a block (BEGIN), statements run in an implicit transaction
//     that the server ends with Sync: at the end of each simple Query
//     message and at each Sync message of the extended protocol, so that
//     a multi-statement Query or a pipeline is atomic, as in PostgreSQL.
//     One difference: a statement that reads or changes the catalog
//     commits the implicit transaction's writes before it runs, so that
//     INSERT ...; SELECT ... in one message sees its rows (a log cannot
//     show uncommitted writes to a read). Inside a block reads do not see
//     the block's own writes until COMMIT.
//   - DDL and persistent queries are not transactional: inside a block
//     they take effect at once, with a notice saying ROLLBACK will not
//     undo them.
//   - Isolation is READ COMMITTED; asking for REPEATABLE READ or
//     SERIALIZABLE fails with 0A000. READ ONLY transactions refuse writes
//     and DDL with 25006.
//   - Savepoints are supported: ROLLBACK TO drops the writes and cursors
//     that came after the savepoint and leaves a failed block usable.
//
// The state belongs to the connection goroutine, which is the only one
// that calls Prepare, Execute, Fail, Sync, TxStatus and Close.

// clientTxnGroup names the transactions of client writes for the log: in
// Kafka mode, the transactional producer they share.
const clientTxnGroup = "_runnel_client_writes"

// txnState is a session's transaction.
type txnState struct {
	// block is set inside BEGIN ... COMMIT; failed after an error there.
	block, failed bool
	// readOnly and isolation are the block's modes; defaultReadOnly is
	// SET SESSION CHARACTERISTICS's.
	readOnly, defaultReadOnly bool
	// writes are the records written and not yet committed, in order;
	// bytes is their size as MaxTransactionBytes counts it.
	writes []log.ProduceRecord
	bytes  int64
	// savepoints are the block's savepoints, oldest first.
	savepoints []savepoint
}

// savepoint is where ROLLBACK TO goes back to.
type savepoint struct {
	name   string
	writes int
	bytes  int64
	// cursorSeq is the cursor sequence number at the savepoint: cursors
	// declared after it are closed by ROLLBACK TO.
	cursorSeq uint64
}

// savepointSize is what a savepoint counts against MaxTransactionBytes.
const savepointSize = 64

// Transaction errors, PostgreSQL's codes and words.
var (
	errInFailedTxn = sqlstate.New(sqlstate.InFailedSQLTransaction,
		"current transaction is aborted, commands ignored until end of transaction block")
	errNoTxn       = sqlstate.New(sqlstate.NoActiveSQLTransaction, "engine: no transaction block")
	errReadOnlyTxn = sqlstate.New(sqlstate.ReadOnlySQLTransaction, "engine: read-only transaction")
	errTxnTooLarge = sqlstate.New(sqlstate.ProgramLimitExceeded, "engine: transaction too large")
	errSavepoint   = sqlstate.New(sqlstate.InvalidSavepoint, "engine: no such savepoint")
	errIsolation   = sqlstate.New(sqlstate.FeatureNotSupported, "engine: isolation level not supported")
)

// TxStatus implements server.Session.
func (s *session) TxStatus() server.TxStatus {
	switch {
	case s.tx.block && s.tx.failed:
		return server.TxFailed
	case s.tx.block:
		return server.TxInBlock
	}
	return server.TxIdle
}

// Fail implements server.Session: a block fails (its writes stay until
// ROLLBACK, which a ROLLBACK TO a savepoint may yet keep); an implicit
// transaction's writes are dropped.
func (s *session) Fail() {
	if s.tx.block {
		s.tx.failed = true
		return
	}
	s.dropWrites(0, 0)
}

// Sync implements server.Session: outside a block it commits the
// implicit transaction's writes.
func (s *session) Sync(ctx context.Context) error {
	if s.tx.block {
		return nil
	}
	return s.commitWrites(ctx)
}

// addWrites adds records to the transaction, or fails when it is read
// only or would grow past MaxTransactionBytes.
func (s *session) addWrites(recs []log.ProduceRecord, size int64) error {
	if s.tx.block && s.tx.readOnly {
		return errReadOnlyTxn.Errorf("cannot execute INSERT in a read-only transaction")
	}
	if err := s.checkTxnSize(size); err != nil {
		return err
	}
	s.tx.writes = append(s.tx.writes, recs...)
	s.tx.bytes += size
	return nil
}

// checkTxnSize fails when more bytes would take the transaction past its
// limit.
func (s *session) checkTxnSize(more int64) error {
	if limit := s.e.opts.MaxTransactionBytes; s.tx.bytes+more > limit {
		return errTxnTooLarge.Errorf("the transaction would hold %d bytes of writes, over the limit of %d bytes (--max-transaction-bytes): "+
			"commit in smaller transactions, or COPY in smaller pieces", s.tx.bytes+more, limit)
	}
	return nil
}

// commitWrites writes the transaction's records to the log atomically
// and empties the buffer, whether the commit succeeds or not.
func (s *session) commitWrites(ctx context.Context) error {
	recs := s.tx.writes
	s.dropWrites(0, 0)
	if len(recs) == 0 {
		return nil
	}
	return s.e.commitRecords(ctx, recs)
}

// dropWrites truncates the buffer to n records of size bytes, releasing
// the memory of a buffer emptied.
func (s *session) dropWrites(n int, size int64) {
	if n == 0 {
		s.tx.writes = nil
	} else {
		clear(s.tx.writes[n:])
		s.tx.writes = s.tx.writes[:n]
	}
	s.tx.bytes = size
}

// commitRecords writes records, possibly for several topics, so that
// either all of them are visible or none is, even across a crash.
func (e *Engine) commitRecords(ctx context.Context, recs []log.ProduceRecord) error {
	if len(recs) == 1 {
		// One record is atomic however it is appended, and an append
		// is cheaper than a Kafka transaction.
		if _, err := e.log.Append(ctx, recs[0].Topic, []log.Record{recs[0].Record}); err != nil {
			return fmt.Errorf("commit: write to %s: %w", recs[0].Topic, err)
		}
		return nil
	}
	if err := e.log.Commit(ctx, log.Txn{Group: clientTxnGroup, Records: recs}); err != nil {
		return fmt.Errorf("commit of %d records: %w", len(recs), err)
	}
	return nil
}

// endBlock ends the transaction block: the savepoints go, and so do the
// cursors that do not outlive it (on commit, all but WITH HOLD ones; on
// rollback, every cursor declared in it).
func (s *session) endBlock(commit bool) {
	s.tx.block, s.tx.failed, s.tx.readOnly = false, false, false
	s.tx.savepoints = nil
	s.closeCursorsAtTxnEnd(commit)
}

// isTxnExit reports whether st may run in a failed block: ROLLBACK,
// ROLLBACK TO and COMMIT (which rolls back).
func isTxnExit(st sql.Statement) bool {
	t, ok := st.(*sql.Transaction)
	return ok && (t.Kind == sql.TxnCommit || t.Kind == sql.TxnRollback || t.Kind == sql.TxnRollbackTo)
}

// checkModes refuses isolation levels stronger than READ COMMITTED.
func checkModes(m sql.TxnModes) error {
	switch m.Isolation {
	case "", "read committed", "read uncommitted":
		return nil
	}
	return errIsolation.Errorf("isolation level %s is not supported: Runnel's transactions are READ COMMITTED "+
		"(writes commit atomically; each statement reads the latest committed data)", strings.ToUpper(m.Isolation))
}

// prepareTransaction describes a transaction statement.
func (s *session) prepareTransaction(st *sql.Transaction) (*statement, error) {
	if err := checkModes(st.Modes); err != nil {
		return nil, err
	}
	run := func(ctx context.Context) (server.Result, error) {
		res := server.Result{Tag: st.Verb}
		notice := func(msg string) { res.Notices = append(res.Notices, msg) }
		switch st.Kind {
		case sql.TxnBegin:
			if s.tx.block {
				notice("there is already a transaction in progress")
				break
			}
			s.beginBlock(st.Modes)
		case sql.TxnCommit, sql.TxnRollback:
			if !s.tx.block {
				if st.Chain {
					return res, errNoTxn.Errorf("%s AND CHAIN can only be used in transaction blocks", st.Verb)
				}
				notice("there is no transaction in progress")
				// What the implicit transaction wrote commits (or not)
				// now, as PostgreSQL ends it here.
				if st.Kind == sql.TxnCommit {
					return res, s.commitWrites(ctx)
				}
				s.dropWrites(0, 0)
				break
			}
			modes := sql.TxnModes{ReadOnly: s.tx.readOnly, ReadOnlySet: true}
			var err error
			if st.Kind == sql.TxnCommit && !s.tx.failed {
				err = s.commitWrites(ctx)
			} else {
				res.Tag = "ROLLBACK"
				s.dropWrites(0, 0)
			}
			s.endBlock(err == nil && res.Tag == "COMMIT")
			if err != nil {
				return res, err
			}
			if st.Chain {
				s.beginBlock(modes)
			}
		case sql.TxnSavepoint:
			if !s.tx.block {
				return res, errNoTxn.Errorf("SAVEPOINT can only be used in transaction blocks")
			}
			if err := s.checkTxnSize(savepointSize); err != nil {
				return res, err
			}
			s.tx.bytes += savepointSize
			s.tx.savepoints = append(s.tx.savepoints, savepoint{name: st.Savepoint, writes: len(s.tx.writes), bytes: s.tx.bytes, cursorSeq: s.cursorSeq})
		case sql.TxnRelease, sql.TxnRollbackTo:
			if !s.tx.block {
				return res, errNoTxn.Errorf("%s can only be used in transaction blocks", map[sql.TxnKind]string{sql.TxnRelease: "RELEASE SAVEPOINT", sql.TxnRollbackTo: "ROLLBACK TO SAVEPOINT"}[st.Kind])
			}
			i := len(s.tx.savepoints) - 1
			for i >= 0 && s.tx.savepoints[i].name != st.Savepoint {
				i--
			}
			if i < 0 {
				return res, errSavepoint.Errorf("savepoint %q does not exist", st.Savepoint)
			}
			sp := s.tx.savepoints[i]
			if st.Kind == sql.TxnRelease {
				s.tx.savepoints = s.tx.savepoints[:i]
				break
			}
			s.tx.savepoints = s.tx.savepoints[:i+1]
			s.dropWrites(sp.writes, sp.bytes)
			s.closeCursorsAfter(sp.cursorSeq)
			s.tx.failed = false
		case sql.TxnSetModes:
			if st.Session {
				if st.Modes.ReadOnlySet {
					s.tx.defaultReadOnly = st.Modes.ReadOnly
				}
				break
			}
			if !s.tx.block {
				notice("SET TRANSACTION can only be used in transaction blocks")
				break
			}
			if st.Modes.ReadOnlySet {
				s.tx.readOnly = st.Modes.ReadOnly
			}
		}
		return res, nil
	}
	return &statement{exec: func(ctx context.Context, _ []types.Value) (server.Result, error) { return run(ctx) }}, nil
}

// beginBlock opens a transaction block with the given modes.
func (s *session) beginBlock(m sql.TxnModes) {
	s.tx.block, s.tx.failed = true, false
	s.tx.readOnly = s.tx.defaultReadOnly
	if m.ReadOnlySet {
		s.tx.readOnly = m.ReadOnly
	}
}
