package catalog

import (
	"math"
	"strconv"
	"strings"

	"github.com/runnel/runnel/internal/sqlstate"
)

// The rules a source's topic must follow before anything is written for
// it. They live here, beside the Source they describe, so that CREATE
// STREAM|TABLE (the engine) and CREATE ... AS SELECT (the planner) check
// them one way.

// MaxTopicNameLength is Kafka's limit on a topic name, in characters.
const MaxTopicNameLength = 249

// DefaultMaxPartitions is the default bound on the partitions of one topic
// (the server setting --max-partitions). Every partition of a source costs
// a task per persistent query and a reader per push query, so the bound
// keeps one statement from asking for more than a server can hold.
const DefaultMaxPartitions = 10000

// Sentinels of the topic rules. Errors built from them carry their codes:
// a value that can never be right is 22023; a count over this server's
// limit is 54000.
var (
	ErrInvalidTopicName  = sqlstate.New(sqlstate.InvalidParameter, "invalid topic name")
	ErrInvalidPartitions = sqlstate.New(sqlstate.InvalidParameter, "invalid PARTITIONS")
	ErrTooManyPartitions = sqlstate.New(sqlstate.ProgramLimitExceeded, "too many partitions")
	ErrInvalidReplicas   = sqlstate.New(sqlstate.InvalidParameter, "invalid REPLICAS")
)

// ValidateTopicName applies Kafka's rules to a topic name: not empty, not
// "." or "..", at most 249 characters, and only ASCII letters, digits, '.',
// '_' and '-'. The messages are Kafka's, with the name shortened: a
// megabyte of name helps nobody in an error.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return ErrInvalidTopicName.Errorf("Topic name is illegal, it can't be empty")
	case name == "." || name == "..":
		return ErrInvalidTopicName.Errorf(`Topic name cannot be "." or ".."`)
	case len(name) > MaxTopicNameLength:
		return ErrInvalidTopicName.Errorf("Topic name is illegal, it can't be longer than %d characters, topic name: %s (%d characters)",
			MaxTopicNameLength, Abbreviate(name, 40), len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ErrInvalidTopicName.Errorf(`Topic name "%s" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
				Abbreviate(name, 40))
		}
	}
	return nil
}

// ParsePartitions reads a PARTITIONS value: an integer from 1 to max.
// max <= 0 means no bound but int32's.
func ParsePartitions(v string, max int32) (int32, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.HasPrefix(strings.TrimSpace(v), "-") {
			return 0, tooManyPartitions(v, max)
		}
		return 0, ErrInvalidPartitions.Errorf("Invalid value %s for property PARTITIONS: it must be an integer, the number of partitions of the topic", Abbreviate(v, 40))
	}
	if n < 1 {
		return 0, ErrInvalidPartitions.Errorf("Invalid value %d for property PARTITIONS: the number of partitions must be larger than 0", n)
	}
	if n > math.MaxInt32 || (max > 0 && n > int64(max)) {
		return 0, tooManyPartitions(v, max)
	}
	return int32(n), nil
}

// CheckPartitions refuses a partition count over max (when max > 0): a
// count inherited from an input topic, or an existing topic's.
func CheckPartitions(topic string, n, max int32) error {
	if max > 0 && n > max {
		return ErrTooManyPartitions.Errorf("topic %s has %d partitions, more than this server's limit of %d (--max-partitions)", Abbreviate(topic, 40), n, max)
	}
	return nil
}

func tooManyPartitions(v string, max int32) error {
	if max <= 0 {
		max = math.MaxInt32
	}
	return ErrTooManyPartitions.Errorf("PARTITIONS=%s is more than this server's limit of %d partitions per topic (--max-partitions)", Abbreviate(v, 40), max)
}

// ParseReplicas reads a REPLICAS value, the replication factor of a new
// topic: 1 to 32767 (Kafka's int16), or -1 for the cluster's default,
// which it returns as 0 (log.TopicConfig's "default"). Whether the log can
// keep that many copies is the engine's to check.
func ParseReplicas(v string) (int16, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n == 0 || n < -1 || n > math.MaxInt16 {
		return 0, ErrInvalidReplicas.Errorf("Invalid value %s for property REPLICAS: the replication factor must be from 1 to %d, or -1 to use the default",
			Abbreviate(v, 40), math.MaxInt16)
	}
	if n == -1 {
		return 0, nil
	}
	return int16(n), nil
}

// Abbreviate shortens s to at most n bytes of it followed by "...", at a
// character boundary, for messages that quote what a user sent.
func Abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}
