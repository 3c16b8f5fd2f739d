//go:build !purego

// AES-128 with AES-NI and VAES for package pseudo. The prefix-preserving
// mappers know all AES inputs of an address up front; an AES round has a
// latency of about four cycles but a throughput of one or two per cycle, so
// keeping 8 xmm (AES-NI) or 8 ymm = 16 blocks (VAES) in flight hides the
// latency that a one-block-per-call API cannot.
//
//	encryptBlocks*   n independent blocks, memory to memory
//	cpBits*          the Crypto-PAn bit function for a run of positions,
//	                 inputs built in registers, output bits returned
//	prf2Bits*        the ipcrypt-pfx bit function for blocks in memory
//	pfxBits*         the same for a run of positions, inputs built in
//	                 registers
//	kiasu*           one KIASU-BC block (ipcrypt-nd), tweak in registers
//	decryptBlock*    one AES decryption
//
// Register use: data in X0-X7 / Y0-Y7, the current round key in X8/Y8 (and
// X9/Y9 for the second key of ipcrypt-pfx). Round keys are read from memory
// once per round per group; VBROADCASTI128 copies one into both lanes.
// Output bits are collected with (V)PMOVMSKB, which gathers the top bit of
// every byte.

#include "textflag.h"

// One AES round (or the last) with key register k on 8, 4, 2 or 1 data
// registers.
#define ENC8(k) AESENC k, X0; AESENC k, X1; AESENC k, X2; AESENC k, X3; AESENC k, X4; AESENC k, X5; AESENC k, X6; AESENC k, X7
#define ENC4(k) AESENC k, X0; AESENC k, X1; AESENC k, X2; AESENC k, X3
#define ENC1(k) AESENC k, X0
#define LAST8(k) AESENCLAST k, X0; AESENCLAST k, X1; AESENCLAST k, X2; AESENCLAST k, X3; AESENCLAST k, X4; AESENCLAST k, X5; AESENCLAST k, X6; AESENCLAST k, X7
#define LAST4(k) AESENCLAST k, X0; AESENCLAST k, X1; AESENCLAST k, X2; AESENCLAST k, X3
#define LAST1(k) AESENCLAST k, X0
#define VENC8(k) VAESENC k, Y0, Y0; VAESENC k, Y1, Y1; VAESENC k, Y2, Y2; VAESENC k, Y3, Y3; VAESENC k, Y4, Y4; VAESENC k, Y5, Y5; VAESENC k, Y6, Y6; VAESENC k, Y7, Y7
#define VENC4(k) VAESENC k, Y0, Y0; VAESENC k, Y1, Y1; VAESENC k, Y2, Y2; VAESENC k, Y3, Y3
#define VENC2(k) VAESENC k, Y0, Y0; VAESENC k, Y1, Y1
#define VENC1(k) VAESENC k, Y0, Y0
#define VLAST8(k) VAESENCLAST k, Y0, Y0; VAESENCLAST k, Y1, Y1; VAESENCLAST k, Y2, Y2; VAESENCLAST k, Y3, Y3; VAESENCLAST k, Y4, Y4; VAESENCLAST k, Y5, Y5; VAESENCLAST k, Y6, Y6; VAESENCLAST k, Y7, Y7
#define VLAST4(k) VAESENCLAST k, Y0, Y0; VAESENCLAST k, Y1, Y1; VAESENCLAST k, Y2, Y2; VAESENCLAST k, Y3, Y3
#define VLAST2(k) VAESENCLAST k, Y0, Y0; VAESENCLAST k, Y1, Y1
#define VLAST1(k) VAESENCLAST k, Y0, Y0
// The same with two keys for ipcrypt-pfx: X8/Y8 on registers 0-3, X9/Y9 on 4-7.
#define ENC2_4 AESENC X8, X0; AESENC X8, X1; AESENC X8, X2; AESENC X8, X3; AESENC X9, X4; AESENC X9, X5; AESENC X9, X6; AESENC X9, X7
#define LAST2_4 AESENCLAST X8, X0; AESENCLAST X8, X1; AESENCLAST X8, X2; AESENCLAST X8, X3; AESENCLAST X9, X4; AESENCLAST X9, X5; AESENCLAST X9, X6; AESENCLAST X9, X7
#define VENC2_4 VAESENC Y8, Y0, Y0; VAESENC Y8, Y1, Y1; VAESENC Y8, Y2, Y2; VAESENC Y8, Y3, Y3; VAESENC Y9, Y4, Y4; VAESENC Y9, Y5, Y5; VAESENC Y9, Y6, Y6; VAESENC Y9, Y7, Y7
#define VLAST2_4 VAESENCLAST Y8, Y0, Y0; VAESENCLAST Y8, Y1, Y1; VAESENCLAST Y8, Y2, Y2; VAESENCLAST Y8, Y3, Y3; VAESENCLAST Y9, Y4, Y4; VAESENCLAST Y9, Y5, Y5; VAESENCLAST Y9, Y6, Y6; VAESENCLAST Y9, Y7, Y7

// Rounds 1 to 10 of the schedule at register rk on n data registers, the
// whitening with round key 0 already done.
#define ROUNDS8(rk) \
	MOVOU 16(rk), X8; ENC8(X8) \
	MOVOU 32(rk), X8; ENC8(X8) \
	MOVOU 48(rk), X8; ENC8(X8) \
	MOVOU 64(rk), X8; ENC8(X8) \
	MOVOU 80(rk), X8; ENC8(X8) \
	MOVOU 96(rk), X8; ENC8(X8) \
	MOVOU 112(rk), X8; ENC8(X8) \
	MOVOU 128(rk), X8; ENC8(X8) \
	MOVOU 144(rk), X8; ENC8(X8) \
	MOVOU 160(rk), X8; LAST8(X8)
#define ROUNDS4(rk) \
	MOVOU 16(rk), X8; ENC4(X8) \
	MOVOU 32(rk), X8; ENC4(X8) \
	MOVOU 48(rk), X8; ENC4(X8) \
	MOVOU 64(rk), X8; ENC4(X8) \
	MOVOU 80(rk), X8; ENC4(X8) \
	MOVOU 96(rk), X8; ENC4(X8) \
	MOVOU 112(rk), X8; ENC4(X8) \
	MOVOU 128(rk), X8; ENC4(X8) \
	MOVOU 144(rk), X8; ENC4(X8) \
	MOVOU 160(rk), X8; LAST4(X8)
#define ROUNDS1(rk) \
	MOVOU 16(rk), X8; ENC1(X8) \
	MOVOU 32(rk), X8; ENC1(X8) \
	MOVOU 48(rk), X8; ENC1(X8) \
	MOVOU 64(rk), X8; ENC1(X8) \
	MOVOU 80(rk), X8; ENC1(X8) \
	MOVOU 96(rk), X8; ENC1(X8) \
	MOVOU 112(rk), X8; ENC1(X8) \
	MOVOU 128(rk), X8; ENC1(X8) \
	MOVOU 144(rk), X8; ENC1(X8) \
	MOVOU 160(rk), X8; LAST1(X8)
#define VROUNDS8(rk) \
	VBROADCASTI128 16(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 32(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 48(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 64(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 80(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 96(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 112(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 128(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 144(rk), Y8; VENC8(Y8) \
	VBROADCASTI128 160(rk), Y8; VLAST8(Y8)
#define VROUNDS4(rk) \
	VBROADCASTI128 16(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 32(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 48(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 64(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 80(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 96(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 112(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 128(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 144(rk), Y8; VENC4(Y8) \
	VBROADCASTI128 160(rk), Y8; VLAST4(Y8)
#define VROUNDS2(rk) \
	VBROADCASTI128 16(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 32(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 48(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 64(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 80(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 96(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 112(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 128(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 144(rk), Y8; VENC2(Y8) \
	VBROADCASTI128 160(rk), Y8; VLAST2(Y8)
#define VROUNDS1(rk) \
	VBROADCASTI128 16(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 32(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 48(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 64(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 80(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 96(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 112(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 128(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 144(rk), Y8; VENC1(Y8) \
	VBROADCASTI128 160(rk), Y8; VLAST1(Y8)
// Rounds 1 to 10 of two schedules, at AX and BX, on registers 0-3 and 4-7.
#define ROUNDS2_4 \
	MOVOU 16(AX), X8; MOVOU 16(BX), X9; ENC2_4 \
	MOVOU 32(AX), X8; MOVOU 32(BX), X9; ENC2_4 \
	MOVOU 48(AX), X8; MOVOU 48(BX), X9; ENC2_4 \
	MOVOU 64(AX), X8; MOVOU 64(BX), X9; ENC2_4 \
	MOVOU 80(AX), X8; MOVOU 80(BX), X9; ENC2_4 \
	MOVOU 96(AX), X8; MOVOU 96(BX), X9; ENC2_4 \
	MOVOU 112(AX), X8; MOVOU 112(BX), X9; ENC2_4 \
	MOVOU 128(AX), X8; MOVOU 128(BX), X9; ENC2_4 \
	MOVOU 144(AX), X8; MOVOU 144(BX), X9; ENC2_4 \
	MOVOU 160(AX), X8; MOVOU 160(BX), X9; LAST2_4
#define VROUNDS2_4 \
	VBROADCASTI128 16(AX), Y8; VBROADCASTI128 16(BX), Y9; VENC2_4 \
	VBROADCASTI128 32(AX), Y8; VBROADCASTI128 32(BX), Y9; VENC2_4 \
	VBROADCASTI128 48(AX), Y8; VBROADCASTI128 48(BX), Y9; VENC2_4 \
	VBROADCASTI128 64(AX), Y8; VBROADCASTI128 64(BX), Y9; VENC2_4 \
	VBROADCASTI128 80(AX), Y8; VBROADCASTI128 80(BX), Y9; VENC2_4 \
	VBROADCASTI128 96(AX), Y8; VBROADCASTI128 96(BX), Y9; VENC2_4 \
	VBROADCASTI128 112(AX), Y8; VBROADCASTI128 112(BX), Y9; VENC2_4 \
	VBROADCASTI128 128(AX), Y8; VBROADCASTI128 128(BX), Y9; VENC2_4 \
	VBROADCASTI128 144(AX), Y8; VBROADCASTI128 144(BX), Y9; VENC2_4 \
	VBROADCASTI128 160(AX), Y8; VBROADCASTI128 160(BX), Y9; VLAST2_4

// Load n blocks from SI, XOR round key 0 (at AX) into them.
#define LOAD8 MOVOU 0(AX), X8; MOVOU 0(SI), X0; MOVOU 16(SI), X1; MOVOU 32(SI), X2; MOVOU 48(SI), X3; MOVOU 64(SI), X4; MOVOU 80(SI), X5; MOVOU 96(SI), X6; MOVOU 112(SI), X7; PXOR X8, X0; PXOR X8, X1; PXOR X8, X2; PXOR X8, X3; PXOR X8, X4; PXOR X8, X5; PXOR X8, X6; PXOR X8, X7
#define STORE8 MOVOU X0, 0(DI); MOVOU X1, 16(DI); MOVOU X2, 32(DI); MOVOU X3, 48(DI); MOVOU X4, 64(DI); MOVOU X5, 80(DI); MOVOU X6, 96(DI); MOVOU X7, 112(DI)
#define LOAD4 MOVOU 0(AX), X8; MOVOU 0(SI), X0; MOVOU 16(SI), X1; MOVOU 32(SI), X2; MOVOU 48(SI), X3; PXOR X8, X0; PXOR X8, X1; PXOR X8, X2; PXOR X8, X3
#define STORE4 MOVOU X0, 0(DI); MOVOU X1, 16(DI); MOVOU X2, 32(DI); MOVOU X3, 48(DI)
#define LOAD1 MOVOU 0(AX), X8; MOVOU 0(SI), X0; PXOR X8, X0
#define STORE1 MOVOU X0, 0(DI)
#define VLOAD8 VBROADCASTI128 0(AX), Y8; VPXOR 0(SI), Y8, Y0; VPXOR 32(SI), Y8, Y1; VPXOR 64(SI), Y8, Y2; VPXOR 96(SI), Y8, Y3; VPXOR 128(SI), Y8, Y4; VPXOR 160(SI), Y8, Y5; VPXOR 192(SI), Y8, Y6; VPXOR 224(SI), Y8, Y7
#define VSTORE8 VMOVDQU Y0, 0(DI); VMOVDQU Y1, 32(DI); VMOVDQU Y2, 64(DI); VMOVDQU Y3, 96(DI); VMOVDQU Y4, 128(DI); VMOVDQU Y5, 160(DI); VMOVDQU Y6, 192(DI); VMOVDQU Y7, 224(DI)
#define VLOAD4 VBROADCASTI128 0(AX), Y8; VPXOR 0(SI), Y8, Y0; VPXOR 32(SI), Y8, Y1; VPXOR 64(SI), Y8, Y2; VPXOR 96(SI), Y8, Y3
#define VSTORE4 VMOVDQU Y0, 0(DI); VMOVDQU Y1, 32(DI); VMOVDQU Y2, 64(DI); VMOVDQU Y3, 96(DI)
#define VLOAD2 VBROADCASTI128 0(AX), Y8; VPXOR 0(SI), Y8, Y0; VPXOR 32(SI), Y8, Y1
#define VSTORE2 VMOVDQU Y0, 0(DI); VMOVDQU Y1, 32(DI)
#define VLOAD1 VBROADCASTI128 0(AX), Y8; VPXOR 0(SI), Y8, Y0
#define VSTORE1 VMOVDQU Y0, 0(DI)

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func encryptBlocksAESNI(rk *schedule, dst *byte, src *byte, n int)
//
// Encrypts n blocks from src to dst (which may be equal): 8 at a time, then
// 4, then one by one.
TEXT ·encryptBlocksAESNI(SB), NOSPLIT, $0-32
	MOVQ rk+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX

eight:
	CMPQ CX, $8
	JB   four
	LOAD8
	ROUNDS8(AX)
	STORE8
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $8, CX
	JMP  eight

four:
	CMPQ CX, $4
	JB   one
	LOAD4
	ROUNDS4(AX)
	STORE4
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $4, CX

one:
	TESTQ CX, CX
	JZ    done
	LOAD1
	ROUNDS1(AX)
	STORE1
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JMP  one

done:
	RET

// func encryptBlocksVAES(rk *schedule, dst *byte, src *byte, n int)
//
// Same contract as encryptBlocksAESNI: 16 blocks at a time, then 8, 4, 2,
// and a last single block with the SSE instructions.
TEXT ·encryptBlocksVAES(SB), NOSPLIT, $0-32
	MOVQ rk+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX

sixteen:
	CMPQ CX, $16
	JB   eight
	VLOAD8
	VROUNDS8(AX)
	VSTORE8
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $16, CX
	JMP  sixteen

eight:
	CMPQ CX, $8
	JB   four
	VLOAD4
	VROUNDS4(AX)
	VSTORE4
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $8, CX

four:
	CMPQ CX, $4
	JB   two
	VLOAD2
	VROUNDS2(AX)
	VSTORE2
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $4, CX

two:
	CMPQ CX, $2
	JB   last
	VLOAD1
	VROUNDS1(AX)
	VSTORE1
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $2, CX

last:
	VZEROUPPER
	TESTQ CX, CX
	JZ    done
	LOAD1
	ROUNDS1(AX)
	STORE1

done:
	RET

// func decryptBlockAESNI(dk *schedule, dst *byte, src *byte)
//
// Decrypts one block with equivalent-inverse-cipher round keys (see
// invertSchedule in aes.go).
TEXT ·decryptBlockAESNI(SB), NOSPLIT, $0-24
	MOVQ  dk+0(FP), AX
	MOVQ  dst+8(FP), DI
	MOVQ  src+16(FP), SI
	MOVOU 0(SI), X0
	MOVOU 0(AX), X8
	PXOR  X8, X0
	MOVOU 16(AX), X8
	AESDEC X8, X0
	MOVOU 32(AX), X8
	AESDEC X8, X0
	MOVOU 48(AX), X8
	AESDEC X8, X0
	MOVOU 64(AX), X8
	AESDEC X8, X0
	MOVOU 80(AX), X8
	AESDEC X8, X0
	MOVOU 96(AX), X8
	AESDEC X8, X0
	MOVOU 112(AX), X8
	AESDEC X8, X0
	MOVOU 128(AX), X8
	AESDEC X8, X0
	MOVOU 144(AX), X8
	AESDEC X8, X0
	MOVOU 160(AX), X8
	AESDECLAST X8, X0
	MOVOU X0, 0(DI)
	RET

// func cpBitsAESNI(rk *schedule, xhi uint64, xlo uint64, prk0 *[16]byte, masks *[16]byte, n int) (bits uint64)
//
// The Crypto-PAn kernel. Block j (j < n, n <= 64) is pad ^ (x & masks[j])
// where x = address ^ pad and masks[j] keeps the first from+j bits: the
// first from+j address bits followed by the pad. The caller passes
// prk0 = pad ^ round key 0, which folds the whitening into building the
// block, and x with each 64-bit half byte-swapped so that MOVQ yields the
// big-endian block layout. Bit j of the result is the most significant
// bit of AES(block j). Groups of 8 run past n; masks must hold
// n rounded up to 8 entries and the extra bits are garbage.
TEXT ·cpBitsAESNI(SB), NOSPLIT, $0-56
	MOVQ rk+0(FP), AX
	MOVQ xhi+8(FP), X15
	MOVQ xlo+16(FP), X13
	PUNPCKLQDQ X13, X15
	MOVQ prk0+24(FP), BX
	MOVOU (BX), X14
	MOVQ masks+32(FP), SI
	MOVQ n+40(FP), R9
	XORQ DI, DI
	XORQ CX, CX

group:
	MOVOU 0(SI), X0
	PAND X15, X0
	PXOR X14, X0
	MOVOU 16(SI), X1
	PAND X15, X1
	PXOR X14, X1
	MOVOU 32(SI), X2
	PAND X15, X2
	PXOR X14, X2
	MOVOU 48(SI), X3
	PAND X15, X3
	PXOR X14, X3
	MOVOU 64(SI), X4
	PAND X15, X4
	PXOR X14, X4
	MOVOU 80(SI), X5
	PAND X15, X5
	PXOR X14, X5
	MOVOU 96(SI), X6
	PAND X15, X6
	PXOR X14, X6
	MOVOU 112(SI), X7
	PAND X15, X7
	PXOR X14, X7
	ROUNDS8(AX)
	XORL R10, R10
	PMOVMSKB X0, BX
	ANDL $1, BX
	ORL BX, R10
	PMOVMSKB X1, BX
	ANDL $1, BX
	SHLL $1, BX
	ORL BX, R10
	PMOVMSKB X2, BX
	ANDL $1, BX
	SHLL $2, BX
	ORL BX, R10
	PMOVMSKB X3, BX
	ANDL $1, BX
	SHLL $3, BX
	ORL BX, R10
	PMOVMSKB X4, BX
	ANDL $1, BX
	SHLL $4, BX
	ORL BX, R10
	PMOVMSKB X5, BX
	ANDL $1, BX
	SHLL $5, BX
	ORL BX, R10
	PMOVMSKB X6, BX
	ANDL $1, BX
	SHLL $6, BX
	ORL BX, R10
	PMOVMSKB X7, BX
	ANDL $1, BX
	SHLL $7, BX
	ORL BX, R10
	SHLQ CX, R10
	ORQ  R10, DI
	ADDQ $8, CX
	ADDQ $128, SI
	SUBQ $8, R9
	JGT  group
	MOVQ DI, bits+48(FP)
	RET

// func cpBitsVAES(rk *schedule, xhi uint64, xlo uint64, prk0 *[16]byte, masks *[16]byte, n int) (bits uint64)
//
// Same contract as cpBitsAESNI with groups of 16 blocks in 8 ymm
// registers; masks must hold n rounded up to 16 entries.
TEXT ·cpBitsVAES(SB), NOSPLIT, $0-56
	MOVQ rk+0(FP), AX
	MOVQ xhi+8(FP), X15
	MOVQ xlo+16(FP), X13
	VPUNPCKLQDQ X13, X15, X15
	VINSERTI128 $1, X15, Y15, Y15
	MOVQ prk0+24(FP), BX
	VBROADCASTI128 (BX), Y14
	MOVQ masks+32(FP), SI
	MOVQ n+40(FP), R9
	XORQ DI, DI
	XORQ CX, CX

group:
	VPAND 0(SI), Y15, Y0
	VPXOR Y14, Y0, Y0
	VPAND 32(SI), Y15, Y1
	VPXOR Y14, Y1, Y1
	VPAND 64(SI), Y15, Y2
	VPXOR Y14, Y2, Y2
	VPAND 96(SI), Y15, Y3
	VPXOR Y14, Y3, Y3
	VPAND 128(SI), Y15, Y4
	VPXOR Y14, Y4, Y4
	VPAND 160(SI), Y15, Y5
	VPXOR Y14, Y5, Y5
	VPAND 192(SI), Y15, Y6
	VPXOR Y14, Y6, Y6
	VPAND 224(SI), Y15, Y7
	VPXOR Y14, Y7, Y7
	VROUNDS8(AX)
	XORL R10, R10
	// Block 2k is in the low lane of Yk (its byte 0 gives mask bit 0),
	// block 2k+1 in the high lane (bit 16).
	VPMOVMSKB Y0, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	ORL BX, R10
	VPMOVMSKB Y1, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	SHLL $2, BX
	ORL BX, R10
	VPMOVMSKB Y2, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	SHLL $4, BX
	ORL BX, R10
	VPMOVMSKB Y3, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	SHLL $6, BX
	ORL BX, R10
	VPMOVMSKB Y4, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	SHLL $8, BX
	ORL BX, R10
	VPMOVMSKB Y5, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	SHLL $10, BX
	ORL BX, R10
	VPMOVMSKB Y6, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	SHLL $12, BX
	ORL BX, R10
	VPMOVMSKB Y7, BX
	MOVL BX, DX
	ANDL $1, BX
	SHRL $15, DX
	ANDL $2, DX
	ORL DX, BX
	SHLL $14, BX
	ORL BX, R10
	SHLQ CX, R10
	ORQ  R10, DI
	ADDQ $16, CX
	ADDQ $256, SI
	SUBQ $16, R9
	JGT  group
	VZEROUPPER
	MOVQ DI, bits+48(FP)
	RET

// func prf2BitsAESNI(rk1 *schedule, rk2 *schedule, src *byte, n int) (bits uint64)
//
// The ipcrypt-pfx kernel: bit j (j < n, n <= 64) of the result is the least
// significant bit of AES_rk1(block j) xor AES_rk2(block j). Groups of 4
// blocks run past n: src must hold n rounded up to 4 blocks.
TEXT ·prf2BitsAESNI(SB), NOSPLIT, $0-40
	MOVQ rk1+0(FP), AX
	MOVQ rk2+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), R9
	XORQ DI, DI
	XORQ CX, CX

group:
	MOVOU 0(AX), X8
	MOVOU 0(BX), X9
	MOVOU 0(SI), X0
	MOVOU X0, X4
	PXOR X8, X0
	PXOR X9, X4
	MOVOU 16(SI), X1
	MOVOU X1, X5
	PXOR X8, X1
	PXOR X9, X5
	MOVOU 32(SI), X2
	MOVOU X2, X6
	PXOR X8, X2
	PXOR X9, X6
	MOVOU 48(SI), X3
	MOVOU X3, X7
	PXOR X8, X3
	PXOR X9, X7
	ROUNDS2_4
	XORL R10, R10
	PXOR X4, X0
	PSLLW $7, X0
	PMOVMSKB X0, DX
	SHRL $15, DX
	ORL DX, R10
	PXOR X5, X1
	PSLLW $7, X1
	PMOVMSKB X1, DX
	SHRL $15, DX
	SHLL $1, DX
	ORL DX, R10
	PXOR X6, X2
	PSLLW $7, X2
	PMOVMSKB X2, DX
	SHRL $15, DX
	SHLL $2, DX
	ORL DX, R10
	PXOR X7, X3
	PSLLW $7, X3
	PMOVMSKB X3, DX
	SHRL $15, DX
	SHLL $3, DX
	ORL DX, R10
	SHLQ CX, R10
	ORQ  R10, DI
	ADDQ $4, CX
	ADDQ $64, SI
	SUBQ $4, R9
	JGT  group
	MOVQ DI, bits+32(FP)
	RET

// func prf2BitsVAES(rk1 *schedule, rk2 *schedule, src *byte, n int) (bits uint64)
//
// Same contract as prf2BitsAESNI with groups of 8 blocks (4 ymm per key):
// src must hold n rounded up to 8 blocks.
TEXT ·prf2BitsVAES(SB), NOSPLIT, $0-40
	MOVQ rk1+0(FP), AX
	MOVQ rk2+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), R9
	XORQ DI, DI
	XORQ CX, CX

group:
	VBROADCASTI128 0(AX), Y8
	VBROADCASTI128 0(BX), Y9
	VMOVDQU 0(SI), Y4
	VPXOR Y4, Y8, Y0
	VPXOR Y4, Y9, Y4
	VMOVDQU 32(SI), Y5
	VPXOR Y5, Y8, Y1
	VPXOR Y5, Y9, Y5
	VMOVDQU 64(SI), Y6
	VPXOR Y6, Y8, Y2
	VPXOR Y6, Y9, Y6
	VMOVDQU 96(SI), Y7
	VPXOR Y7, Y8, Y3
	VPXOR Y7, Y9, Y7
	VROUNDS2_4
	XORL R10, R10
	VPXOR Y4, Y0, Y0
	VPSLLW $7, Y0, Y0
	VPMOVMSKB Y0, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	ORL DX, R10
	VPXOR Y5, Y1, Y1
	VPSLLW $7, Y1, Y1
	VPMOVMSKB Y1, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	SHLL $2, DX
	ORL DX, R10
	VPXOR Y6, Y2, Y2
	VPSLLW $7, Y2, Y2
	VPMOVMSKB Y2, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	SHLL $4, DX
	ORL DX, R10
	VPXOR Y7, Y3, Y3
	VPSLLW $7, Y3, Y3
	VPMOVMSKB Y3, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	SHLL $6, DX
	ORL DX, R10
	SHLQ CX, R10
	ORQ  R10, DI
	ADDQ $8, CX
	ADDQ $128, SI
	SUBQ $8, R9
	JGT  group
	VZEROUPPER
	MOVQ DI, bits+32(FP)
	RET

// Constants of the ipcrypt-pfx kernels. pfxRev reverses the 16 bytes of
// each lane: a 128-bit value held as two native uint64 (low word first)
// becomes its big-endian encoding. pfxRight and pfxLeft hold the per-qword
// shift counts that turn the padded prefix V of a group's last position into
// the blocks of the positions before it: block 2k (low lane of ymm k) is
// V >> (7-2k), block 2k+1 (high lane) is V >> (6-2k).
DATA pfxRev<>+0(SB)/8, $0x08090a0b0c0d0e0f
DATA pfxRev<>+8(SB)/8, $0x0001020304050607
DATA pfxRev<>+16(SB)/8, $0x08090a0b0c0d0e0f
DATA pfxRev<>+24(SB)/8, $0x0001020304050607
GLOBL pfxRev<>(SB), RODATA|NOPTR, $32

DATA pfxRight<>+0(SB)/8, $7
DATA pfxRight<>+8(SB)/8, $7
DATA pfxRight<>+16(SB)/8, $6
DATA pfxRight<>+24(SB)/8, $6
DATA pfxRight<>+32(SB)/8, $5
DATA pfxRight<>+40(SB)/8, $5
DATA pfxRight<>+48(SB)/8, $4
DATA pfxRight<>+56(SB)/8, $4
DATA pfxRight<>+64(SB)/8, $3
DATA pfxRight<>+72(SB)/8, $3
DATA pfxRight<>+80(SB)/8, $2
DATA pfxRight<>+88(SB)/8, $2
DATA pfxRight<>+96(SB)/8, $1
DATA pfxRight<>+104(SB)/8, $1
DATA pfxRight<>+112(SB)/8, $0
DATA pfxRight<>+120(SB)/8, $0
GLOBL pfxRight<>(SB), RODATA|NOPTR, $128

DATA pfxLeft<>+0(SB)/8, $57
DATA pfxLeft<>+8(SB)/8, $0
DATA pfxLeft<>+16(SB)/8, $58
DATA pfxLeft<>+24(SB)/8, $0
DATA pfxLeft<>+32(SB)/8, $59
DATA pfxLeft<>+40(SB)/8, $0
DATA pfxLeft<>+48(SB)/8, $60
DATA pfxLeft<>+56(SB)/8, $0
DATA pfxLeft<>+64(SB)/8, $61
DATA pfxLeft<>+72(SB)/8, $0
DATA pfxLeft<>+80(SB)/8, $62
DATA pfxLeft<>+88(SB)/8, $0
DATA pfxLeft<>+96(SB)/8, $63
DATA pfxLeft<>+104(SB)/8, $0
DATA pfxLeft<>+112(SB)/8, $64
DATA pfxLeft<>+120(SB)/8, $0
GLOBL pfxLeft<>(SB), RODATA|NOPTR, $128

// func pfxBitsVAES(rk1 *schedule, rk2 *schedule, vs *[2]uint64, groups int) (bits uint64)
//
// The ipcrypt-pfx kernel. For each group g, vs[g] = {lo, hi} is the padded
// prefix V of the group's last position; the 8 blocks of the group are the
// padded prefixes of that position and the 7 before it, V >> 7 to V >> 0.
// They are built in registers: a 128-bit shift by r < 64 is a per-qword
// right shift by r ORed with the high qword moved down and shifted left by
// 64-r. Bit 8g+k of the result is the least significant bit of
// AES_rk1(V >> (7-k)) xor AES_rk2(V >> (7-k)).
TEXT ·pfxBitsVAES(SB), NOSPLIT, $0-40
	MOVQ rk1+0(FP), AX
	MOVQ rk2+8(FP), BX
	MOVQ vs+16(FP), SI
	MOVQ groups+24(FP), R9
	XORQ DI, DI
	XORQ CX, CX
	VMOVDQU pfxRev<>(SB), Y13

group:
	VBROADCASTI128 (SI), Y12
	VPSRLDQ $8, Y12, Y11
	VPSRLVQ pfxRight<>+0(SB), Y12, Y4
	VPSLLVQ pfxLeft<>+0(SB), Y11, Y0
	VPOR Y0, Y4, Y4
	VPSHUFB Y13, Y4, Y4
	VPSRLVQ pfxRight<>+32(SB), Y12, Y5
	VPSLLVQ pfxLeft<>+32(SB), Y11, Y1
	VPOR Y1, Y5, Y5
	VPSHUFB Y13, Y5, Y5
	VPSRLVQ pfxRight<>+64(SB), Y12, Y6
	VPSLLVQ pfxLeft<>+64(SB), Y11, Y2
	VPOR Y2, Y6, Y6
	VPSHUFB Y13, Y6, Y6
	VPSRLVQ pfxRight<>+96(SB), Y12, Y7
	VPSLLVQ pfxLeft<>+96(SB), Y11, Y3
	VPOR Y3, Y7, Y7
	VPSHUFB Y13, Y7, Y7
	VBROADCASTI128 0(AX), Y8
	VBROADCASTI128 0(BX), Y9
	VPXOR Y4, Y8, Y0
	VPXOR Y4, Y9, Y4
	VPXOR Y5, Y8, Y1
	VPXOR Y5, Y9, Y5
	VPXOR Y6, Y8, Y2
	VPXOR Y6, Y9, Y6
	VPXOR Y7, Y8, Y3
	VPXOR Y7, Y9, Y7
	VROUNDS2_4
	XORL R10, R10
	VPXOR Y4, Y0, Y0
	VPSLLW $7, Y0, Y0
	VPMOVMSKB Y0, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	ORL DX, R10
	VPXOR Y5, Y1, Y1
	VPSLLW $7, Y1, Y1
	VPMOVMSKB Y1, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	SHLL $2, DX
	ORL DX, R10
	VPXOR Y6, Y2, Y2
	VPSLLW $7, Y2, Y2
	VPMOVMSKB Y2, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	SHLL $4, DX
	ORL DX, R10
	VPXOR Y7, Y3, Y3
	VPSLLW $7, Y3, Y3
	VPMOVMSKB Y3, DX
	MOVL DX, R11
	SHRL $15, DX
	ANDL $1, DX
	SHRL $30, R11
	ANDL $2, R11
	ORL R11, DX
	SHLL $6, DX
	ORL DX, R10
	SHLQ CX, R10
	ORQ  R10, DI
	ADDQ $8, CX
	ADDQ $16, SI
	DECQ R9
	JNZ  group
	VZEROUPPER
	MOVQ DI, bits+32(FP)
	RET

// func pfxBitsAESNI(rk1 *schedule, rk2 *schedule, vs *[2]uint64, groups int) (bits uint64)
//
// Same contract as pfxBitsVAES, one xmm register per block: each group is
// done in two halves of 4 blocks (8 registers with both keys).
TEXT ·pfxBitsAESNI(SB), NOSPLIT, $0-40
	MOVQ rk1+0(FP), AX
	MOVQ rk2+8(FP), BX
	MOVQ vs+16(FP), SI
	MOVQ groups+24(FP), R9
	XORQ DI, DI
	XORQ CX, CX
	MOVOU pfxRev<>(SB), X13

group:
	MOVOU (SI), X12
	MOVO  X12, X11
	PSRLDQ $8, X11
	MOVO X12, X4
	PSRLQ $7, X4
	MOVO X11, X10
	PSLLQ $57, X10
	POR X10, X4
	PSHUFB X13, X4
	MOVO X12, X5
	PSRLQ $6, X5
	MOVO X11, X10
	PSLLQ $58, X10
	POR X10, X5
	PSHUFB X13, X5
	MOVO X12, X6
	PSRLQ $5, X6
	MOVO X11, X10
	PSLLQ $59, X10
	POR X10, X6
	PSHUFB X13, X6
	MOVO X12, X7
	PSRLQ $4, X7
	MOVO X11, X10
	PSLLQ $60, X10
	POR X10, X7
	PSHUFB X13, X7
	MOVOU 0(AX), X8
	MOVOU 0(BX), X9
	MOVO X4, X0
	PXOR X8, X0
	PXOR X9, X4
	MOVO X5, X1
	PXOR X8, X1
	PXOR X9, X5
	MOVO X6, X2
	PXOR X8, X2
	PXOR X9, X6
	MOVO X7, X3
	PXOR X8, X3
	PXOR X9, X7
	ROUNDS2_4
	PXOR X4, X0
	PSLLW $7, X0
	PMOVMSKB X0, DX
	SHRL $15, DX
	MOVL DX, R10
	PXOR X5, X1
	PSLLW $7, X1
	PMOVMSKB X1, DX
	SHRL $15, DX
	SHLL $1, DX
	ORL DX, R10
	PXOR X6, X2
	PSLLW $7, X2
	PMOVMSKB X2, DX
	SHRL $15, DX
	SHLL $2, DX
	ORL DX, R10
	PXOR X7, X3
	PSLLW $7, X3
	PMOVMSKB X3, DX
	SHRL $15, DX
	SHLL $3, DX
	ORL DX, R10
	MOVO X12, X4
	PSRLQ $3, X4
	MOVO X11, X10
	PSLLQ $61, X10
	POR X10, X4
	PSHUFB X13, X4
	MOVO X12, X5
	PSRLQ $2, X5
	MOVO X11, X10
	PSLLQ $62, X10
	POR X10, X5
	PSHUFB X13, X5
	MOVO X12, X6
	PSRLQ $1, X6
	MOVO X11, X10
	PSLLQ $63, X10
	POR X10, X6
	PSHUFB X13, X6
	MOVO X12, X7
	MOVO X11, X10
	PSLLQ $64, X10
	POR X10, X7
	PSHUFB X13, X7
	MOVOU 0(AX), X8
	MOVOU 0(BX), X9
	MOVO X4, X0
	PXOR X8, X0
	PXOR X9, X4
	MOVO X5, X1
	PXOR X8, X1
	PXOR X9, X5
	MOVO X6, X2
	PXOR X8, X2
	PXOR X9, X6
	MOVO X7, X3
	PXOR X8, X3
	PXOR X9, X7
	ROUNDS2_4
	PXOR X4, X0
	PSLLW $7, X0
	PMOVMSKB X0, DX
	SHRL $15, DX
	SHLL $4, DX
	ORL DX, R10
	PXOR X5, X1
	PSLLW $7, X1
	PMOVMSKB X1, DX
	SHRL $15, DX
	SHLL $5, DX
	ORL DX, R10
	PXOR X6, X2
	PSLLW $7, X2
	PMOVMSKB X2, DX
	SHRL $15, DX
	SHLL $6, DX
	ORL DX, R10
	PXOR X7, X3
	PSLLW $7, X3
	PMOVMSKB X3, DX
	SHRL $15, DX
	SHLL $7, DX
	ORL DX, R10
	SHLQ CX, R10
	ORQ  R10, DI
	ADDQ $8, CX
	ADDQ $16, SI
	DECQ R9
	JNZ  group
	MOVQ DI, bits+32(FP)
	RET

// func kiasuEncryptAESNI(rk *schedule, tweak *[16]byte, dst *byte, src *byte)
//
// KIASU-BC (ipcrypt-nd): AES-128 with the padded tweak T XORed into every
// round key, done in registers.
TEXT ·kiasuEncryptAESNI(SB), NOSPLIT, $0-32
	MOVQ  rk+0(FP), AX
	MOVQ  tweak+8(FP), BX
	MOVQ  dst+16(FP), DI
	MOVQ  src+24(FP), SI
	MOVOU (BX), X9
	MOVOU (SI), X0
	MOVOU 0(AX), X8
	PXOR  X9, X8
	PXOR  X8, X0
	MOVOU 16(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 32(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 48(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 64(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 80(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 96(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 112(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 128(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 144(AX), X8
	PXOR  X9, X8
	AESENC X8, X0
	MOVOU 160(AX), X8
	PXOR  X9, X8
	AESENCLAST X8, X0
	MOVOU X0, 0(DI)
	RET

// func kiasuDecryptAESNI(dk *schedule, tweak *[16]byte, dst *byte, src *byte)
//
// Inverts kiasuEncryptAESNI with the equivalent inverse cipher keys dk.
// Their middle rounds carry InvMixColumns, which is linear, so the tweak
// enters those rounds as AESIMC(T) and the outer two as T.
TEXT ·kiasuDecryptAESNI(SB), NOSPLIT, $0-32
	MOVQ  dk+0(FP), AX
	MOVQ  tweak+8(FP), BX
	MOVQ  dst+16(FP), DI
	MOVQ  src+24(FP), SI
	MOVOU (BX), X9
	AESIMC X9, X10
	MOVOU (SI), X0
	MOVOU 0(AX), X8
	PXOR  X9, X8
	PXOR  X8, X0
	MOVOU 16(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 32(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 48(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 64(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 80(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 96(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 112(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 128(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 144(AX), X8
	PXOR  X10, X8
	AESDEC X8, X0
	MOVOU 160(AX), X8
	PXOR  X9, X8
	AESDECLAST X8, X0
	MOVOU X0, 0(DI)
	RET
