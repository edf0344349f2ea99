# Runnel's two set-up commands are `make run` and `make test`.
GO        ?= go
BIN       := bin/runnel
# Arguments for `make run`, e.g. make run ARGS='--data-dir /tmp/r --log-level debug'.
ARGS      ?=
# The race detector and the invariants build tag are on in every test run.
TESTFLAGS ?= -race -tags invariants -count=1 -timeout 20m
# How long `make fuzz` runs each fuzz target, and its build flags.
FUZZTIME  ?= 30s
FUZZFLAGS ?= -tags invariants
# The knobs of `make torture` (tests/torture): kill -9 the server this many
# times over this much time under load; an empty seed takes the clock's.
TORTURE_KILLS    ?= 120
TORTURE_DURATION ?= 240s
TORTURE_SEED     ?=
TORTURE_RATE     ?= 0
TORTURE_WRITERS  ?= 2
TORTURE_FLAGS    ?= -tags invariants -count=1 -timeout 90m
# The cluster torture (TestTortureCluster): kill -9 a random node of a
# cluster of TORTURE_CLUSTER_NODES on kfake this many times over this long.
TORTURE_CLUSTER_KILLS    ?= 30
TORTURE_CLUSTER_DURATION ?= 300s
TORTURE_CLUSTER_NODES    ?= 3
# Events preloaded for `make bench-cluster` (a GROUP BY on 1, 2, 3 nodes).
CLUSTER_BENCH_EVENTS ?= 200000
# GROUPBY_KEYS is the records, each of a new key, of bench-groupby-keys.
GROUPBY_KEYS ?= 10000000

# The knobs of `make nexmark` (tests/nexmark, BENCHMARKS.md): how many
# events to load, their seed, the partitions per topic, the queries to run
# (empty: the whole suite), how long a query may run before it is reported
# unfinished, and a directory for a CPU profile of each query (empty: none).
# NEXMARK_RATE > 0 measures latency instead: events written at that rate
# for NEXMARK_DURATION through each of NEXMARK_LATENCY_QUERIES.
NEXMARK_EVENTS          ?= 1000000
NEXMARK_SEED            ?= 0
NEXMARK_PARTITIONS      ?= 4
NEXMARK_QUERIES         ?=
NEXMARK_QUERY_TIMEOUT   ?= 90s
NEXMARK_PROFILE_DIR     ?=
NEXMARK_RATE            ?= 0
NEXMARK_DURATION        ?= 20s
NEXMARK_LATENCY_QUERIES ?= q0

.PHONY: build run test unit e2e bench bench-cluster bench-groupby-keys nexmark fuzz torture torture-cluster vet lint clean deps

build:
	$(GO) build -o $(BIN) ./cmd/runnel

run: build
	./$(BIN) $(ARGS)

# deps installs what the tests need beyond Go: psql, a PostgreSQL server,
# and the driver matrix's clients (tests/drivers/deps.sh says which).
deps:
	tests/drivers/deps.sh

vet:
	$(GO) vet -tags invariants ./...

# lint runs staticcheck (installed from the module proxy on first use).
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags invariants ./...

# unit includes tests/torture, whose default is the short crash test
# (10 kills under load, with the race detector in the server too).
unit:
	$(GO) test $(TESTFLAGS) ./...

# e2e drives the real binary with the real psql, including kill -9.
e2e: build
	tests/e2e/psql_e2e.sh $(BIN)

test: vet unit e2e

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./log/embedded/ ./operators/serde/
	$(GO) test -run '^$$' -bench . -benchtime 200000x ./tests/bench/

# bench-cluster runs a GROUP BY over CLUSTER_BENCH_EVENTS preloaded events
# on 1, 2 and 3 nodes of one in-process kfake cluster (tests/kafkamode).
bench-cluster:
	$(GO) test -run '^$$' -bench ClusterGroupBy -benchtime $(CLUSTER_BENCH_EVENTS)x -timeout 60m ./tests/kafkamode/

# bench-groupby-keys runs issue 10's GROUP BY of GROUPBY_KEYS distinct
# keys (10M: about 1 GB of disk for a while, several minutes), printing
# its progress, rate, peak heap and peak resident set.
bench-groupby-keys:
	$(GO) test -run '^$$' -bench GroupByDistinctKeys -benchtime $(GROUPBY_KEYS)x -timeout 120m ./tests/bench/

# nexmark runs the Nexmark suite on a fresh embedded log and writes its
# results into BENCHMARKS.md and the chart tests/nexmark/results/nexmark.svg.
nexmark: build
	./$(BIN) nexmark bench --events $(NEXMARK_EVENTS) --seed $(NEXMARK_SEED) --partitions $(NEXMARK_PARTITIONS) \
		--queries '$(NEXMARK_QUERIES)' --query-timeout $(NEXMARK_QUERY_TIMEOUT) --profile-dir '$(NEXMARK_PROFILE_DIR)' \
		--rate $(NEXMARK_RATE) --duration $(NEXMARK_DURATION) --latency-queries '$(NEXMARK_LATENCY_QUERIES)' \
		--commit "$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' ':!tests/nexmark/results' 2>/dev/null || echo -dirty)" \
		--benchmarks BENCHMARKS.md --chart tests/nexmark/results/nexmark.svg

# fuzz finds every fuzz target (go test -list) and runs each for FUZZTIME,
# so a new target needs no edit here.
fuzz:
	@list=$$($(GO) test $(FUZZFLAGS) -list '^Fuzz' ./...) || { echo "$$list"; exit 1; }; \
	targets=$$(printf '%s\n' "$$list" | awk '/^Fuzz/ { n[++k] = $$1; next } /^ok/ { for (i = 1; i <= k; i++) print $$2, n[i]; k = 0 }'); \
	[ -n "$$targets" ] || { echo "fuzz: no fuzz targets found"; exit 1; }; \
	echo "fuzz: $$(printf '%s\n' "$$targets" | wc -l | tr -d ' ') targets, $(FUZZTIME) each"; \
	printf '%s\n' "$$targets" | while read -r pkg name; do \
		echo "fuzz: $$pkg $$name"; \
		$(GO) test $(FUZZFLAGS) -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

# torture runs the crash tests long: kill -9 under load TORTURE_KILLS times
# on one node, then TORTURE_CLUSTER_KILLS times on a cluster, each run
# checking every sink and table (see tests/torture/doc.go).
torture:
	RUNNEL_TORTURE_KILLS=$(TORTURE_KILLS) RUNNEL_TORTURE_DURATION=$(TORTURE_DURATION) \
	RUNNEL_TORTURE_SEED=$(TORTURE_SEED) RUNNEL_TORTURE_RATE=$(TORTURE_RATE) RUNNEL_TORTURE_WRITERS=$(TORTURE_WRITERS) \
	RUNNEL_TORTURE_CLUSTER_KILLS=$(TORTURE_CLUSTER_KILLS) RUNNEL_TORTURE_CLUSTER_DURATION=$(TORTURE_CLUSTER_DURATION) \
	RUNNEL_TORTURE_CLUSTER_NODES=$(TORTURE_CLUSTER_NODES) \
		$(GO) test $(TORTURE_FLAGS) -v -run '^TestTorture(Cluster)?$$' ./tests/torture/

# torture-cluster runs only the cluster's long crash test.
torture-cluster:
	RUNNEL_TORTURE_SEED=$(TORTURE_SEED) RUNNEL_TORTURE_RATE=$(TORTURE_RATE) RUNNEL_TORTURE_WRITERS=$(TORTURE_WRITERS) \
	RUNNEL_TORTURE_CLUSTER_KILLS=$(TORTURE_CLUSTER_KILLS) RUNNEL_TORTURE_CLUSTER_DURATION=$(TORTURE_CLUSTER_DURATION) \
	RUNNEL_TORTURE_CLUSTER_NODES=$(TORTURE_CLUSTER_NODES) \
		$(GO) test $(TORTURE_FLAGS) -v -run '^TestTortureCluster$$' ./tests/torture/

clean:
	rm -rf bin
