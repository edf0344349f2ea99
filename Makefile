# Runnel's two set-up commands are `make run` and `make test`.
GO        ?= go
BIN       := bin/runnel
# Arguments for `make run`, e.g. make run ARGS='--data-dir /tmp/r --log-level debug'.
ARGS      ?=
# The race detector and the invariants build tag are on in every test run.
TESTFLAGS ?= -race -tags invariants -count=1 -timeout 20m

.PHONY: build run test unit e2e bench fuzz vet lint clean

build:
	$(GO) build -o $(BIN) ./cmd/runnel

run: build
	./$(BIN) $(ARGS)

vet:
	$(GO) vet -tags invariants ./...

# lint runs staticcheck (installed from the module proxy on first use).
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags invariants ./...

unit:
	$(GO) test $(TESTFLAGS) ./...

# e2e drives the real binary with the real psql, including kill -9.
e2e: build
	tests/e2e/psql_e2e.sh $(BIN)

test: vet unit e2e

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./log/embedded/ ./operators/serde/
	$(GO) test -run '^$$' -bench . -benchtime 200000x ./tests/bench/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./sql/
	$(GO) test -run '^$$' -fuzz FuzzConn -fuzztime 30s ./server/

clean:
	rm -rf bin
