package sql

import (
	"sort"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// Custom types (CREATE TYPE name AS type) are names the catalog gives to
// types. The front end never reads the catalog: Options.Types resolves a
// name, and a type written with custom names is parsed as if each were
// spelled out. The statement remembers where it used them, so that the
// text recorded for it (StoredText) spells them out too: a query keeps
// the types it was made with after a DROP TYPE, as in ksqlDB.

// typeRef is one custom type name in a statement's text, with the type
// it stands for.
type typeRef struct {
	pos, end int // byte offsets into the parsed text
	text     string
}

// resolveType looks a custom type up; false when there is no resolver or
// no such type.
func (p *parser) resolveType(name string) (types.Type, bool) {
	root := p.root()
	if root.opts == nil || root.opts.Types == nil {
		return types.Type{}, false
	}
	return root.opts.Types(name)
}

// root is the parser of the whole statement (a cast's type is parsed by
// a parser of its own).
func (p *parser) root() *parser {
	if p.top != nil {
		return p.top
	}
	return p
}

// builtinType reports whether an unquoted word names a type of ksqlDB's
// own, which no custom type may shadow.
func builtinType(word string) bool {
	_, err := types.Parse(word)
	if err == nil {
		return true
	}
	switch strings.ToUpper(word) {
	case "ARRAY", "MAP", "STRUCT", "DECIMAL":
		return true
	}
	return false
}

// customTypePositions walks the type that starts at token i, in ksqlDB's
// grammar, appending to out the indexes of the tokens in type position
// that name custom types (a STRUCT's field names are not in type
// position), and returns the index of the token after the type. It only
// looks; the type parser judges the type.
func (p *parser) customTypePositions(i, depth int, out *[]int) int {
	toks := p.toks
	t := toks[i]
	if !t.isName() || depth > types.MaxTypeDepth {
		return i
	}
	word := ""
	if t.kind == tkIdent {
		word = strings.ToUpper(t.text)
	}
	switch word {
	case "ARRAY", "MAP":
		i++
		if !toks[i].isOp("<") {
			return i
		}
		i = p.customTypePositions(i+1, depth+1, out)
		if word == "MAP" && toks[i].isOp(",") {
			i = p.customTypePositions(i+1, depth+1, out)
		}
		if toks[i].isOp(">") {
			i++
		}
		return i
	case "STRUCT":
		i++
		if toks[i].isOp("<>") {
			return i + 1
		}
		if !toks[i].isOp("<") {
			return i
		}
		i++
		for toks[i].isName() {
			i = p.customTypePositions(i+1, depth+1, out) // after the field's name
			if !toks[i].isOp(",") {
				break
			}
			i++
		}
		if toks[i].isOp(">") {
			i++
		}
		return i
	}
	if (word == "" || !builtinType(word)) && t.kind != tkEOF {
		if _, ok := p.resolveType(t.name()); ok {
			*out = append(*out, i)
		}
	}
	i++
	if toks[i].isOp("(") {
		if end := closing(toks, i); end > 0 {
			i = end + 1
		}
	}
	return i
}

// customType parses the type at the cursor when it names custom types:
// ok is false when it names none (the caller parses it as it is).
func (p *parser) customType() (t types.Type, ok bool, err error) {
	if root := p.root(); root.opts == nil || root.opts.Types == nil {
		return types.Type{}, false, nil
	}
	var at []int
	end := p.customTypePositions(p.i, 0, &at)
	if len(at) == 0 {
		return types.Type{}, false, nil
	}
	start, stop := p.toks[p.i].pos, p.toks[end-1].end
	var b strings.Builder
	last := start
	root := p.root()
	for _, k := range at {
		tk := p.toks[k]
		ct, _ := p.resolveType(tk.name())
		b.WriteString(p.src[last:tk.pos])
		b.WriteString(ct.String())
		root.typeRefs = append(root.typeRefs, typeRef{pos: tk.pos, end: tk.end, text: ct.String()})
		last = tk.end
	}
	b.WriteString(p.src[last:stop])
	text := b.String()
	typ, n, err := types.ParsePrefix(text, types.ParseOptions{})
	if err != nil {
		return types.Type{}, true, errAt(start, "%s", err)
	}
	if strings.TrimSpace(text[n:]) != "" {
		return types.Type{}, true, errAt(start, "unexpected text after the type %s", typ)
	}
	p.i = end
	return typ, true, nil
}

// storedText is the statement's text from..to with its custom type names
// spelled out, or "" when it uses none.
func (p *parser) storedText(from, to int) string {
	refs := append([]typeRef(nil), p.root().typeRefs...)
	if len(refs) == 0 {
		return ""
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].pos < refs[j].pos })
	var b strings.Builder
	last := from
	for _, r := range refs {
		if r.pos < from || r.end > to {
			continue
		}
		b.WriteString(p.src[last:r.pos])
		b.WriteString(r.text)
		last = r.end
	}
	b.WriteString(p.src[last:to])
	return b.String()
}
