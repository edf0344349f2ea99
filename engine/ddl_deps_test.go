package engine

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
)

// TestTypesUsed: a statement's catalog command depends on the custom
// types its text names (so that a DROP TYPE on another node that reaches
// the topic first refuses it), and on no built-in type.
func TestTypesUsed(t *testing.T) {
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE TYPE ADDRESS AS STRUCT<street VARCHAR, zip INT>`)
	run(t, s, `CREATE TYPE CODE AS VARCHAR`)
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{`CREATE STREAM a (id VARCHAR KEY, home ADDRESS) WITH (kafka_topic='a', partitions=1)`, []string{"ADDRESS"}},
		{`CREATE STREAM b (id CODE KEY, home ADDRESS, work ADDRESS, n INT) WITH (kafka_topic='b', partitions=1)`, []string{"ADDRESS", "CODE"}},
		{`CREATE STREAM c (id VARCHAR KEY, n BIGINT) WITH (kafka_topic='c', partitions=1)`, []string{}},
		{`CREATE STREAM d AS SELECT id, CAST(n AS CODE) AS code FROM c EMIT CHANGES`, []string{"CODE"}},
	} {
		if got := e.typesUsed(tc.sql); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: types %v, want %v", tc.sql, got, tc.want)
		}
	}
}
