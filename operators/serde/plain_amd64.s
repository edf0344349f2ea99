#include "textflag.h"

// func plainRun16(b []byte, i int) int
//
// Sixteen bytes at a time with SSE2 (every amd64 has it): a byte is not
// plain when it equals '"' or '\\', or is below 0x20 as a signed byte,
// which a control character is and a non-ASCII byte (0x80 and up,
// negative) too. Returns the index of the first byte not plain, or the i
// at which fewer than 16 bytes are left.
TEXT ·plainRun16(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), DX
	MOVQ i+24(FP), AX
	MOVQ $0x2222222222222222, BX
	MOVQ BX, X3
	PUNPCKLQDQ X3, X3
	MOVQ $0x5c5c5c5c5c5c5c5c, BX
	MOVQ BX, X4
	PUNPCKLQDQ X4, X4
	MOVQ $0x2020202020202020, BX
	MOVQ BX, X5
	PUNPCKLQDQ X5, X5
	SUBQ $16, DX // the last i with 16 bytes from it (negative: none)

loop:
	CMPQ AX, DX
	JGT  done
	MOVOU (SI)(AX*1), X0
	MOVO  X0, X1
	PCMPEQB X3, X1 // '"'
	MOVO  X0, X2
	PCMPEQB X4, X2 // '\\'
	POR   X2, X1
	MOVO  X5, X2
	PCMPGTB X0, X2 // 0x20 > the byte, signed
	POR   X2, X1
	PMOVMSKB X1, BX
	TESTL BX, BX
	JNZ   found
	ADDQ  $16, AX
	JMP   loop

found:
	BSFL BX, BX
	ADDQ BX, AX

done:
	MOVQ AX, ret+32(FP)
	RET
