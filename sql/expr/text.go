package expr

import (
	"strconv"
	"sync"

	"github.com/runnel/runnel/sql/types"
)

// textKind tells appendText how to write a node's STRING value straight
// into a buffer: group and join keys such as
// CAST(a AS VARCHAR) + '/' + CAST(b AS VARCHAR) (Nexmark's q5) would
// otherwise build a string per CAST and per +, each copied into the next.
type textKind uint8

const (
	// The zero textKind: the node's value is computed by Eval.
	_ textKind = iota
	// textConcat: STRING + STRING (concatPlus); kids are its operands.
	textConcat
	// textCastInt: CAST of an INT or BIGINT to STRING; kids[0] is the
	// integer.
	textCastInt
)

// appendText appends e's value, a STRING, to dst. null reports a NULL
// value (dst is then to be ignored). It computes what e.Eval would, with
// the same errors in the same order, without building the strings of
// the concatenations and casts inside e. A node whose value is shared
// (share.go) is read through Eval, where its value is kept.
func appendText(dst []byte, e Expr, row types.Row) (out []byte, null bool, err error) {
	if n, ok := e.(*node); ok && n.memo.Load() == 0 {
		switch n.text {
		case textConcat:
			return appendConcat(dst, n, row)
		case textCastInt:
			v, err := n.kids[0].Eval(row)
			if err != nil || v.IsNull() {
				return dst, err == nil, err
			}
			start := len(dst)
			dst = strconv.AppendInt(dst, v.Int(), 10)
			if err := n.textCtx.checkString("CAST AS STRING", int64(len(dst)-start)); err != nil {
				return dst, false, err
			}
			return dst, false, nil
		}
	}
	v, err := e.Eval(row)
	if err != nil || v.IsNull() {
		return dst, err == nil, err
	}
	return append(dst, v.Str()...), false, nil
}

// appendConcat appends the value of n, a textConcat node: its operands
// in order, stopping at the first NULL or error, then the size check
// concatPlus makes on their sum (each nested + checks its own first, as
// evaluating it alone would).
func appendConcat(dst []byte, n *node, row types.Row) (out []byte, null bool, err error) {
	start := len(dst)
	for _, k := range n.kids {
		if dst, null, err = appendText(dst, k, row); err != nil || null {
			return dst, null, err
		}
	}
	if err := n.textCtx.checkString("+", int64(len(dst)-start)); err != nil {
		return dst, false, err
	}
	return dst, false, nil
}

// textBufs holds the buffers concatenations are written in (appendText's
// recursion would move a buffer on the stack to the heap anyway).
var textBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}

// maxPooledText bounds the buffers kept in textBufs: one long string must
// not pin its buffer for every later short one.
const maxPooledText = 64 << 10

// putTextBuf returns bp to textBufs with out, the buffer as it grew.
func putTextBuf(bp *[]byte, out []byte) {
	if cap(out) > maxPooledText {
		return
	}
	*bp = out[:0]
	textBufs.Put(bp)
}
