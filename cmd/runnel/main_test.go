package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestFlagsAndEnvironment: defaults, environment variables, and flags
// winning over them.
func TestFlagsAndEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want config
	}{
		{"defaults", nil, nil, config{listen: "127.0.0.1:6543", dataDir: "./runnel-data", logLevel: "info", maxStatementBytes: 16 << 20, maxValueBytes: 16 << 20}},
		{"environment", map[string]string{"RUNNEL_LISTEN": ":7000", "RUNNEL_DATA_DIR": "/d", "RUNNEL_KAFKA": "k:9092", "RUNNEL_LOG_LEVEL": "debug",
			"RUNNEL_MAX_STATEMENT_BYTES": "1000", "RUNNEL_MAX_VALUE_BYTES": "2000"}, nil,
			config{listen: ":7000", dataDir: "/d", kafka: "k:9092", logLevel: "debug", maxStatementBytes: 1000, maxValueBytes: 2000}},
		{"flags win", map[string]string{"RUNNEL_LISTEN": ":7000", "RUNNEL_DATA_DIR": "/d", "RUNNEL_MAX_VALUE_BYTES": "2000"},
			[]string{"--listen", ":8000", "-data-dir=/e", "--kafka", "a:1,b:2", "--max-value-bytes", "3000"},
			config{listen: ":8000", dataDir: "/e", kafka: "a:1,b:2", logLevel: "info", maxStatementBytes: 16 << 20, maxValueBytes: 3000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"RUNNEL_LISTEN", "RUNNEL_DATA_DIR", "RUNNEL_KAFKA", "RUNNEL_LOG_LEVEL", "RUNNEL_MAX_STATEMENT_BYTES", "RUNNEL_MAX_VALUE_BYTES"} {
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
	for _, f := range []string{"--listen", "--data-dir", "--kafka", "--log-level", "--max-statement-bytes", "--max-value-bytes",
		"RUNNEL_LISTEN", "RUNNEL_DATA_DIR", "RUNNEL_KAFKA", "RUNNEL_LOG_LEVEL", "RUNNEL_MAX_STATEMENT_BYTES", "RUNNEL_MAX_VALUE_BYTES"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %s:\n%s", f, out.String())
		}
	}
}

func TestRejectsStrayArguments(t *testing.T) {
	if _, err := parseFlags([]string{"serve"}, &bytes.Buffer{}); err == nil {
		t.Fatal("a stray argument was accepted")
	}
	if err := run([]string{"--log-level", "loud"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "log-level") {
		t.Fatalf("a bad --log-level: %v", err)
	}
	for _, args := range [][]string{{"--max-value-bytes", "0"}, {"--max-value-bytes", "-5"}, {"--max-value-bytes", "lots"}, {"--max-statement-bytes", "0"}} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	t.Setenv("RUNNEL_MAX_VALUE_BYTES", "16MB")
	if _, err := parseFlags(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "RUNNEL_MAX_VALUE_BYTES") {
		t.Errorf("a bad RUNNEL_MAX_VALUE_BYTES: %v", err)
	}
}
