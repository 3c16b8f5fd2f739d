package pseudo

import "fmt"

// Prefix cache sizes, in entries per address family (see [WithPrefixCache]).
const (
	DefaultCacheEntries = 4096    // 128 KiB per mapper
	MaxCacheEntries     = 1 << 20 // 32 MiB per mapper
)

// An Option tunes a prefix-preserving mapper ([NewCryptoPAn],
// [NewIPCryptPFX], [NewAddrMapper]). Options never change a result, only
// speed and memory.
type Option func(*config) error

type config struct {
	cacheEntries int
}

func newConfig(opts []Option) (config, error) {
	cfg := config{cacheEntries: DefaultCacheEntries}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return config{}, err
		}
	}
	return cfg, nil
}

// WithPrefixCache sets the number of prefix-cache entries per address
// family (IPv4 /24s and IPv6 /48s), rounded up to a power of two. Each entry
// pair takes 32 bytes, so the default of [DefaultCacheEntries] costs 128 KiB
// per mapper. Zero turns the cache off; more than [MaxCacheEntries] is an
// error wrapping [ErrBadOption].
func WithPrefixCache(entries int) Option {
	return func(c *config) error {
		if entries < 0 || entries > MaxCacheEntries {
			return fmt.Errorf("setting prefix cache to %d entries (want 0 to %d): %w",
				entries, MaxCacheEntries, ErrBadOption)
		}
		c.cacheEntries = entries
		return nil
	}
}
