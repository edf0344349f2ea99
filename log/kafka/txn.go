package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/runnel/runnel/log"
)

// Commit runs txn as one Kafka transaction on the transactional producer of
// txn.Group: BeginTransaction, produce the records, AddOffsetsToTxn and
// TxnOffsetCommit for the offsets, EndTxn(commit). Any error aborts it.
//
// Why one producer per group: a transactional id is what Kafka fences on.
// Giving each group (each persistent query) the id prefix+group means that
// a zombie instance of the same query, still running with the same id,
// is fenced the moment the new instance initializes its producer, and
// that an instance that crashed mid-transaction has its transaction
// aborted by its successor instead of holding back read_committed readers
// until the transaction timeout. A shared pool of ids would lose both.
// Commits for one group are serialized, since a producer runs one
// transaction at a time; commits for different groups run in parallel.
func (l *Log) Commit(ctx context.Context, txn log.Txn) error {
	_, err := l.CommitReporting(ctx, txn)
	return err
}

// CommitReporting is Commit that also reports, for each partition the
// transaction produced to, the offset just past its last record there: a
// reader that has applied every record of the partition up to this
// transaction's has read it to that offset. State stores keep it as their
// changelog checkpoint (operators/state), which only the producer's own
// acknowledgements can tell exactly: the end offset asked for afterwards
// may already include another writer's records.
func (l *Log) CommitReporting(ctx context.Context, txn log.Txn) (map[log.TopicPartition]int64, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	if len(txn.Records) == 0 && len(txn.Offsets) == 0 {
		return nil, nil
	}
	if txn.Group == "" && len(txn.Offsets) > 0 {
		return nil, errors.New("kafka: commit: offsets without a group")
	}
	krs, err := l.prepareTxn(ctx, txn.Records)
	if err != nil {
		return nil, fmt.Errorf("kafka: commit for group %q: %w", txn.Group, err)
	}
	p, err := l.txnProducer(txn.Group)
	if err != nil {
		return nil, err
	}
	if err := p.commit(ctx, l, krs, txn.Offsets); err != nil {
		return nil, fmt.Errorf("kafka: commit for group %q: %w", txn.Group, err)
	}
	// The transaction has committed: waiting for its records to become
	// readable only orders what callers learn, and must not turn the
	// commit into a failure.
	if err := l.awaitVisible(ctx, krs); err != nil {
		l.opts.Logger.Warn("kafka: committed records not yet readable", "group", txn.Group, "err", err)
	}
	l.purgeConsumed(ctx, txn.Offsets)
	var past map[log.TopicPartition]int64
	for _, kr := range krs {
		if past == nil {
			past = map[log.TopicPartition]int64{}
		}
		tp := log.TopicPartition{Topic: kr.Topic, Partition: kr.Partition}
		past[tp] = max(past[tp], kr.Offset+1)
	}
	return past, nil
}

// visiblePoll is the pause between checks that a commit's records are
// readable, and visibleWait bounds the wait: another producer's open
// transaction holds the last stable offset back until it ends, which may
// take up to the transaction timeout.
const (
	visiblePoll = 2 * time.Millisecond
	visibleWait = 5 * time.Second
)

// awaitVisible waits until read_committed readers can see the records of a
// committed transaction: EndTxn returns before the brokers write the
// commit markers, and until they do the last stable offset stays behind
// the records. Commit returns after this, so that whoever learns of the
// commit (a pull query waiting on a query's progress) also sees its output
// in EndOffsets.
func (l *Log) awaitVisible(ctx context.Context, krs []*kgo.Record) error {
	ctx, cancel := context.WithTimeout(ctx, visibleWait)
	defer cancel()
	need := map[string]map[int32]int64{}
	for _, kr := range krs {
		if need[kr.Topic] == nil {
			need[kr.Topic] = map[int32]int64{}
		}
		if kr.Offset+1 > need[kr.Topic][kr.Partition] {
			need[kr.Topic][kr.Partition] = kr.Offset + 1
		}
	}
	for topic, parts := range need {
		for {
			ends, err := l.EndOffsets(ctx, topic)
			if err != nil {
				return fmt.Errorf("await visibility of %s: %w", topic, err)
			}
			done := true
			for p, want := range parts {
				if int(p) >= len(ends) || ends[p] < want {
					done = false
				}
			}
			if done {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(visiblePoll):
			}
		}
	}
	return nil
}

// prepareTxn places and converts a transaction's records, which may span
// topics. Every placement error surfaces before the transaction begins.
func (l *Log) prepareTxn(ctx context.Context, recs []log.ProduceRecord) ([]*kgo.Record, error) {
	krs := make([]*kgo.Record, 0, len(recs))
	for i := range recs {
		ks, _, err := l.prepare(ctx, recs[i].Topic, []log.Record{recs[i].Record})
		if err != nil {
			return nil, fmt.Errorf("record %d for %q: %w", i, recs[i].Topic, err)
		}
		krs = append(krs, ks[0])
	}
	return krs, nil
}

// txnProducer returns the group's producer, creating the entry on first use.
func (l *Log) txnProducer(group string) (*txnProducer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return nil, log.ErrClosed
	}
	p := l.mu.txns[group]
	if p == nil {
		p = &txnProducer{id: l.opts.TransactionalIDPrefix + group, group: group}
		l.mu.txns[group] = p
	}
	return p, nil
}

// txnProducer is the transactional producer of one consumer group.
type txnProducer struct {
	id    string // the transactional id
	group string

	// mu serializes the group's transactions and guards cl.
	mu sync.Mutex
	// cl is created by the first commit and dropped after a transaction
	// that could not be ended cleanly; the next commit's new client then
	// initializes the same transactional id, which makes the broker abort
	// whatever the old one left open.
	cl *kgo.Client
	// closed is set by close; commits after it fail.
	closed bool
}

// abortTimeout bounds the abort that follows a failed transaction. The
// abort runs even when the caller's context is done: an open transaction
// would hold back every read_committed reader of its partitions.
const abortTimeout = 10 * time.Second

// commit runs one transaction.
func (p *txnProducer) commit(ctx context.Context, l *Log, krs []*kgo.Record, offsets map[log.TopicPartition]int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return log.ErrClosed
	}
	if err := p.clientLocked(l); err != nil {
		return err
	}
	cl := p.cl
	if err := cl.BeginTransaction(); err != nil {
		p.resetLocked()
		return fmt.Errorf("begin: %w", err)
	}
	offsetsAdded, err := p.runLocked(ctx, l, krs, offsets)
	if err == nil {
		if err = p.endLocked(ctx, len(krs) > 0, offsetsAdded, kgo.TryCommit); err == nil {
			return nil
		}
		err = fmt.Errorf("end: %w", err)
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	var aerr error
	if len(krs) > 0 {
		// A produce cut short by ctx may leave records buffered; kgo
		// must drop them before it can end the transaction.
		aerr = p.cl.AbortBufferedRecords(actx)
	}
	if aerr == nil {
		aerr = p.endLocked(actx, len(krs) > 0, offsetsAdded, kgo.TryAbort)
	}
	if aerr != nil || errors.Is(mapErr(err), log.ErrUnknownTopic) {
		// A client that saw a topic vanish may keep its old id; start over.
		p.resetLocked()
	}
	if aerr != nil {
		err = errors.Join(err, fmt.Errorf("abort: %w", aerr))
	}
	return mapErr(err)
}

// runLocked produces the records and adds the offsets to the open
// transaction. It reports whether the group's offsets were added, which
// decides how the transaction must be ended.
func (p *txnProducer) runLocked(ctx context.Context, l *Log, krs []*kgo.Record, offsets map[log.TopicPartition]int64) (offsetsAdded bool, err error) {
	if len(krs) > 0 {
		if err := p.cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
			return false, fmt.Errorf("produce %d records: %w", len(krs), err)
		}
	}
	if len(offsets) == 0 {
		return false, nil
	}
	id, epoch, err := p.cl.ProducerID(ctx)
	if err != nil {
		return false, fmt.Errorf("producer id: %w", err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = p.id, id, epoch, p.group
	err = retryConcurrent(ctx, func() error {
		resp, err := add.RequestWith(ctx, p.cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	if err != nil {
		return false, fmt.Errorf("add offsets to transaction: %w", err)
	}
	// From here on, the group's offsets partition is in the transaction:
	// it must be ended even if nothing else was.
	if err := p.commitOffsetsLocked(ctx, l, id, epoch, offsets); err != nil {
		return true, err
	}
	return true, nil
}

// commitOffsetsLocked sends TxnOffsetCommit. When this process is a member
// of the group (JoinGroup), the commit carries the member's id and
// generation, so the coordinator refuses it from a member the group has
// moved on from (a zombie that lost its partitions): the transaction then
// aborts, records and all. A rebalance under way is waited out with the
// member's next generation (see memberRetry). Without a member, Runnel
// assigned the partitions itself: the commit comes from no member
// (generation -1, empty member id), which the broker accepts without
// generation checks.
func (p *txnProducer) commitOffsetsLocked(ctx context.Context, l *Log, id int64, epoch int16, offsets map[log.TopicPartition]int64) error {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = p.id, p.group, id, epoch
	req.Generation, req.MemberID = -1, ""
	byTopic := make(map[string]int)
	for tp, off := range offsets {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[tp.Topic] = i
			t := kmsg.NewTxnOffsetCommitRequestTopic()
			t.Topic = tp.Topic
			req.Topics = append(req.Topics, t)
		}
		part := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		part.Partition, part.Offset, part.LeaderEpoch = tp.Partition, off, -1
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, part)
	}
	m := l.member(p.group)
	for {
		if m != nil {
			req.MemberID, req.Generation = m.generation()
		}
		err := p.sendTxnOffsetCommit(ctx, req)
		if err == nil || m == nil || !retryGeneration(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(memberRetry):
		}
	}
}

func (p *txnProducer) sendTxnOffsetCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) error {
	resp, err := req.RequestWith(ctx, p.cl)
	if err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	for _, t := range resp.Topics {
		for _, part := range t.Partitions {
			if err := kerr.ErrorForCode(part.ErrorCode); err != nil {
				return fmt.Errorf("commit offset of %s/%d: %w", t.Topic, part.Partition, err)
			}
		}
	}
	return nil
}

// endLocked ends the open transaction. kgo ends a transaction only if it
// produced to it; a transaction of offsets alone, which kgo does not know
// about, is ended here with EndTxn. That is safe because the client is held
// to the classic protocol (classicTxnVersions), under which EndTxn does not
// bump the producer epoch behind kgo's back.
func (p *txnProducer) endLocked(ctx context.Context, produced, offsetsAdded bool, how kgo.TransactionEndTry) error {
	if !produced && offsetsAdded {
		id, epoch, err := p.cl.ProducerID(ctx)
		if err != nil {
			return fmt.Errorf("producer id: %w", err)
		}
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = p.id, id, epoch, bool(how)
		err = retryConcurrent(ctx, func() error {
			resp, err := req.RequestWith(ctx, p.cl)
			if err != nil {
				return err
			}
			return kerr.ErrorForCode(resp.ErrorCode)
		})
		if err != nil {
			return err
		}
	}
	// With records, this sends EndTxn; without, it only leaves kgo's
	// transactional state.
	return p.cl.EndTransaction(ctx, how)
}

// clientLocked creates the producer's client if it has none.
func (p *txnProducer) clientLocked(l *Log) error {
	if p.cl != nil {
		return nil
	}
	cl, err := kgo.NewClient(l.clientOpts(
		kgo.TransactionalID(p.id),
		kgo.TransactionTimeout(l.opts.TransactionTimeout),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.MaxVersions(classicTxnVersions()),
	)...)
	if err != nil {
		return fmt.Errorf("new transactional client %q: %w", p.id, err)
	}
	p.cl = cl
	return nil
}

// FenceTransactions initializes the transactional producer of each group
// now rather than at its first commit. Initializing a transactional id
// fences the previous producer of that id, this node's before a crash,
// and makes the broker abort the transaction it left open; until then
// that transaction holds back every read_committed reader of the
// partitions it wrote (queries, pull queries' waits, other nodes' tasks),
// for up to TransactionTimeout. JoinGroup does it for the group it joins;
// the engine does it at start for the groups it commits for outside any
// membership (its clients' INSERTs).
func (l *Log) FenceTransactions(ctx context.Context, groups ...string) error {
	for _, g := range groups {
		p, err := l.txnProducer(g)
		if err != nil {
			return err
		}
		if err := p.fence(ctx, l); err != nil {
			return fmt.Errorf("kafka: fence transactions of group %q: %w", g, err)
		}
	}
	return nil
}

// fence initializes the producer's id, unless a commit already has.
func (p *txnProducer) fence(ctx context.Context, l *Log) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return log.ErrClosed
	}
	if err := p.clientLocked(l); err != nil {
		return err
	}
	if _, _, err := p.cl.ProducerID(ctx); err != nil {
		// The client may hold a half-initialized id: start over.
		p.resetLocked()
		return err
	}
	return nil
}

// resetLocked drops a client whose transactional state is unknown.
func (p *txnProducer) resetLocked() {
	if p.cl != nil {
		p.cl.Close()
		p.cl = nil
	}
}

// purge makes the producer forget a topic; it waits for a running commit,
// as a client must not forget a topic in the middle of a transaction.
func (p *txnProducer) purge(topic string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cl != nil {
		p.cl.PurgeTopicsFromClient(topic)
	}
}

// close closes the producer; it waits for a running commit.
func (p *txnProducer) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.resetLocked()
}

// classicTxnVersions caps the transactional client below KIP-890 part 2
// (Produce v12, TxnOffsetCommit v5, EndTxn v5). Under part 2 every EndTxn
// bumps the producer epoch and the partitions and groups join the
// transaction implicitly; the offsets-only transactions that endLocked
// ends itself would then leave kgo with a stale epoch. The classic protocol
// is supported by every broker from 0.11 to 4.x.
func classicTxnVersions() *kversion.Versions {
	v := kversion.Stable()
	v.SetMaxKeyVersion(int16(kmsg.Produce), 11)
	v.SetMaxKeyVersion(int16(kmsg.TxnOffsetCommit), 4)
	v.SetMaxKeyVersion(int16(kmsg.EndTxn), 4)
	return v
}

// retryConcurrent retries fn while the coordinator answers
// CONCURRENT_TRANSACTIONS (the previous transaction's markers are still
// being written), as kgo does for its own transactional requests.
func retryConcurrent(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, kerr.ConcurrentTransactions) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
