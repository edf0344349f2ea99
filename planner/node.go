package planner

import (
	"fmt"

	"github.com/runnel/runnel/sql/types"
)

// This file holds the planner's contracts: the Node every logical operator
// implements, and the walks and rewrites that every node supports through
// it. The nodes themselves are in nodes.go and join.go.

// Node is one logical operator of a plan: a tree whose leaves read sources
// and whose root is where the rows go (a Sink for a persistent query, a
// Result for a transient one). A Node is a value: once the planner has
// returned a plan, nothing changes a node in place — a rewrite returns a
// new node (WithChildren) and leaves the old one as it was, so a plan may
// be shared by goroutines (the engine keeps a running query's plan for
// EXPLAIN while the builder reads it).
//
// Every implementation states `var _ Node = (*X)(nil)` beside its type.
type Node interface {
	// Columns is the layout of the rows the node produces: expressions of
	// the node above it are bound over these columns by index. Key flags
	// mark the columns that make up the row's key where the node decides
	// one (a Project, a Sink). The slice is the node's; callers must not
	// modify it.
	Columns() []types.Column
	// Children are the node's inputs, in order: none for a leaf, one for
	// most, two for a Join (left, right). The slice is the node's.
	Children() []Node
	// Describe is the node's line in EXPLAIN, without indentation:
	// "[ NAME ] | detail | detail". It renders expressions, so it costs
	// time and memory linear in the node's own expressions and never in
	// its children's.
	Describe() string
	// WithChildren returns a copy of the node over new children, as many
	// as Children returned, in the same order. The copy shares everything
	// else with the node. It is how rewrites replace a subtree without
	// changing a node in place.
	WithChildren(children ...Node) (Node, error)
}

// Rule is a rewrite: given a node it returns the node to use instead and
// whether that differs from the one given. A rule looks at one node (and
// may look below it); Transform applies it over a whole tree. A rule
// never changes the node it is given.
type Rule func(n Node) (Node, bool, error)

// Transform applies rule to every node of the tree under n, children
// first, and returns the new tree and whether anything changed. Nodes
// whose subtree did not change are returned as they were, so an unchanged
// tree costs no copies.
func Transform(n Node, rule Rule) (Node, bool, error) {
	kids := n.Children()
	var newKids []Node
	for i, k := range kids {
		nk, changed, err := Transform(k, rule)
		if err != nil {
			return nil, false, err
		}
		if changed && newKids == nil {
			newKids = append([]Node(nil), kids...)
		}
		if newKids != nil {
			newKids[i] = nk
		}
	}
	changed := newKids != nil
	if changed {
		var err error
		if n, err = n.WithChildren(newKids...); err != nil {
			return nil, false, err
		}
	}
	out, ruled, err := rule(n)
	if err != nil {
		return nil, false, err
	}
	return out, changed || ruled, nil
}

// Walk calls fn for n and then, while fn returns true, for each of its
// children depth first, left to right.
func Walk(n Node, fn func(Node) bool) {
	if !fn(n) {
		return
	}
	for _, k := range n.Children() {
		Walk(k, fn)
	}
}

// Find returns the first node of type T in the tree under n, depth first,
// or the zero T (nil) when there is none.
func Find[T Node](n Node) T {
	var found T
	ok := false
	Walk(n, func(x Node) bool {
		if ok {
			return false
		}
		if t, is := x.(T); is {
			found, ok = t, true
			return false
		}
		return true
	})
	return found
}

// wantChildren checks the count WithChildren was given.
func wantChildren(n Node, children []Node, want int) error {
	if len(children) != want {
		return fmt.Errorf("planner: %T takes %d children, not %d", n, want, len(children))
	}
	return nil
}
