package catalog

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/sql/types"
)

// TestTypesPersist: custom types are catalog commands, replayed at open;
// a dropped type stays dropped.
func TestTypesPersist(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() (*Catalog, func()) {
		l, err := embedded.Open(embedded.Options{Dir: dir, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Open(ctx, l, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, func() { l.Close() }
	}
	addr := types.Struct(types.Field{Name: "NUMBER", Type: types.Int}, types.Field{Name: "TAGS", Type: types.Array(types.String)})
	c, done := open()
	for _, ta := range []*TypeAlias{{Name: "ADDRESS", Type: addr}, {Name: "ID", Type: types.Bigint}, {Name: "Old", Type: types.Double}} {
		if err := c.PutType(ctx, ta); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DropType(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	if err := c.DropType(ctx, "NOPE"); sqlstate.Of(err) != sqlstate.UndefinedObject {
		t.Errorf("dropping an unknown type: %v", err)
	}
	done()

	c, done = open()
	defer done()
	got := c.Types()
	if len(got) != 2 || got[0].Name != "ADDRESS" || !got[0].Type.Equal(addr) || got[1].Name != "ID" || !got[1].Type.Equal(types.Bigint) {
		t.Fatalf("types after reopening: %+v", got)
	}
	if _, ok := c.Type("Old"); ok {
		t.Error("a dropped type came back")
	}
}
