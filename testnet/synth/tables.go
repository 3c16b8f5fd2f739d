package synth

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Filler for payloads whose content does not matter beyond its look:
// ciphertext and compressed data (noise) and web pages (text). The tables
// are the same in every run, so captures stay reproducible; payloads take
// slices of them at random offsets.
const (
	noiseLen = 256 << 10
	textLen  = 64 << 10
)

var (
	tablesOnce sync.Once
	noise      []byte
	text       []byte
)

// words make up the filler text of web pages and scripts.
var words = []string{
	"the", "network", "member", "report", "policy", "data", "sharing", "incident", "response",
	"federation", "security", "team", "analysis", "indicator", "traffic", "update", "service",
	"access", "customer", "support", "release", "notes", "privacy", "contact", "about", "news",
	"product", "download", "account", "settings", "search", "results", "page", "article",
	"and", "of", "to", "in", "for", "with", "on", "by", "from", "is", "are", "was", "this",
}

func initTables() {
	tablesOnce.Do(func() {
		r := rand.New(rand.NewChaCha8([32]byte{'f', 'l', 'o', 'w', 'f', 'e', 'd'}))
		noise = make([]byte, noiseLen)
		for i := 0; i < noiseLen; i += 8 {
			v := r.Uint64()
			for j := range 8 {
				noise[i+j] = byte(v >> (8 * j))
			}
		}
		t := make([]byte, 0, textLen+256)
		tags := []string{"<p>", "<li>", "<h2>", "<div class=\"item\">", "<span>"}
		ends := []string{"</p>\n", "</li>\n", "</h2>\n", "</div>\n", "</span>\n"}
		for len(t) < textLen {
			k := r.IntN(len(tags))
			t = append(t, tags[k]...)
			for n := 3 + r.IntN(25); n > 0; n-- {
				t = append(t, words[r.IntN(len(words))]...)
				if n > 1 {
					t = append(t, ' ')
				}
			}
			t = append(t, ends[k]...)
		}
		text = t[:textLen]
	})
}

// appendFill appends n bytes of table tab, starting at a random offset
// and wrapping around.
func appendFill(b []byte, r *rand.Rand, tab []byte, n int) []byte {
	off := r.IntN(len(tab))
	for n > 0 {
		k := min(n, len(tab)-off)
		b = append(b, tab[off:off+k]...)
		n -= k
		off = 0
	}
	return b
}

// appendNoise appends n bytes that look like ciphertext.
func appendNoise(b []byte, r *rand.Rand, n int) []byte { return appendFill(b, r, noise, n) }

// appendRandom appends n bytes fresh from r, for keys, nonces and
// identifiers that must differ between flows.
func appendRandom(b []byte, r *rand.Rand, n int) []byte {
	for n > 0 {
		v := r.Uint64()
		for j := 0; j < 8 && n > 0; j++ {
			b = append(b, byte(v>>(8*j)))
			n--
		}
	}
	return b
}

// logUniform returns a random value between lo and hi, uniform on a log
// scale: sizes and delays spread over orders of magnitude.
func logUniform(r *rand.Rand, lo, hi float64) float64 {
	if hi <= lo {
		return lo
	}
	return lo * math.Pow(hi/lo, r.Float64())
}

// weighted picks an index with probability proportional to cum's
// increments (cum is the running sum of the weights).
func weighted(r *rand.Rand, cum []float64) int {
	if len(cum) == 0 {
		return 0
	}
	x := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
