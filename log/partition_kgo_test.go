package log_test

import (
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

// TestPartitionForMatchesFranzGo checks PartitionFor against franz-go's
// Kafka-compatible key partitioner on random keys of every length up to 64,
// so the Kafka backend and the embedded log place keys identically.
func TestPartitionForMatchesFranzGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	part := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for i := 0; i < 2000; i++ {
		key := make([]byte, i%65)
		for j := range key {
			key[j] = byte(rng.UintN(256))
		}
		n := int32(1 + rng.IntN(64))
		want := int32(part.Partition(&kgo.Record{Key: key}, int(n)))
		if got := log.PartitionFor(key, n); got != want {
			t.Fatalf("PartitionFor(%x, %d) = %d, franz-go says %d", key, n, got, want)
		}
	}
}
