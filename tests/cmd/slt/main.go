// Command slt runs sqllogictest files against a running server that speaks
// PostgreSQL's wire protocol (Runnel, or PostgreSQL itself):
//
//	slt -addr 127.0.0.1:6543 [-rewrite] [-v] files...
//
// It prints each failed record as file:line, then a summary line
// "N passed, N failed" (", N skipped" and ", N rewritten" when non-zero),
// and exits 1 when a record failed or a file could not run, 2 on bad usage.
// tests/slt/README.md describes the .slt dialect.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/runnel/runnel/tests/slt"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	// A FlagSet of our own: the slt package registers -slt.rewrite on
	// flag.CommandLine for tests, which this command does not want.
	fs := flag.NewFlagSet("slt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:6543", "server `host:port`")
	dsn := fs.String("dsn", "", "connection string (overrides -addr, -user, -db)")
	user := fs.String("user", "runnel", "user name")
	db := fs.String("db", "runnel", "database name")
	rewrite := fs.Bool("rewrite", false, "rewrite the expected results of queries in place")
	verbose := fs.Bool("v", false, "print every record as it runs")
	engine := fs.String("engine", "runnel", "engine name for skipif/onlyif")
	timeout := fs.Duration("timeout", 30*time.Second, "per-statement timeout")
	retry := fs.Duration("retry-timeout", 10*time.Second, "how long a retry query is retried")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: slt [flags] files...\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	connStr := *dsn
	if connStr == "" {
		host, port, err := net.SplitHostPort(*addr)
		if err != nil {
			fmt.Fprintf(stderr, "slt: -addr %q: %v\n", *addr, err)
			return 2
		}
		connStr = fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable", host, port, *user, *db)
	}
	r, err := slt.New(slt.Options{
		DSN:              connStr,
		Engine:           *engine,
		Verbose:          *verbose,
		Log:              stderr,
		Rewrite:          *rewrite,
		StatementTimeout: *timeout,
		RetryTimeout:     *retry,
	})
	if err != nil {
		fmt.Fprintf(stderr, "slt: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var passed, failed, skipped, rewritten int
	broken := false
	for _, f := range fs.Args() {
		res, err := r.Run(ctx, f)
		passed, failed, skipped, rewritten = passed+res.Passed, failed+res.Failed, skipped+res.Skipped, rewritten+res.Rewritten
		for _, fl := range res.Failures {
			fmt.Fprintln(stdout, fl.Error())
		}
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", f, err)
			broken = true
			if ctx.Err() != nil {
				break
			}
		}
	}
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		summary += fmt.Sprintf(", %d skipped", skipped)
	}
	if rewritten > 0 {
		summary += fmt.Sprintf(", %d rewritten", rewritten)
	}
	fmt.Fprintln(stdout, strings.TrimSpace(summary))
	if failed > 0 || broken {
		return 1
	}
	return 0
}
