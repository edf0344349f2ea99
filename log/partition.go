package log

// Murmur2 is Kafka's 32-bit murmur2 hash (Java's Utils.murmur2), bit for bit:
// seed 0x9747b28c, m = 0x5bd1e995, r = 24, the tail mixed in the same order
// and the same final avalanche. Runnel partitions keys with it so that a key
// lands in the same partition whether Runnel or any Kafka producer wrote it.
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	// Java's int arithmetic wraps like uint32; >>> is a logical shift, which
	// is what >> does on an unsigned value.
	h := seed ^ uint32(length)
	n4 := length / 4
	for i := 0; i < n4; i++ {
		i4 := i * 4
		k := uint32(data[i4]) | uint32(data[i4+1])<<8 | uint32(data[i4+2])<<16 | uint32(data[i4+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := length &^ 3
	switch length % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// PartitionFor is Kafka's default partitioner for a non-nil key:
// toPositive(murmur2(key)) % numPartitions. numPartitions must be at least 1.
func PartitionFor(key []byte, numPartitions int32) int32 {
	return (Murmur2(key) & 0x7fffffff) % numPartitions
}
