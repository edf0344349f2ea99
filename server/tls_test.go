package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runnel/runnel/server"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLS(t *testing.T) {
	ts := startServer(t, server.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}})
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, "postgres://tester@"+ts.addr+"/db?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("connection is %T, not TLS", conn.PgConn().Conn())
	}
	var n int32
	if err := conn.QueryRow(ctx, "echo int", int32(9)).Scan(&n); err != nil || n != 9 {
		t.Fatalf("over TLS: %d %v", n, err)
	}
	// psql with sslmode=require negotiates TLS too.
	if got := runPsqlSSL(t, ts, "require", "-A", "-t", "-c", "count 2"); got != "0\n1\n" {
		t.Errorf("psql over TLS: %q", got)
	}
}

func TestNoTLS(t *testing.T) {
	ts := startServer(t, server.Options{})
	ctx := testCtx(t)
	// sslmode=require fails against a server that answers 'N'.
	if conn, err := pgx.Connect(ctx, "postgres://tester@"+ts.addr+"/db?sslmode=require"); err == nil {
		conn.Close(ctx)
		t.Fatal("TLS connection to a server without TLS")
	}
	// prefer falls back to plain text.
	conn, err := pgx.Connect(ctx, "postgres://tester@"+ts.addr+"/db?sslmode=prefer")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
}
