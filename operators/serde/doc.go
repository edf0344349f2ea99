// Package serde encodes and decodes record keys and values in ksqlDB's
// serialization formats, byte-compatible with ksqlDB's own serializers, so
// a topic written by ksqlDB reads correctly in Runnel and the other way
// round.
//
//	KEY_FORMAT    KAFKA (Kafka's primitive serdes), JSON, NONE
//	VALUE_FORMAT  JSON (the default), DELIMITED, KAFKA
//
// A format is bound to its column list when it is built (NewKeyFormat,
// NewValueFormat); everything that can be checked then (unknown format
// names, types a format cannot carry, bad properties) fails there, so
// Encode and Decode only fail on data. Decode never panics, whatever the
// bytes: an undecodable record yields an error wrapping ErrDecode that
// names the column and the reason, and the query layer skips, counts and
// logs the record.
//
// The package knows types.Row and bytes only: nothing of topics, tasks,
// the catalog or the wire.
package serde
