package server_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/runnel/runnel/server"
)

// FuzzConn feeds arbitrary bytes to a connection after a valid startup.
// The server must never panic (panics it recovers are logged and fail the
// test), must close or answer that connection, and must keep serving new
// ones. Seeds live in testdata/fuzz/FuzzConn.
func FuzzConn(f *testing.F) {
	ts := startServer(f, server.Options{MaxMessageSize: 1 << 16})
	var seed []byte
	seed, _ = (&pgproto3.Query{String: "count 3; types"}).Encode(seed)
	f.Add(seed)
	var ext []byte
	ext, _ = (&pgproto3.Parse{Name: "s", Query: "echo int"}).Encode(ext)
	ext, _ = (&pgproto3.Bind{PreparedStatement: "s", ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{0, 0, 0, 5}}, ResultFormatCodes: []int16{1}}).Encode(ext)
	ext, _ = (&pgproto3.Describe{ObjectType: 'P'}).Encode(ext)
	ext, _ = (&pgproto3.Execute{MaxRows: 1}).Encode(ext)
	ext, _ = (&pgproto3.Sync{}).Encode(ext)
	f.Add(ext)
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, _ := rawStartup(t, ts.addr)
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write(data)
		// Half-close: the server sees EOF after the data, cancels whatever
		// runs and hangs up.
		nc.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, nc); err != nil {
			t.Fatalf("connection not closed by the server: %v", err)
		}
		ts.watch.check(t)
	})
}
