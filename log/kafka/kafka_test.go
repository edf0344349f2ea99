package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel/runnel/log"
)

func TestOptionsDefaults(t *testing.T) {
	o := (&Options{Brokers: []string{"b:9092"}}).EnsureDefaults()
	if o.ClientID != "runnel" || o.TransactionalIDPrefix != "runnel-" || o.TransactionTimeout != 30*time.Second || o.Logger == nil {
		t.Fatalf("defaults = %+v", o)
	}
	o = (&Options{Brokers: []string{"b:9092"}, ClientID: "node7"}).EnsureDefaults()
	if o.TransactionalIDPrefix != "node7-" {
		t.Fatalf("prefix from client id = %q, want node7-", o.TransactionalIDPrefix)
	}
	for _, bad := range []Options{{}, {Brokers: []string{""}}} {
		if _, err := Open(context.Background(), bad); err == nil {
			t.Fatalf("Open(%+v) succeeded", bad)
		}
	}
}

func TestTopicConfigRoundTrip(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "compacted", log.TopicConfig{Partitions: 4, Compacted: true})
	mustCreate(t, l, "plain", log.TopicConfig{Partitions: 2, Replicas: 1})
	// A topic named like Kafka's internal ones, created behind our back.
	if _, err := l.adm.CreateTopic(ctx, 1, -1, nil, "__hidden"); err != nil {
		t.Fatalf("create __hidden: %v", err)
	}
	// The consumer offsets topic exists once a group has committed.
	if err := l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{{Topic: "plain", Partition: 0}: 1}); err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}

	infos, err := l.Topics(ctx)
	if err != nil {
		t.Fatalf("Topics: %v", err)
	}
	want := []log.TopicInfo{
		{Name: "compacted", Partitions: 4, Replicas: 1, Compacted: true},
		{Name: "plain", Partitions: 2, Replicas: 1},
	}
	if fmt.Sprint(infos) != fmt.Sprint(want) {
		t.Fatalf("Topics = %+v, want %+v", infos, want)
	}
	for _, w := range want {
		got, err := l.Topic(ctx, w.Name)
		if err != nil || got != w {
			t.Fatalf("Topic(%q) = %+v, %v; want %+v", w.Name, got, err, w)
		}
	}
	if err := l.CreateTopic(ctx, "plain", log.TopicConfig{Partitions: 1}); !errors.Is(err, log.ErrTopicExists) || !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("duplicate CreateTopic = %v, want ErrTopicExists wrapping Kafka's error", err)
	}
}

func TestAppendPlacesLikeKafka(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	const n = 6
	mustCreate(t, l, "t", log.TopicConfig{Partitions: n})
	var in []log.Record
	for i := 0; i < 30; i++ {
		in = append(in, log.Record{Key: fmt.Appendf(nil, "user-%d", i), Value: []byte("v"), Partition: -1})
	}
	for i := 0; i < n; i++ {
		in = append(in, log.Record{Value: []byte("nokey"), Partition: -1})
	}
	out, err := l.Append(testCtx(t), "t", in)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	nilKey := make(map[int32]bool)
	for i, r := range out {
		if in[i].Key == nil {
			nilKey[r.Partition] = true
			continue
		}
		if want := log.PartitionFor(in[i].Key, n); r.Partition != want {
			t.Fatalf("key %q in partition %d, want %d", in[i].Key, r.Partition, want)
		}
	}
	// n nil-key records in a row go round the n partitions once.
	if len(nilKey) != n {
		t.Fatalf("%d nil-key records used partitions %v, want all %d", n, nilKey, n)
	}
}

// TestPlainKafkaProducer reads a topic written by an ordinary franz-go
// producer with its default (Kafka-compatible) partitioner: the records,
// tombstones and headers read back, and every key is in the partition that
// log.PartitionFor names.
func TestPlainKafkaProducer(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	const n = 3
	mustCreate(t, l, "ext", log.TopicConfig{Partitions: n})

	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("ext"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var krs []*kgo.Record
	for i := 0; i < 20; i++ {
		kr := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i),
			Timestamp: time.UnixMilli(1_700_000_000_000 + int64(i)),
			Headers:   []kgo.RecordHeader{{Key: "h", Value: []byte{byte(i)}}}}
		if i%5 == 4 {
			kr.Value = nil
		}
		krs = append(krs, kr)
	}
	if err := pr.ProduceSync(testCtx(t), krs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	ends, err := l.EndOffsets(testCtx(t), "ext")
	if err != nil {
		t.Fatalf("EndOffsets: %v", err)
	}
	seen := 0
	for p := int32(0); p < n; p++ {
		if ends[p] == 0 {
			continue
		}
		for _, r := range readAll(t, l, log.TopicPartition{Topic: "ext", Partition: p}, 0, int(ends[p])) {
			seen++
			if want := log.PartitionFor(r.Key, n); want != p {
				t.Fatalf("key %q read from partition %d, PartitionFor says %d", r.Key, p, want)
			}
			var i int
			fmt.Sscanf(string(r.Key), "k%d", &i)
			if r.Timestamp != 1_700_000_000_000+int64(i) || len(r.Headers) != 1 || r.Headers[0].Value[0] != byte(i) {
				t.Fatalf("record %q: ts %d headers %v", r.Key, r.Timestamp, r.Headers)
			}
			if tomb := i%5 == 4; tomb != (r.Value == nil) || (!tomb && string(r.Value) != fmt.Sprintf("v%d", i)) {
				t.Fatalf("record %q has value %q (nil=%v)", r.Key, r.Value, r.Value == nil)
			}
		}
	}
	if seen != len(krs) {
		t.Fatalf("read %d records, produced %d", seen, len(krs))
	}
}

// TestCommitRecordsAndOffsets commits records with offsets, offsets alone
// and records alone, in an order that would trip a producer epoch that
// drifted from the broker's.
func TestCommitRecordsAndOffsets(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "in", log.TopicConfig{Partitions: 2})
	mustCreate(t, l, "out", log.TopicConfig{Partitions: 1})
	in0, in1 := log.TopicPartition{Topic: "in", Partition: 0}, log.TopicPartition{Topic: "in", Partition: 1}
	rec := func(v string) log.ProduceRecord {
		return log.ProduceRecord{Topic: "out", Record: log.Record{Key: []byte("k"), Value: []byte(v), Partition: 0}}
	}
	steps := []struct {
		txn  log.Txn
		want map[int32]int64
	}{
		{log.Txn{Group: "g", Records: []log.ProduceRecord{rec("a"), rec("b")}, Offsets: map[log.TopicPartition]int64{in0: 3}}, map[int32]int64{0: 3}},
		{log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{in1: 4}}, map[int32]int64{0: 3, 1: 4}},
		{log.Txn{Group: "g", Records: []log.ProduceRecord{rec("c")}}, map[int32]int64{0: 3, 1: 4}},
		{log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{in0: 5, in1: 6}}, map[int32]int64{0: 5, 1: 6}},
		{log.Txn{Group: "g", Records: []log.ProduceRecord{rec("d")}, Offsets: map[log.TopicPartition]int64{in0: 7}}, map[int32]int64{0: 7, 1: 6}},
	}
	for i, s := range steps {
		if err := l.Commit(ctx, s.txn); err != nil {
			t.Fatalf("step %d: Commit: %v", i, err)
		}
		got, err := l.CommittedOffsets(ctx, "g", "in")
		if err != nil || !maps.Equal(got, s.want) {
			t.Fatalf("step %d: CommittedOffsets = %v, %v; want %v", i, got, err, s.want)
		}
	}
	got := readAll(t, l, log.TopicPartition{Topic: "out", Partition: 0}, 0, 4)
	var vals string
	for _, r := range got {
		vals += string(r.Value)
	}
	if vals != "abcd" {
		t.Fatalf("out holds %q, want abcd", vals)
	}
}

// TestCommitAbortsOnFailure makes the broker refuse the offsets of a
// transaction after its records were produced: the records must never be
// visible, the offsets must not move, and the next Commit must work.
func TestCommitAbortsOnFailure(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "in", log.TopicConfig{Partitions: 1})
	mustCreate(t, l, "out", log.TopicConfig{Partitions: 1})
	tp := log.TopicPartition{Topic: "in", Partition: 0}
	if err := l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{tp: 1}); err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}
	c.ControlKey(int16(kmsg.TxnOffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.TxnOffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.GroupAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true // handled once, then the control is dropped
	})
	err := l.Commit(ctx, log.Txn{
		Group:   "g",
		Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte("aborted"), Partition: 0}}},
		Offsets: map[log.TopicPartition]int64{tp: 50},
	})
	if !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Fatalf("Commit with refused offsets = %v, want GroupAuthorizationFailed", err)
	}
	if got, err := l.CommittedOffsets(ctx, "g", "in"); err != nil || !maps.Equal(got, map[int32]int64{0: 1}) {
		t.Fatalf("CommittedOffsets after abort = %v, %v; want map[0:1]", got, err)
	}
	if err := l.Commit(ctx, log.Txn{
		Group:   "g",
		Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte("committed"), Partition: 0}}},
		Offsets: map[log.TopicPartition]int64{tp: 2},
	}); err != nil {
		t.Fatalf("Commit after an abort: %v", err)
	}
	got := readAll(t, l, log.TopicPartition{Topic: "out", Partition: 0}, 0, 1)
	if len(got) != 1 || string(got[0].Value) != "committed" {
		t.Fatalf("read %v, want only the committed record", got)
	}
	if offs, err := l.CommittedOffsets(ctx, "g", "in"); err != nil || !maps.Equal(offs, map[int32]int64{0: 2}) {
		t.Fatalf("CommittedOffsets = %v, %v; want map[0:2]", offs, err)
	}
}

// TestAbortedTransactionInvisible writes an aborted transaction with a
// plain transactional franz-go producer: Readers are read_committed and
// never see it, only the control record's gap in offsets.
func TestAbortedTransactionInvisible(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("other"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if err := pr.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := pr.ProduceSync(ctx, &kgo.Record{Value: []byte("aborted")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := pr.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	out, err := l.Append(ctx, "t", []log.Record{{Value: []byte("visible"), Partition: 0}})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if out[0].Offset != 2 { // the aborted record and its abort marker come first
		t.Fatalf("Append got offset %d, want 2", out[0].Offset)
	}
	got := readAll(t, l, log.TopicPartition{Topic: "t", Partition: 0}, 0, 1)
	if len(got) != 1 || string(got[0].Value) != "visible" || got[0].Offset != 2 {
		t.Fatalf("read %+v, want only the visible record at offset 2", got)
	}
}

func TestReaderWakesAndSeesDeletion(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	r, err := l.NewReader(testCtx(t), log.TopicPartition{Topic: "t", Partition: 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type result struct {
		recs []log.Record
		err  error
	}
	next := func() chan result {
		ch := make(chan result, 1)
		go func() {
			recs, err := r.Next(testCtx(t))
			ch <- result{recs, err}
		}()
		return ch
	}
	ch := next()
	time.Sleep(20 * time.Millisecond) // let Next block
	if _, err := l.Append(testCtx(t), "t", []log.Record{{Value: []byte("wake"), Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	if res := <-ch; res.err != nil || len(res.recs) != 1 || string(res.recs[0].Value) != "wake" {
		t.Fatalf("Next = %v, %v; want the appended record", res.recs, res.err)
	}

	ch = next()
	time.Sleep(20 * time.Millisecond)
	if err := l.DeleteTopic(testCtx(t), "t"); err != nil {
		t.Fatal(err)
	}
	if res := <-ch; !errors.Is(res.err, log.ErrUnknownTopic) {
		t.Fatalf("Next on a deleted topic = %v, %v; want ErrUnknownTopic", res.recs, res.err)
	}
}

// TestFencing runs two logs with the same transactional id prefix, as a
// zombie and its replacement would: once the replacement commits for the
// group, the zombie's commits fail, and read_committed readers see the
// zombie's first commit and the replacement's, never the refused one.
//
// kfake (at the version go.mod pins; franz-go v1.22.3 changes nothing)
// sometimes answers a classic EndTxn of a producer whose epoch another
// client bumped with success, yet writes no commit marker: in a test of
// kgo and kfake alone, two clients of one transactional id each
// committing one record at the request versions classicTxnVersions
// allows, the second record stayed invisible to read_committed readers
// in 1-2% of runs on a loaded machine (the partition held z1, its marker,
// f1, and nothing more). Most traces showed the EndTxn sent and
// answered; one showed kgo itself skip it after a successful produce
// ("no records were produced during the commit"), so the client may
// share the fault. Here it strikes either commit: 5 of 400 runs
// read only z1 or only f1 within 5 s on a loaded machine. A second
// commit of the replacement is no cure: its own marker goes missing as
// often. So a run in which read_committed readers never get both records
// is run again on a new cluster, at most three times (400 of 400 passed);
// a zombie that commits, wrong records, or any other error fails at once.
func TestFencing(t *testing.T) {
	for attempt := 1; ; attempt++ {
		got, err := fencingRun(t)
		if err == nil {
			if len(got) != 2 || got[0] != "z1" || got[1] != "f1" {
				t.Fatalf("out = %q, want z1, f1", got)
			}
			return
		}
		if attempt == 3 {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		t.Logf("attempt %d: %v (kfake's lost commit marker); again on a new cluster", attempt, err)
	}
}

// fencingRun is one run of TestFencing on a new cluster. It fails the
// test if the zombie commits after the replacement did; it returns an
// error only if read_committed readers never got both records.
func fencingRun(t *testing.T) ([]string, error) {
	t.Helper()
	c := newCluster(t)
	zombie := openLog(t, c, Options{ClientID: "node"})
	mustCreate(t, zombie, "out", log.TopicConfig{Partitions: 1})
	txn := func(v string) log.Txn {
		return log.Txn{Group: "q", Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte(v), Partition: 0}}}}
	}
	if err := zombie.Commit(testCtx(t), txn("z1")); err != nil {
		t.Fatalf("zombie's first Commit: %v", err)
	}
	fresh := openLog(t, c, Options{ClientID: "node"})
	if err := fresh.Commit(testCtx(t), txn("f1")); err != nil {
		t.Fatalf("replacement's Commit: %v", err)
	}
	if err := zombie.Commit(testCtx(t), txn("z2")); err == nil {
		t.Fatal("zombie committed after being fenced")
	}
	ctx := testCtx(t)
	r, err := fresh.NewReader(ctx, log.TopicPartition{Topic: "out", Partition: 0}, 0)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var got []string
	for len(got) < 2 {
		recs, err := r.Next(rctx)
		if err != nil {
			return got, fmt.Errorf("read %q of 2 records: %w", got, err)
		}
		for _, rec := range recs {
			got = append(got, string(rec.Value))
		}
	}
	return got, nil
}

func TestClosed(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	if err := l.Commit(testCtx(t), log.Txn{Group: "g", Records: []log.ProduceRecord{{Topic: "t", Record: log.Record{Partition: 0, Value: []byte("v")}}}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(testCtx(t), "t", []log.Record{{Partition: 0}}); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if err := l.Commit(testCtx(t), log.Txn{Group: "g", Records: []log.ProduceRecord{{Topic: "t"}}}); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("Commit after Close = %v, want ErrClosed", err)
	}
	if _, err := l.NewReader(testCtx(t), log.TopicPartition{Topic: "t"}, 0); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("NewReader after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
