package pseudo

import "testing"

// flowfed's own copy of a few published vectors per algorithm, so that
// correctness does not depend on the shared data folder being present. Each
// row names its origin; none of them may ever change.

const (
	// The Crypto-PAn 1.0 sample key (Georgia Tech distribution).
	cpSampleKey = "1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202"
	// yacryptopan's README key, ASCII "32-char-str-for-AES-key-and-pad.".
	cpReadmeKey = "33322d636861722d7374722d666f722d4145532d6b65792d616e642d7061642e"
	// yacryptopan's self-test key 00 01 02 ... 1f.
	cpSeqKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

func TestInlineCryptoPAnVectors(t *testing.T) {
	tests := []struct{ key, raw, want string }{
		// Crypto-PAn 1.0 sample trace.
		{cpSampleKey, "128.11.68.132", "135.242.180.132"},
		{cpSampleKey, "129.118.74.4", "134.136.186.123"},
		{cpSampleKey, "24.5.0.80", "100.9.15.210"},
		{cpSampleKey, "0.0.0.0", "120.255.240.1"},
		{cpSampleKey, "255.255.255.255", "206.120.97.255"},
		// The 128-bit extension (Yawning/cryptopan test, yacryptopan).
		{cpSampleKey, "::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
		{cpSampleKey, "2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
		// yacryptopan README and self-test.
		{cpReadmeKey, "192.0.2.1", "192.0.125.244"},
		{cpReadmeKey, "2001:db8::1", "27fe:8bc7:fee:1e:1e1f:f0fe:f0e1:83fd"},
		{cpSeqKey, "192.0.2.1", "2.90.93.17"},
		{cpSeqKey, "2001:db8::1", "dd92:2c44:3fc0:ff1e:7ff9:c7f0:8180:7e00"},
	}
	forEachImpl(t, func(t *testing.T) {
		for _, tt := range tests {
			checkCryptoPAn(t, mustHex(t, tt.key), tt.raw, tt.want)
		}
	})
}

// Rows from the appendix "Test Vectors" of draft-denis-ipcrypt.
func TestInlineIPCryptVectors(t *testing.T) {
	const (
		k16a = "0123456789abcdeffedcba9876543210"
		k16b = "1032547698badcfeefcdab8967452301"
		k16c = "2b7e151628aed2a6abf7158809cf4f3c"
		k32a = "0123456789abcdeffedcba98765432101032547698badcfeefcdab8967452301"
		k32b = "2b7e151628aed2a6abf7158809cf4f3ca9f5ba40db214c3798f2e1c23456789a"
		k32c = "1032547698badcfeefcdab89674523010123456789abcdeffedcba9876543210"
		k32d = "2b7e151628aed2a6abf7158809cf4f3c3c4fcf098815f7aba6d2ae2816157e2b"
	)
	forEachImpl(t, func(t *testing.T) {
		t.Run("deterministic", func(t *testing.T) {
			checkDet(t, mustHex(t, k16a), "0.0.0.0", "bde9:6789:d353:824c:d7c6:f58a:6bd2:26eb")
			checkDet(t, mustHex(t, k16b), "255.255.255.255", "aed2:92f6:ea23:58c3:48fd:8b8:74e8:45d8")
			checkDet(t, mustHex(t, k16c), "192.0.2.1", "1dbd:c1b9:fff1:7586:7d0b:67b4:e76e:4777")
		})
		t.Run("pfx", func(t *testing.T) {
			checkPFX(t, mustHex(t, k32a), "0.0.0.0", "151.82.155.134")
			checkPFX(t, mustHex(t, k32a), "255.255.255.255", "94.185.169.89")
			checkPFX(t, mustHex(t, k32a), "192.0.2.1", "100.115.72.131")
			checkPFX(t, mustHex(t, k32a), "2001:db8::1", "c180:5dd4:2587:3524:30ab:fa65:6ab6:f88")
			checkPFX(t, mustHex(t, k32b), "10.0.0.47", "19.214.210.244")
			checkPFX(t, mustHex(t, k32b), "10.0.0.129", "19.214.210.80")
			checkPFX(t, mustHex(t, k32b), "2001:db8::a5c9:4e2f:bb91:5a7d", "7cec:702c:1243:f70:1956:125:b9bd:1aba")
			checkPFX(t, mustHex(t, k32b), "2001:db8:3a5c:0:e7d1:4b9f:2c8a:f673", "7cec:702c:3503:bef:e616:96bd:be33:a9b9")
		})
		t.Run("nd", func(t *testing.T) {
			checkND(t, mustHex(t, k16a), "08e0c289bff23b7c", "0.0.0.0", "08e0c289bff23b7cb349aadfe3bcef56221c384c7c217b16")
			checkND(t, mustHex(t, k16b), "21bd1834bc088cd2", "192.0.2.1", "21bd1834bc088cd2e5e1fe55f95876e639faae2594a0caad")
			checkND(t, mustHex(t, k16c), "b4ecbe30b70898d7", "2001:db8::1", "b4ecbe30b70898d7553ac8974d1b4250eafc4b0aa1f80c96")
		})
		t.Run("ndx", func(t *testing.T) {
			checkNDX(t, mustHex(t, k32a), "21bd1834bc088cd2b4ecbe30b70898d7", "0.0.0.0",
				"21bd1834bc088cd2b4ecbe30b70898d782db0d4125fdace61db35b8339f20ee5")
			checkNDX(t, mustHex(t, k32c), "08e0c289bff23b7cb4ecbe30b70898d7", "192.0.2.1",
				"08e0c289bff23b7cb4ecbe30b70898d7766a533392a69edf1ad0d3ce362ba98a")
			checkNDX(t, mustHex(t, k32d), "21bd1834bc088cd2b4ecbe30b70898d7", "2001:db8::1",
				"21bd1834bc088cd2b4ecbe30b70898d76089c7e05ae30c2d10ca149870a263e4")
		})
	})
}

// Rows from github.com/veorq/ipcrypt (README and test()) and
// github.com/dgryski/go-ipcrypt (100 iterations).
func TestInlineIPCrypt2015Vectors(t *testing.T) {
	const someKey = "736f6d652031362d62797465206b6579" // "some 16-byte key"
	const ffKey = "ffffffffffffffffffffffffffffffff"
	tests := []struct {
		key, raw, want string
		iterations     int
	}{
		{someKey, "127.0.0.1", "114.62.227.59", 1},
		{someKey, "8.8.8.8", "46.48.51.50", 1},
		{someKey, "1.2.3.4", "171.238.15.199", 1},
		{ffKey, "1.2.3.4", "191.207.11.210", 10},
		{ffKey, "1.2.3.4", "107.47.222.186", 100},
	}
	for _, tt := range tests {
		check2015(t, mustHex(t, tt.key), tt.raw, tt.want, tt.iterations)
	}
}
