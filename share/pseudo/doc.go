// Package pseudo turns network identifiers into keyed pseudonyms: IP
// addresses (Crypto-PAn and the ipcrypt family), MAC addresses, and short
// strings such as host and user names. It is pure computation: no I/O, no
// clock, no global state beyond the CPU feature check made at start-up.
// Everything that holds a key is safe for concurrent use and never shows key
// bytes in fmt, slog or error output.
//
// A caller picks an address [Mode] by name ([ParseMode]), creates an
// [AddrMapper] with [NewAddrMapper] and a key of [Mode.KeySize] bytes, and
// maps each address with Map; the key holder undoes it with Unmap. Packet
// rewriters that handle raw addresses use the allocation-free fast paths
// ([CryptoPAn.AnonymizeIPv4], [CryptoPAn.Anonymize16] and their
// ipcrypt-pfx counterparts).
//
// # Algorithms
//
//   - cryptopan ([CryptoPAn]): the prefix-preserving scheme of Xu, Fan,
//     Ammar and Moon (2002). Output bit i is input bit i XOR the most
//     significant bit of AES-128 over the first i input bits followed by a
//     pad (the rest of AES_K(key[16:32])). IPv6 uses the same construction
//     over 128 bit positions, as yacryptopan and Yawning/cryptopan do; the
//     IPv4 result is the first 32 bits of the IPv6 one for a.b.c.d<<96.
//     Map treats ::ffff:a.b.c.d as a.b.c.d (one host, one pseudonym) and
//     keeps the mapped form; [CryptoPAn.Anonymize16] runs the 128-bit
//     construction on any 16 bytes, as other implementations do.
//   - ipcrypt-pfx ([IPCryptPFX]): the prefix-preserving mode of
//     draft-denis-ipcrypt. The bit function is the least significant bit of
//     AES_K1(p) xor AES_K2(p) for the padded prefix p; the sum of two
//     permutations is a PRF beyond the birthday bound, which Crypto-PAn's
//     single AES is not. IPv4 stays 4 bytes.
//   - ipcrypt-det ([IPCryptDet]): AES-128 of the 16-byte form. Format- but
//     not family-preserving: an IPv4 address almost always maps to IPv6.
//   - ipcrypt-nd ([IPCryptND], KIASU-BC with an 8-byte tweak) and
//     ipcrypt-ndx ([IPCryptNDX], one-block AES-XTS with a 16-byte tweak):
//     with a random tweak per call, equal addresses give unlinkable outputs
//     of 24 or 32 bytes. They are not addresses, so no [AddrMapper].
//   - [IPCrypt2015]: the original 4-byte ARX ipcrypt, only for reading
//     data from older tools.
//   - [MACMapper]: a 10-round Feistel permutation (AES-128 round function)
//     of the 46 MAC bits other than I/G and U/L, or of the low 24 bits
//     with keepOUI.
//   - [Tokenizer]: HMAC-SHA-256 tokens "tok1-" plus 26 base32 characters
//     for host names, user names and similar strings; one-way.
//
// Crypto-PAn and the ipcrypt modes use their key as the papers and the draft
// define it, so that published test vectors apply. [MACMapper] and
// [Tokenizer] derive their own subkeys with HKDF-SHA-256 and fixed labels (the
// tokenizer's label includes its context string), so handing them the same
// epoch key as an address mapper never makes two algorithms compute with one
// AES or HMAC key. Address modes should still get their own key each, as
// keyvault derives them.
//
// # Threat model
//
// The pseudonyms protect the identity of hosts and users against recipients
// of shared data who do not hold the key. They do not hide:
//
//   - Structure, in the prefix-preserving modes: which addresses share a
//     subnet, how many hosts a subnet has, and where address blocks are
//     dense is visible by design. An adversary who can place traffic of
//     addresses it knows into the data (an injection attack) learns their
//     pseudonyms and thereby the pseudonyms of their prefixes, which
//     narrows down neighbouring addresses. Rotate keys and share only what
//     an analysis needs.
//   - Repetition, in the deterministic modes (cryptopan, pfx, det, MAC,
//     tokens): the same identifier gets the same pseudonym under one key, so
//     records link. Epoch keys and per-recipient derived keys bound that;
//     ipcrypt-nd and ipcrypt-ndx do not link at all.
//   - Anything from the key holder: every mode except the tokens is
//     invertible with the key. Tokens of guessable strings can be confirmed
//     by whoever holds the key, never without it.
//   - Small domains: a MAC pseudonym with keepOUI is one of 2^24 values per
//     vendor, an IPv4 pseudonym one of 2^32; equality and frequency
//     analysis on such data is outside what any keyed permutation can
//     prevent.
//
// On amd64 with AES-NI every AES evaluation runs in the AES instructions,
// without key- or data-dependent memory access. The portable build (other
// architectures, or the purego build tag) uses crypto/aes, which uses AES
// instructions where Go has them (arm64, s390x, ppc64) and otherwise
// table-based code, and ipcrypt-nd there uses a table-based software round.
// The prefix cache's hits and misses depend on addresses seen before; that is
// observable only to code in the same process. Process memory holds the
// keys and, in the caches, pseudonym prefixes of recently seen networks.
//
// # Speed
//
// Crypto-PAn and ipcrypt-pfx need one (pfx: two) AES evaluations per address
// bit, but the AES inputs for all bits of one address depend only on the
// original address, so they are independent. On amd64 the package hands all
// of them to assembly in one call that keeps 8 blocks (AES-NI) or 16 blocks
// (VAES, two per ymm instruction) in flight and builds the inputs in
// registers: the address XOR the pad, masked per position from a constant
// table (Crypto-PAn), or one padded prefix per group of 8 positions shifted
// by 0 to 7 bits (pfx). It returns the output bits directly. Go's crypto/aes
// encrypts one block per call and waits for each; a classic
// one-call-per-bit Crypto-PAn therefore costs 32 (IPv4) or 128 (IPv6)
// sequential AES latencies.
//
// Precomputed per key, once, in fixed size (not a cache): the bit function
// for every prefix shorter than 16 bits (65,535 bits in 8 KiB, plus a
// 256-byte index of the first 8 levels). Crypto-PAn's IPv4 and IPv6 trees
// share their first 32 input bits, so one such table serves both (about
// 65,000 AES evaluations to build); ipcrypt-pfx starts IPv4 at position 96
// of ::ffff:a.b.c.d and needs one table per family (2 x 2 x 65,536 AES).
// An address then needs AES only for bits 16 and up: 16 evaluations for
// IPv4 and 112 for IPv6 (pfx: twice that).
//
// A bounded prefix cache per mapper ([WithPrefixCache]; default
// [DefaultCacheEntries] = 4096 entries per family, 128 KiB) remembers the
// bit-function values of the first 24 bits of recently seen IPv4 /24s and of
// the first 48 bits of IPv6 /48s. It is a direct-mapped table of fixed size,
// lock-free (one atomic word per IPv4 entry, a sequence counter per IPv6
// entry), and a hit leaves 8 (IPv4) or 80 (IPv6) positions to compute. It
// never changes a result.
//
// Unmap is bit-serial by nature: each original bit is an input to the next
// AES. The inverse therefore evaluates the bit function for all 15 prefixes
// the next 4 bits could form in one batch, which costs about as much as one
// evaluation, and resolves 4 bits per batch.
//
// Map, the fast paths, the ipcrypt encryptions and the MAC mapper do not
// allocate on amd64; Token allocates its result. The benchmarks in
// bench_test.go report ns per address and the same in units of one crypto/aes
// block encryption ("aesblk/op").
package pseudo
