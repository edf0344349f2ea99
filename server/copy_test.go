package server_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/server"
)

// TestCopyOut: COPY TO's rows arrive as CopyData in each format, and
// the tag counts them.
func TestCopyOut(t *testing.T) {
	ts := startServer(t, server.Options{})
	pc := ts.connect(t).PgConn()
	ctx := testCtx(t)
	for _, tc := range []struct{ format, want string }{
		{"text", "0\tr0\n1\ttab\\there, \"quoted\"\\nline\n2\t\\N\n3\t\n"},
		{"csvheader", "n,s\n0,r0\n1,\"tab\there, \"\"quoted\"\"\nline\"\n2,\n3,\"\"\n"},
	} {
		var buf bytes.Buffer
		tag, err := pc.CopyTo(ctx, &buf, "copyout 4 "+tc.format)
		if err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		if tag.String() != "COPY 4" || buf.String() != tc.want {
			t.Errorf("%s: %s\n%q\nwant\n%q", tc.format, tag, buf.String(), tc.want)
		}
	}
	var buf bytes.Buffer
	if _, err := pc.CopyTo(ctx, &buf, "copyout 2 binary"); err != nil {
		t.Fatal(err)
	}
	want := "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x02" + "\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00" + "\x00\x00\x00\x02r0" +
		"\x00\x02" + "\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x01" + "\x00\x00\x00\x17tab\there, \"quoted\"\nline" +
		"\xff\xff"
	if buf.String() != want {
		t.Errorf("binary:\n%q\nwant\n%q", buf.String(), want)
	}
	// A bad format fails before any data.
	_, err := pc.CopyTo(ctx, io.Discard, "copyout 2 badformat")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22023" {
		t.Fatalf("bad format: %v", err)
	}
}

// TestCopyIn: COPY FROM's rows reach the sink and commit with the
// implicit transaction; in a block, with the block.
func TestCopyIn(t *testing.T) {
	ts := startServer(t, server.Options{})
	pc := ts.connect(t).PgConn()
	ctx := testCtx(t)
	tag, err := pc.CopyFrom(ctx, strings.NewReader("n,s\n1,one\n2,\"two, too\"\n3,\n"), "copyin csvheader")
	if err != nil || tag.String() != "COPY 3" {
		t.Fatalf("copy: %v %v", tag, err)
	}
	if got, want := ts.fake.committedWrites(), []string{"1:one", "2:two, too", "3:NULL"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("committed %v, want %v", got, want)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := pc.Exec(ctx, sql).ReadAll(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("begin")
	if _, err := pc.CopyFrom(ctx, strings.NewReader("4\tfour\n"), "copyin text"); err != nil {
		t.Fatal(err)
	}
	exec("rollback")
	exec("begin")
	if _, err := pc.CopyFrom(ctx, strings.NewReader("5\tfive\n"), "copyin text"); err != nil {
		t.Fatal(err)
	}
	exec("commit")
	if got := ts.fake.committedWrites(); len(got) != 4 || got[3] != "5:five" {
		t.Fatalf("committed %v", got)
	}
}

// TestCopyInErrors: a bad row fails the whole COPY with its line and
// column, nothing is written, and the connection goes on.
func TestCopyInErrors(t *testing.T) {
	ts := startServer(t, server.Options{})
	pc := ts.connect(t).PgConn()
	ctx := testCtx(t)
	big := strings.Repeat("1\tok\n", 20000) // more than one CopyData
	for _, tc := range []struct {
		name, sql, data, code, where string
	}{
		{"bad value", "copyin text", "1\tone\nx\ttwo\n", "22P02", `COPY fake, line 2, column n: "x"`},
		{"bad value after many rows", "copyin text", big + "x\tlast\n", "22P02", `COPY fake, line 20001, column n: "x"`},
		{"missing column", "copyin csv", "1,a\n2\n", "22P04", `COPY fake, line 2: "2"`},
		{"refused by the sink", "copyin csv", "12,a\n13,b\n", "23502", "COPY fake, line 2"},
		{"bad binary", "copyin binary", "not binary at all", "22P04", "COPY fake, line 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aborted := ts.fake.abortedSinks()
			_, err := pc.CopyFrom(ctx, strings.NewReader(tc.data), tc.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tc.code || !strings.HasPrefix(pgErr.Where, tc.where) {
				t.Fatalf("error %#v, want %s with CONTEXT %q", err, tc.code, tc.where)
			}
			if got := ts.fake.committedWrites(); len(got) != 0 {
				t.Fatalf("committed %v", got)
			}
			if ts.fake.abortedSinks() != aborted+1 {
				t.Error("the sink was not aborted")
			}
			if res, err := pc.Exec(ctx, "count 1").ReadAll(); err != nil || len(res[0].Rows) != 1 {
				t.Fatalf("after the failed COPY: %v %v", res, err)
			}
		})
	}
	// The client gives up: CopyFail.
	_, err := pc.CopyFrom(ctx, io.MultiReader(strings.NewReader("1\ta\n"), errReader{}), "copyin text")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("CopyFail: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("the client's file broke") }

// TestCopyInProtocol drives COPY FROM by hand: data cut anywhere, Flush
// and Sync ignored during COPY, the extended protocol, data after an
// error dropped, Terminate in the middle.
func TestCopyInProtocol(t *testing.T) {
	ts := startServer(t, server.Options{})
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	expectCopyIn := func() {
		t.Helper()
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := msg.(*pgproto3.CopyInResponse); !ok {
			t.Fatalf("got %T, want CopyInResponse", msg)
		}
	}
	fe.Send(&pgproto3.Query{String: "copyin csv"})
	expectCopyIn()
	data := "1,\"multi\nline\"\n2,x\n"
	for i := range len(data) {
		fe.Send(&pgproto3.CopyData{Data: []byte{data[i]}})
		if i == 5 {
			fe.Send(&pgproto3.Flush{})
			fe.Send(&pgproto3.Sync{})
		}
	}
	fe.Send(&pgproto3.CopyDone{})
	if got := exchange(t, fe); got != "CommandComplete(COPY 2) ReadyForQuery(I)" {
		t.Fatalf("got %s", got)
	}
	if got := ts.fake.committedWrites(); !reflect.DeepEqual(got, []string{"1:multi\nline", "2:x"}) {
		t.Fatalf("committed %q", got)
	}

	// The extended protocol.
	fe.SendParse(&pgproto3.Parse{Query: "copyin text"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'P'})
	fe.SendExecute(&pgproto3.Execute{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*pgproto3.ParseComplete", "*pgproto3.BindComplete", "*pgproto3.NoData", "*pgproto3.CopyInResponse"} {
		msg, err := fe.Receive()
		if err != nil || typeName(msg) != want {
			t.Fatalf("got %T %v, want %s", msg, err, want)
		}
	}
	fe.Send(&pgproto3.CopyData{Data: []byte("3\tthree\n")})
	fe.Send(&pgproto3.CopyDone{})
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); got != "CommandComplete(COPY 1) ReadyForQuery(I)" {
		t.Fatalf("extended: %s", got)
	}

	// After an error, the rest of the data is dropped.
	fe.Send(&pgproto3.Query{String: "copyin text"})
	expectCopyIn()
	fe.Send(&pgproto3.CopyData{Data: []byte("bad\tx\n")})
	if got := exchange(t, fe); got != "ErrorResponse(22P02) ReadyForQuery(I)" {
		t.Fatalf("error: %s", got)
	}
	fe.Send(&pgproto3.CopyData{Data: []byte("4\tlost\n")})
	fe.Send(&pgproto3.CopyDone{})
	if got := query(t, fe, "count 1"); got != "RowDescription DataRow(0) CommandComplete(SELECT 1) ReadyForQuery(I)" {
		t.Fatalf("after the error: %s", got)
	}
	if got := ts.fake.committedWrites(); len(got) != 3 {
		t.Fatalf("committed %q", got)
	}

	// Another message in the middle of COPY fails it.
	fe.Send(&pgproto3.Query{String: "copyin text"})
	expectCopyIn()
	fe.Send(&pgproto3.Query{String: "count 1"})
	if got := exchange(t, fe); got != "ErrorResponse(08P01) ReadyForQuery(I)" {
		t.Fatalf("query during COPY: %s", got)
	}

	// Terminate in the middle ends the connection, writing nothing.
	fe.Send(&pgproto3.Query{String: "copyin text"})
	expectCopyIn()
	fe.Send(&pgproto3.CopyData{Data: []byte("5\tfive\n")})
	fe.Send(&pgproto3.Terminate{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("after Terminate: %v", err)
	}
	if got := ts.fake.committedWrites(); len(got) != 3 {
		t.Fatalf("committed %q", got)
	}
}

func typeName(v any) string { return strings.TrimSpace(strings.Split(fmtType(v), " ")[0]) }

func fmtType(v any) string { return reflect.TypeOf(v).String() }
