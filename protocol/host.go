package protocol

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
)

// HostConfig configures NewHost.
type HostConfig struct {
	// Key is the node's Ed25519 identity key.
	Key crypto.PrivKey
	// Listen are the multiaddrs to listen on; default /ip4/127.0.0.1/tcp/0
	// (plus /ip4/127.0.0.1/udp/0/quic-v1 with QUIC).
	Listen []string
	// PSK is the federation's 32-byte private-network key; with it the host
	// speaks only to holders of the same key, over TCP only.
	PSK []byte
	// QUIC enables the QUIC transport besides TCP. It cannot be combined with
	// PSK (ErrQUICWithPSK).
	QUIC bool
	// IsMember decides which peers may connect, in both directions. Required.
	IsMember func(peer.ID) bool
	// Refused, when set, is told of every inbound connection refused
	// because its peer is not a member (after the peer proved its ID).
	Refused func(peer.ID)
	// ResourceLimits, when set, override the resource manager's limits on top
	// of libp2p's autoscaled defaults (for example a per-peer stream limit in
	// PeerDefault). Refusals reach the other side as stream resets, which
	// Service retries.
	ResourceLimits *rcmgr.PartialLimitConfig
}

// NewHost builds a libp2p host for a flowfed node: TCP (port reuse off, so two
// nodes never share a port) with TLS and Noise, yamux, QUIC when asked for,
// an optional private network, a resource manager, and a connection gater that
// refuses every non-member once its peer ID is authenticated, inbound and
// outbound. Relay, NAT port mapping and metrics are off. On error nothing it
// started keeps running.
func NewHost(cfg HostConfig) (host.Host, error) {
	if cfg.Key == nil || cfg.Key.Type() != crypto.Ed25519 {
		return nil, errors.New("creating host: the identity key must be Ed25519")
	}
	if cfg.IsMember == nil {
		return nil, errors.New("creating host: no membership function")
	}
	if len(cfg.PSK) > 0 && len(cfg.PSK) != 32 {
		return nil, fmt.Errorf("creating host: private-network key of %d bytes, want 32", len(cfg.PSK))
	}
	if cfg.QUIC && len(cfg.PSK) > 0 {
		return nil, fmt.Errorf("creating host: %w", ErrQUICWithPSK)
	}
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = []string{"/ip4/127.0.0.1/tcp/0"}
		if cfg.QUIC {
			listen = append(listen, "/ip4/127.0.0.1/udp/0/quic-v1")
		}
	}
	addrs := make([]ma.Multiaddr, 0, len(listen))
	for _, s := range listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("creating host: listen address %q: %w", s, err)
		}
		isQUIC := false
		ma.ForEach(a, func(c ma.Component) bool {
			isQUIC = isQUIC || c.Protocol().Code == ma.P_QUIC_V1 || c.Protocol().Code == ma.P_QUIC
			return true
		})
		if isQUIC && !cfg.QUIC {
			return nil, fmt.Errorf("creating host: listen address %q needs QUIC, which is off", s)
		}
		addrs = append(addrs, a)
	}

	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	concrete := limits.AutoScale()
	if cfg.ResourceLimits != nil {
		concrete = cfg.ResourceLimits.Build(concrete)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(concrete))
	if err != nil {
		return nil, fmt.Errorf("creating host: resource manager: %w", err)
	}
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("creating host: peerstore: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		// Listening happens below, once the host is complete: a libp2p.New
		// that fails to listen leaves the swarm's goroutines running.
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionGater(memberGater{cfg.IsMember, cfg.Refused}),
		libp2p.ResourceManager(rm),
		libp2p.Peerstore(ps),
		libp2p.ConnectionManager(&connmgr.NullConnMgr{}),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("flowfed"),
	}
	if cfg.QUIC {
		opts = append(opts, libp2p.Transport(quic.NewTransport))
	}
	if len(cfg.PSK) > 0 {
		opts = append(opts, libp2p.PrivateNetwork(pnet.PSK(cfg.PSK)))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		// libp2p does not release what it was given when it fails to start.
		rm.Close()
		ps.Close()
		return nil, fmt.Errorf("creating host: %w", err)
	}
	// Every address must work (libp2p alone is content with any one).
	for _, a := range addrs {
		if err := h.Network().Listen(a); err != nil {
			h.Close()
			return nil, fmt.Errorf("creating host: listening on %s: %w", a, err)
		}
	}
	return h, nil
}

// memberGater refuses every connection to or from a peer that is not a member.
// Refusing at InterceptSecured means the peer ID is authenticated first; the
// dial-side checks save dialling non-members at all.
type memberGater struct {
	isMember func(peer.ID) bool
	refused  func(peer.ID)
}

func (g memberGater) InterceptPeerDial(p peer.ID) bool                 { return g.isMember(p) }
func (g memberGater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.isMember(p) }
func (g memberGater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g memberGater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	ok := g.isMember(p)
	if !ok && dir == network.DirInbound && g.refused != nil {
		g.refused(p)
	}
	return ok
}
func (g memberGater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.isMember(c.RemotePeer()), 0
}
