// Package operators runs queries: it decodes records into typed rows,
// evaluates the plan's operators over them, encodes results, and drives the
// tasks — one per input partition — that read a topic and commit their
// output records with their input offsets in one log transaction.
//
//	log.Reader ─▶ Decoder ─▶ Pipeline (filter, project) ─▶ Encoder ─▶ log.Txn
//
// Operators know nothing of SQL text, the catalog's storage or the wire:
// the engine builds them from a planner.Plan.
package operators
