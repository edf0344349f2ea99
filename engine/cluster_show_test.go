package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/peer"
	"github.com/runnel/runnel/sql/types"
)

// TestTaskRowOffsets: a row's offset, end offset and lag, each NULL when
// unknown; with no offset the lag is the whole partition, and a
// checkpoint past the end (a listing read before the end) is lag 0.
func TestTaskRowOffsets(t *testing.T) {
	for _, tc := range []struct {
		off            int64
		hasOff         bool
		end            int64
		hasEnd         bool
		wantOff, wantE string
		wantLag        string
	}{
		{3, true, 5, true, "3", "5", "2"},
		{0, false, 5, true, "NULL", "5", "5"},
		{7, true, 5, true, "7", "5", "0"},
		{3, true, 0, false, "3", "NULL", "NULL"},
		{0, false, 0, false, "NULL", "NULL", "NULL"},
	} {
		r := taskRow{offset: types.NullValue, end: types.NullValue, lag: types.NullValue}
		r.setOffsets(tc.off, tc.hasOff, tc.end, tc.hasEnd)
		show := func(v types.Value) string {
			if v.IsNull() {
				return "NULL"
			}
			return fmt.Sprint(v.Int())
		}
		if got := [3]string{show(r.offset), show(r.end), show(r.lag)}; got != [3]string{tc.wantOff, tc.wantE, tc.wantLag} {
			t.Errorf("setOffsets(%d, %t, %d, %t) = %v, want %s %s %s", tc.off, tc.hasOff, tc.end, tc.hasEnd, got, tc.wantOff, tc.wantE, tc.wantLag)
		}
	}
	if (taskRow{}).kind() != "ACTIVE" || (taskRow{standby: true}).kind() != "STANDBY" {
		t.Error("task_type of an active and a standby row")
	}
}

// TestCountPlacements: SHOW NODES counts, per node, the query tasks and
// table partitions it owns and the standby copies of each it keeps; a
// task between owners counts for no listed node.
func TestCountPlacements(t *testing.T) {
	query := &runningQuery{q: &catalog.Query{ID: "CTAS_T_3"}}
	table := &runningQuery{q: &catalog.Query{ID: materializerPrefix + "T_3"}}
	a, b, c := nodeInfo{"a", "h:1"}, nodeInfo{"b", "h:2"}, nodeInfo{"c", "h:3"}
	placed := map[*runningQuery][]placedTaskInfo{
		query: {
			{node: a, standbys: []nodeInfo{b}},
			{node: a, standbys: []nodeInfo{b, c}},
			{node: b, standbys: []nodeInfo{c}},
			{node: nodeInfo{}}, // moving: no owner, no standbys
		},
		table: {
			{node: c, standbys: []nodeInfo{a}},
			{node: c},
		},
	}
	got := countPlacements(placed)
	for _, tc := range []struct {
		name string
		m    map[string]int32
		want map[string]int32
	}{
		{"tasks", got.tasks, map[string]int32{"a": 2, "b": 1, "": 1}},
		{"standby_tasks", got.standbyTasks, map[string]int32{"b": 2, "c": 2}},
		{"table_partitions", got.parts, map[string]int32{"c": 2}},
		{"standby_table_partitions", got.standbyParts, map[string]int32{"a": 1}},
	} {
		if fmt.Sprint(tc.m) != fmt.Sprint(tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.m, tc.want)
		}
	}
}

// TestRemoteStandbyNodes: a listing asks each other node that keeps a
// standby copy of a query task once; not itself, not a node without an
// address, and not for a table's copies (their offsets are the brokers').
func TestRemoteStandbyNodes(t *testing.T) {
	e := &Engine{opts: Options{NodeID: "a"}}
	query := &runningQuery{q: &catalog.Query{ID: "CSAS_S_2"}}
	table := &runningQuery{q: &catalog.Query{ID: materializerPrefix + "T_3"}}
	a, b, c := nodeInfo{"a", "h:1"}, nodeInfo{"b", "h:2"}, nodeInfo{"c", "h:3"}
	placed := map[*runningQuery][]placedTaskInfo{
		query: {{node: b, standbys: []nodeInfo{c, a}}, {node: a, standbys: []nodeInfo{b, {"d", ""}}}},
		table: {{node: a, standbys: []nodeInfo{{"e", "h:5"}}}},
	}
	if got, want := fmt.Sprint(e.remoteStandbyNodes(placed)), fmt.Sprint([]nodeInfo{b, c}); got != want {
		t.Fatalf("remoteStandbyNodes = %s, want %s", got, want)
	}
}

// blackHole is a node address that accepts connections and never
// answers, as a node that hangs does. It counts the connections open at
// once and closes them when the test ends.
type blackHole struct {
	ln net.Listener
	mu struct {
		sync.Mutex
		open, most int
		conns      []net.Conn
	}
	// opened receives the number of connections open after each accept.
	opened chan int
}

func newBlackHole(t *testing.T) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &blackHole{ln: ln, opened: make(chan int, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.mu.open++
			h.mu.most = max(h.mu.most, h.mu.open)
			h.mu.conns = append(h.mu.conns, conn)
			open := h.mu.open
			h.mu.Unlock()
			h.opened <- open
			// Read until the client hangs up, answering nothing.
			go func() {
				_, _ = io.Copy(io.Discard, conn)
				h.mu.Lock()
				h.mu.open--
				h.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range h.mu.conns {
			c.Close()
		}
	})
	return h
}

// TestAskStandbysAtOnce: a listing asks the other nodes for their
// standby checkpoints all at once, so that nodes that never answer cost
// one wait together, not one each; each of them maps to nil (its rows
// NULL) and the call returns when its context ends. Three silent nodes
// must all have a request open at the same time: only then does the
// test end the listing's context (its own wait is a minute, which
// requests made one after another would each spend).
func TestAskStandbysAtOnce(t *testing.T) {
	holes := []*blackHole{newBlackHole(t), newBlackHole(t), newBlackHole(t)}
	peers := peer.NewClient(peer.Options{ConnectTimeout: time.Minute})
	defer peers.Close()
	e := &Engine{peers: peers, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var nodes []nodeInfo
	for i, h := range holes {
		nodes = append(nodes, nodeInfo{ID: fmt.Sprintf("n%d", i), Addr: h.ln.Addr().String()})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan remoteStandbys, 1)
	go func() { got <- e.askStandbys(ctx, nodes, time.Minute) }()
	for _, h := range holes {
		select {
		case <-h.opened:
		case <-time.After(30 * time.Second):
			t.Fatal("a silent node was never asked while the first request waited: the nodes are asked one after another")
		}
	}
	cancel()
	remote := <-got
	if len(remote) != len(nodes) {
		t.Fatalf("answers for %d nodes, want %d: %v", len(remote), len(nodes), remote)
	}
	for _, n := range nodes {
		if byTask, ok := remote[n.ID]; !ok || byTask != nil {
			t.Fatalf("node %s: %v, %t; want nil (no answer)", n.ID, byTask, ok)
		}
	}
	for i, h := range holes {
		h.mu.Lock()
		most := h.mu.most
		h.mu.Unlock()
		if most != 1 {
			t.Errorf("silent node %d had %d requests open at once, want 1", i, most)
		}
	}
	if got := e.askStandbys(ctx, nil, time.Minute); len(got) != 0 {
		t.Fatalf("asking no node: %v", got)
	}
}
