package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// MemberOptions configure this process's membership of one consumer group
// (see JoinGroup).
type MemberOptions struct {
	// Group is the consumer group: a persistent query's id, the group its
	// tasks commit their offsets to. Required.
	Group string
	// Topics are the topics whose partitions the group shares out: one
	// per stage of the query, the stage's first input. Required.
	Topics []string
	// ClientID is announced to the brokers as this member's client id; it
	// is how other nodes learn who owns what (DescribeGroups shows it).
	// Default: Options.ClientID.
	ClientID string
	// InstanceID, when set, makes the member static (Kafka's KIP-345):
	// the group knows it by this id across restarts. A member that comes
	// back with the same InstanceID after a crash takes over its old self
	// at once, with the old assignment and no rebalance, instead of
	// waiting a whole SessionTimeout for the dead one to be thrown out. A
	// static member does not leave the group when its client closes, so
	// Leave removes it explicitly (LeaveGroup by instance id); only a
	// member that dies (or one of an abandoned Log) stays behind. It must
	// be unique in the group: one per process. Default: "" (dynamic).
	InstanceID string
	// SessionTimeout is how long the group waits for a member that stopped
	// heartbeating (a dead node) before it moves its partitions. Default:
	// kgo's, 45s.
	SessionTimeout time.Duration
	// OnAssigned is called with partitions newly given to this member. It
	// runs on the group's management goroutine, never concurrently with
	// OnRevoked.
	OnAssigned func(ctx context.Context, parts map[string][]int32)
	// OnRevoked is called with partitions taken from this member (handed
	// to another, or lost when the member was thrown out of the group). It
	// must return only once nothing of this process works on them any
	// more: the group hands them over when it returns.
	OnRevoked func(ctx context.Context, parts map[string][]int32)
}

// Member is this process's membership of a consumer group, made by
// JoinGroup. It consumes nothing itself (its topics stay paused): it only
// holds partitions, and the tasks that own them read with their own
// readers. While it exists, Commit and CommitOffsets for its group carry
// its member id and generation, so that a member the group has moved on
// from (a zombie) cannot commit: the broker refuses its offsets, and the
// transaction they are in is aborted with its records.
type Member struct {
	l          *Log
	group      string
	instanceID string
	cl         *kgo.Client
}

// JoinGroup joins opts.Group with franz-go's cooperative-sticky balancer:
// a rebalance moves only the partitions that must move, and a member keeps
// the others (and keeps working on them) throughout.
//
// Only one Member per group may exist in a Log at a time.
func (l *Log) JoinGroup(ctx context.Context, opts MemberOptions) (*Member, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	if opts.Group == "" || len(opts.Topics) == 0 || opts.OnAssigned == nil || opts.OnRevoked == nil {
		return nil, errors.New("kafka: join group: Group, Topics, OnAssigned and OnRevoked are required")
	}
	clientID := opts.ClientID
	if clientID == "" {
		clientID = l.opts.ClientID
	}
	// A crash of this node may have left the group's transaction open:
	// it is aborted before the member gets partitions whose tasks would
	// otherwise wait on it. A failure here only delays that to the
	// group's first commit.
	if err := l.FenceTransactions(ctx, opts.Group); err != nil {
		l.opts.Logger.Warn("kafka: fence a group's previous transactions", "group", opts.Group, "err", err)
	}
	m := &Member{l: l, group: opts.Group, instanceID: opts.InstanceID}
	kopts := []kgo.Opt{
		kgo.ConsumerGroup(opts.Group),
		kgo.ConsumeTopics(opts.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.OnPartitionsAssigned(func(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
			opts.OnAssigned(ctx, parts)
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
			if len(parts) > 0 {
				opts.OnRevoked(ctx, parts)
			}
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
			if len(parts) > 0 {
				opts.OnRevoked(ctx, parts)
			}
		}),
	}
	if opts.InstanceID != "" {
		kopts = append(kopts, kgo.InstanceID(opts.InstanceID))
	}
	if opts.SessionTimeout > 0 {
		kopts = append(kopts, kgo.SessionTimeout(opts.SessionTimeout),
			kgo.HeartbeatInterval(max(opts.SessionTimeout/10, 10*time.Millisecond)))
	}
	opts2 := l.clientOpts(kopts...)
	// The member's client id names the node; it goes after clientOpts'
	// own ClientID so that it wins.
	opts2 = append(opts2, kgo.ClientID(clientID))
	cl, err := kgo.NewClient(opts2...)
	if err != nil {
		return nil, fmt.Errorf("kafka: join group %q: %w", opts.Group, err)
	}
	// Tasks read with their own readers: the member must not fetch.
	cl.PauseFetchTopics(opts.Topics...)
	m.cl = cl
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		cl.Close()
		return nil, fmt.Errorf("kafka: join group %q: %w", opts.Group, mapErr(kgo.ErrClientClosed))
	}
	if l.mu.members == nil {
		l.mu.members = map[string]*Member{}
	}
	if l.mu.members[opts.Group] != nil {
		l.mu.Unlock()
		cl.Close()
		return nil, fmt.Errorf("kafka: join group %q: already a member", opts.Group)
	}
	l.mu.members[opts.Group] = m
	l.mu.Unlock()
	// PollFetches is what makes kgo join the group; with every topic
	// paused it returns no records. Its goroutine is owned by the member:
	// Leave closes the client, which ends the poll.
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			fs.EachError(func(t string, p int32, err error) {
				l.opts.Logger.Debug("kafka: group member poll", "group", opts.Group, "topic", t, "partition", p, "err", err)
			})
		}
	}()
	return m, nil
}

// generation returns the member id and generation to commit with, or
// ("", -1) when the member has not joined yet.
func (m *Member) generation() (string, int32) {
	id, gen := m.cl.GroupMetadata()
	if id == "" {
		return "", -1
	}
	return id, gen
}

// Leave leaves the group (revoking every partition through OnRevoked
// first) and stops the member. It must not be called from OnAssigned or
// OnRevoked.
func (m *Member) Leave() {
	m.l.mu.Lock()
	if m.l.mu.members[m.group] == m {
		delete(m.l.mu.members, m.group)
	}
	abandoned := m.l.mu.abandoned
	m.l.mu.Unlock()
	m.close(abandoned)
}

// leaveTimeout bounds the LeaveGroup a static member sends when it stops.
// If it fails, the group moves the member's partitions only once its
// session times out: slower, never wrong.
const leaveTimeout = 5 * time.Second

// close stops the member's client, which revokes its partitions (kgo
// calls OnRevoked before it returns). A dynamic member's client also
// leaves the group; a static one's does not, so close sends the
// LeaveGroup by instance id itself, after the revoke, unless abandoned.
func (m *Member) close(abandoned bool) {
	m.cl.Close()
	if m.instanceID == "" || abandoned {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = m.group
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.InstanceID = &m.instanceID
	lm.Reason = kmsg.StringPtr("runnel node stopping the query")
	req.Members = append(req.Members, lm)
	resp, err := req.RequestWith(ctx, m.l.cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
		for _, r := range resp.Members {
			if err == nil {
				err = kerr.ErrorForCode(r.ErrorCode)
			}
		}
	}
	// UnknownMemberID: the member was already gone (its session timed
	// out, or a rebalance dropped it): nothing left to leave.
	if err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		m.l.opts.Logger.Warn("kafka: leave group; its partitions move once the session times out",
			"group", m.group, "instance", m.instanceID, "err", err)
	}
}

// Abandon makes the log's group members stay in their groups when they
// stop: Leave and Close then send no LeaveGroup for a static member, as a
// process killed with kill -9 sends none. It is how tests stand in for a
// crash in-process; call it before stopping the engine.
func (l *Log) Abandon() {
	l.mu.Lock()
	l.mu.abandoned = true
	l.mu.Unlock()
}

// member returns the group's Member in this process, if any.
func (l *Log) member(group string) *Member {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.members[group]
}

// memberRetry is the pause before committing again after the coordinator
// answered that a rebalance is under way or that the generation moved on:
// the member's generation is fresh once its rejoin completes, which is
// also when a revoked partition's task has been stopped (OnRevoked blocks
// the rejoin), so a commit retried with it is still the owner's.
const memberRetry = 20 * time.Millisecond

// retryGeneration reports whether err is a group answer worth retrying
// with the member's next generation.
func retryGeneration(err error) bool {
	return errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.IllegalGeneration)
}

// commitOffsets commits offsets outside a transaction as the
// group's member, retrying while the group rebalances, until ctx ends.
func (m *Member) commitOffsets(ctx context.Context, req *kmsg.OffsetCommitRequest) error {
	for {
		req.MemberID, req.Generation = m.generation()
		resp, err := req.RequestWith(ctx, m.l.cl)
		if err == nil {
			err = firstOffsetCommitErr(resp)
		}
		if err == nil || !retryGeneration(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(memberRetry):
		}
	}
}

func firstOffsetCommitErr(resp *kmsg.OffsetCommitResponse) error {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("commit offset of %s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}
