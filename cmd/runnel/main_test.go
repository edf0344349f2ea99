package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFlagsAndEnvironment: defaults, environment variables, and flags
// winning over them.
// allVars are every variable the flags read.
var allVars = []string{"RUNNEL_LISTEN", "RUNNEL_DATA_DIR", "RUNNEL_KAFKA", "RUNNEL_LOG_LEVEL", "RUNNEL_MAX_PARTITIONS",
	"RUNNEL_MAX_STATEMENT_BYTES", "RUNNEL_MAX_VALUE_BYTES", "RUNNEL_MAX_TRANSACTION_BYTES", "RUNNEL_MAX_CONNECTIONS",
	"RUNNEL_CACHE_BYTES", "RUNNEL_CACHE_MAX_BYTES_BUFFERING", "RUNNEL_AUTH_FILE", "RUNNEL_TLS_CERT", "RUNNEL_TLS_KEY", "RUNNEL_INSECURE",
	"RUNNEL_STANDBY_REPLICAS", "RUNNEL_PULL_TIMEOUT_MS", "RUNNEL_CLUSTER_USER"}

func TestFlagsAndEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want config
	}{
		{"defaults", nil, nil, config{listen: "127.0.0.1:6543", dataDir: "./runnel-data", logLevel: "info", maxPartitions: 10000, maxStatementBytes: 16 << 20, maxValueBytes: 16 << 20,
			maxTransactionBytes: 64 << 20, cacheBytes: 256 << 20, cacheMaxBytesBuffering: 10_000_000, maxConnections: 100, standbyReplicas: 1, pullTimeoutMs: 10000, clusterUser: "_runnel_node"}},
		{"environment", map[string]string{"RUNNEL_LISTEN": ":7000", "RUNNEL_DATA_DIR": "/d", "RUNNEL_KAFKA": "k:9092", "RUNNEL_LOG_LEVEL": "debug", "RUNNEL_MAX_PARTITIONS": "64",
			"RUNNEL_MAX_STATEMENT_BYTES": "1000", "RUNNEL_MAX_VALUE_BYTES": "2000", "RUNNEL_MAX_TRANSACTION_BYTES": "3000", "RUNNEL_MAX_CONNECTIONS": "7", "RUNNEL_CACHE_BYTES": "4000", "RUNNEL_CACHE_MAX_BYTES_BUFFERING": "0",
			"RUNNEL_AUTH_FILE": "/a", "RUNNEL_TLS_CERT": "/c", "RUNNEL_TLS_KEY": "/k", "RUNNEL_INSECURE": "true",
			"RUNNEL_STANDBY_REPLICAS": "2", "RUNNEL_PULL_TIMEOUT_MS": "500", "RUNNEL_CLUSTER_USER": "peer"}, nil,
			config{listen: ":7000", dataDir: "/d", kafka: "k:9092", logLevel: "debug", maxPartitions: 64, maxStatementBytes: 1000, maxValueBytes: 2000,
				maxTransactionBytes: 3000, cacheBytes: 4000, cacheMaxBytesBuffering: 0, maxConnections: 7, authFile: "/a", tlsCert: "/c", tlsKey: "/k", insecure: true,
				standbyReplicas: 2, pullTimeoutMs: 500, clusterUser: "peer"}},
		{"flags win", map[string]string{"RUNNEL_LISTEN": ":7000", "RUNNEL_DATA_DIR": "/d", "RUNNEL_MAX_PARTITIONS": "64", "RUNNEL_MAX_VALUE_BYTES": "2000",
			"RUNNEL_MAX_CONNECTIONS": "7", "RUNNEL_INSECURE": "1", "RUNNEL_AUTH_FILE": "/a"},
			[]string{"--listen", ":8000", "-data-dir=/e", "--kafka", "a:1,b:2", "--max-partitions", "2147483647", "--max-value-bytes", "3000",
				"--max-connections", "9", "--insecure=false", "--auth-file", "/b", "--max-transaction-bytes", "99", "--cache-bytes", "5000", "--cache-max-bytes-buffering", "1000",
				"--standby-replicas", "0", "--pull-timeout-ms", "20000"},
			config{listen: ":8000", dataDir: "/e", kafka: "a:1,b:2", logLevel: "info", maxPartitions: 2147483647, maxStatementBytes: 16 << 20, maxValueBytes: 3000,
				maxTransactionBytes: 99, cacheBytes: 5000, cacheMaxBytesBuffering: 1000, maxConnections: 9, authFile: "/b", pullTimeoutMs: 20000, clusterUser: "_runnel_node"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range allVars {
				t.Setenv(k, tc.env[k])
			}
			got, err := parseFlags(tc.args, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	_, err := parseFlags([]string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, f := range append([]string{"--listen", "--data-dir", "--kafka", "--log-level", "--max-partitions",
		"--max-statement-bytes", "--max-value-bytes", "--max-transaction-bytes", "--max-connections", "--auth-file",
		"--tls-cert", "--tls-key", "--insecure", "--standby-replicas", "--pull-timeout-ms", "--cluster-user", `(default "10000")`}, allVars...) {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %s:\n%s", f, out.String())
		}
	}
}

func TestRejectsStrayArguments(t *testing.T) {
	if _, err := parseFlags([]string{"serve"}, &bytes.Buffer{}); err == nil {
		t.Fatal("a stray argument was accepted")
	}
	if err := run(context.Background(), []string{"--log-level", "loud"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "log-level") {
		t.Fatalf("a bad --log-level: %v", err)
	}
	for _, args := range [][]string{{"--max-partitions", "0"}, {"--max-partitions", "-5"}, {"--max-partitions", "2147483648"}, {"--max-partitions", "many"}} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q was accepted", args)
		}
	}
	for _, args := range [][]string{{"--max-value-bytes", "0"}, {"--max-value-bytes", "-5"}, {"--max-value-bytes", "lots"}, {"--max-statement-bytes", "0"},
		{"--max-connections", "0"}, {"--max-transaction-bytes", "-1"}, {"--cache-bytes", "0"}, {"--cache-max-bytes-buffering", "-1"}, {"--tls-cert", "/c"}, {"--tls-key", "/k"}} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	t.Setenv("RUNNEL_MAX_VALUE_BYTES", "16MB")
	if _, err := parseFlags(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "RUNNEL_MAX_VALUE_BYTES") {
		t.Errorf("a bad RUNNEL_MAX_VALUE_BYTES: %v", err)
	}
	t.Setenv("RUNNEL_MAX_VALUE_BYTES", "")
	t.Setenv("RUNNEL_INSECURE", "sure")
	if _, err := parseFlags(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "RUNNEL_INSECURE") {
		t.Errorf("a bad RUNNEL_INSECURE: %v", err)
	}
	t.Setenv("RUNNEL_INSECURE", "")
	t.Setenv("RUNNEL_MAX_PARTITIONS", "lots")
	if _, err := parseFlags(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "RUNNEL_MAX_PARTITIONS") {
		t.Errorf("a bad RUNNEL_MAX_PARTITIONS: %v", err)
	}
}

func TestExposed(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", false},
		{"127.0.0.53", false},
		{"::1", false},
		{"0.0.0.0", true},
		{"::", true},
		{"192.168.1.20", true},
		{"10.0.0.1", true},
		{"fe80::1", true},
	} {
		if got := exposed(&net.TCPAddr{IP: net.ParseIP(tc.ip), Port: 6543}); got != tc.want {
			t.Errorf("exposed(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer that the server's goroutines and the test
// may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExposure runs the server: listening beyond loopback without an auth
// file is refused, allowed with --insecure (and a warning), and allowed
// quietly with an auth file; loopback is always fine.
func TestExposure(t *testing.T) {
	authFile := t.TempDir() + "/users"
	if err := os.WriteFile(authFile, []byte("alice:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		refused bool
		warn    bool
	}{
		{"loopback", []string{"--listen", "127.0.0.1:0"}, false, false},
		{"everywhere", []string{"--listen", "0.0.0.0:0"}, true, false},
		{"everywhere, no host", []string{"--listen", ":0"}, true, false},
		{"everywhere, insecure", []string{"--listen", "0.0.0.0:0", "--insecure"}, false, true},
		{"everywhere, auth file", []string{"--listen", "0.0.0.0:0", "--auth-file", authFile}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range allVars {
				t.Setenv(k, "")
			}
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, append(tc.args, "--data-dir", t.TempDir()), &stdout, &stderr)
			}()
			if tc.refused {
				select {
				case err := <-done:
					if !errors.Is(err, errExposed) {
						t.Fatalf("run: %v, want a refusal", err)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("run did not refuse")
				}
				return
			}
			awaitServing(t, &stdout, &stderr, done)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(stderr.String(), "level=WARN msg=\"no authentication: anyone who can reach this address can")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v:\n%s", warned, tc.warn, stderr.String())
			}
		})
	}
}

// TestBadAuthAndTLSFiles: a broken auth file or certificate stops the
// start with a message naming it.
func TestBadAuthAndTLSFiles(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/users"
	if err := os.WriteFile(bad, []byte("nocolon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--auth-file", bad}, "auth file"},
		{[]string{"--auth-file", dir + "/missing"}, "auth file"},
		{[]string{"--tls-cert", dir + "/c.pem", "--tls-key", dir + "/k.pem"}, "--tls-cert"},
	} {
		for _, k := range allVars {
			t.Setenv(k, "")
		}
		err := run(context.Background(), append(tc.args, "--data-dir", dir+"/data"), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}

// servingLine is run's line saying where it serves.
var servingLine = regexp.MustCompile(`serving pgwire on (\S+)`)

// awaitServing waits until run, started with stdout and stderr and
// reporting to done, serves, and returns the address it serves.
func awaitServing(t *testing.T, stdout, stderr *syncBuffer, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := servingLine.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("run returned %v before serving:\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
}

// TestEngineCacheBuffering: the flag's 0 (every update) is the engine's
// -1, since the engine's 0 is ksqlDB's default of 10,000,000.
func TestEngineCacheBuffering(t *testing.T) {
	for in, want := range map[int64]int64{0: -1, 1: 1, 10_000_000: 10_000_000} {
		if got := engineCacheBuffering(in); got != want {
			t.Errorf("engineCacheBuffering(%d) = %d, want %d", in, got, want)
		}
	}
}
