package engine

import (
	"context"
	"runtime/debug"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
)

// A failed source is one the catalog holds but this server cannot use: a
// data directory written by an older version, before the limits existed,
// may hold a stream over a topic of 2,147,483,647 partitions. Reading it
// would start a task, a reader or an offset per partition, so the engine
// refuses to. It still opens, lists and describes the source (saying it
// failed, and why) and lets DROP remove it.

// findFailedSources marks the sources that break this server's limits. It
// runs at Open, before any query or materializer starts.
func (e *Engine) findFailedSources(ctx context.Context) {
	for _, src := range e.cat.Sources() {
		err := catalog.CheckPartitions(src.Topic, src.Partitions, e.opts.MaxPartitions)
		if err == nil {
			// The topic may have been made (or changed) outside the
			// catalog; looking it up costs nothing per partition.
			if info, terr := e.log.Topic(ctx, src.Topic); terr == nil {
				err = catalog.CheckPartitions(src.Topic, info.Partitions, e.opts.MaxPartitions)
			}
		}
		if err != nil {
			ferr := failedSource(src, err)
			e.logger.Error("source cannot be used", "source", src.Name, "error", ferr)
			e.mu.Lock()
			e.mu.failed[src.Name] = ferr
			e.mu.Unlock()
		}
	}
}

// failedSource explains why src cannot be used and how to get rid of it.
// The error keeps the code of its cause.
func failedSource(src *catalog.Source, cause error) error {
	kind := strings.ToLower(string(src.Kind))
	return sqlstate.Errorf(sqlstate.Of(cause), "%s %s has failed and cannot be used: %w (DROP %s %s removes it)",
		kind, src.Name, cause, src.Kind, src.Name)
}

// sourceFailure returns why src cannot be used, or nil when it can.
func (e *Engine) sourceFailure(src *catalog.Source) error {
	e.mu.Lock()
	err := e.mu.failed[src.Name]
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if err := catalog.CheckPartitions(src.Topic, src.Partitions, e.opts.MaxPartitions); err != nil {
		return failedSource(src, err)
	}
	return nil
}

// forgetFailure clears the mark of a source that was dropped or replaced.
func (e *Engine) forgetFailure(name string) {
	e.mu.Lock()
	delete(e.mu.failed, name)
	e.mu.Unlock()
}

// failureNotices are the notices that SHOW and DESCRIBE add for failed
// sources among srcs.
func (e *Engine) failureNotices(srcs ...*catalog.Source) []string {
	var out []string
	for _, src := range srcs {
		if err := e.sourceFailure(src); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// partitionsOf returns the partition count of topic for a caller about to
// start or allocate something per partition, and refuses a count over
// MaxPartitions. Every such loop goes through here, so that no source that
// slipped past the other checks can make the engine allocate without
// bound.
func (e *Engine) partitionsOf(ctx context.Context, topic string) (int32, error) {
	return e.builder.Partitions(ctx, topic)
}

// logPanic logs a panic recovered in one of the engine's goroutines, with
// its stack. The caller calls recover itself (recover works only in the
// deferred function).
func (e *Engine) logPanic(what string, r any, attrs ...any) {
	e.logger.Error(what+" panicked", append(attrs, "panic", r, "stack", string(debug.Stack()))...)
}
