package peer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestScanRequestRoundTrip: a request's text parses back to the request,
// keys of any bytes included; other texts are no request; bad ones fail.
func TestScanRequestRoundTrip(t *testing.T) {
	req := ScanRequest{Table: "SPEND", Seq: 7, Partition: 3, Start: []byte{'k', 0, 0xff}, End: []byte("k\x01"),
		MinOffset: 42, Limit: 256, WaitMs: 250}
	got, ok, err := ParseScan(req.Text())
	if err != nil || !ok || !reflect.DeepEqual(got, req) {
		t.Fatalf("ParseScan(Text()) = %+v, %v, %v; want %+v", got, ok, err, req)
	}
	if _, ok, _ := ParseScan("SELECT 1"); ok {
		t.Fatal("SELECT 1 parsed as a scan request")
	}
	for _, bad := range []string{
		ScanPrefix + "{",
		ScanPrefix + `{"table":"T","limit":0}`,
		ScanPrefix + fmt.Sprintf(`{"table":"T","limit":%d}`, MaxLimit+1),
		ScanPrefix + `{"table":"T","limit":1,"partition":-1}`,
	} {
		if _, ok, err := ParseScan(bad); !ok || err == nil {
			t.Errorf("ParseScan(%q) = ok %v, err %v; want a scan request that fails", bad, ok, err)
		}
	}
}

// TestRetryable: a node that cannot serve now, is stopping or cannot be
// reached is worth another try (elsewhere or later); an error in the
// request and the caller's cancellation are not.
func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: RetryableCode}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: RetryableCode}), true},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "42501"}, false},
		{&pgconn.PgError{Code: "08P01"}, false},
		{&pgconn.PgError{Code: "XX000"}, false},
		{errors.New("dial tcp: connection refused"), true},
		{&ConnectError{Addr: "n:1", Err: errors.New("dial tcp: connection refused")}, true},
		{&ConnectError{Addr: "n:1", Err: &pgconn.PgError{Code: "28P01"}}, false},
		{context.Canceled, false},
		{nil, false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestIsStandbys: only the standbys request's own text (spaces around it
// aside) is one; a scan request or a client's statement is not.
func TestIsStandbys(t *testing.T) {
	for text, want := range map[string]bool{
		StandbysRequest:               true,
		"  " + StandbysRequest + "\n": true,
		StandbysRequest + " x":        false,
		ScanPrefix + "{}":             false,
		"SELECT 1":                    false,
	} {
		if got := IsStandbys(text); got != want {
			t.Errorf("IsStandbys(%q) = %v, want %v", text, got, want)
		}
	}
}
