// Package logtest is the conformance suite of the log contract: one set of
// tests that every log.Log backend runs (the embedded Pebble log and the
// Kafka backend on franz-go's kfake), so both behave the same to everything
// above them.
//
// A backend's test calls Run with a function that opens a log:
//
//	func TestConformance(t *testing.T) {
//		logtest.Run(t, func(t *testing.T) log.Log {
//			l, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { l.Close() })
//			return l
//		})
//	}
//
// The suite asserts only what the contract in log/log.go promises. In
// particular, offsets are dense (0, 1, 2, ...) after plain Appends to a fresh
// topic, but only strictly increasing once a transactional Commit has
// written to a partition, because Kafka spends offsets on control records.
package logtest
