package protocol

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"
)

func TestNewHostRejects(t *testing.T) {
	key := newKey(t)
	all := func(peer.ID) bool { return true }
	psk := make([]byte, 32)
	for name, cfg := range map[string]HostConfig{
		"no key":           {IsMember: all},
		"no membership":    {Key: key},
		"short psk":        {Key: key, IsMember: all, PSK: []byte("short")},
		"quic with psk":    {Key: key, IsMember: all, PSK: psk, QUIC: true},
		"bad address":      {Key: key, IsMember: all, Listen: []string{"/ip4/127.0.0.1/tcp/x"}},
		"quic address off": {Key: key, IsMember: all, Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}},
	} {
		if h, err := NewHost(cfg); err == nil {
			h.Close()
			t.Errorf("%s: NewHost succeeded", name)
		}
	}
	if _, err := NewHost(HostConfig{Key: key, IsMember: all, PSK: psk, QUIC: true}); !errors.Is(err, ErrQUICWithPSK) {
		t.Errorf("QUIC with PSK = %v, want ErrQUICWithPSK", err)
	}
}

// TestNewHostFailureNoLeak: a host that cannot listen fails without leaving
// goroutines behind.
func TestNewHostFailureNoLeak(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	h, err := NewHost(HostConfig{Key: newKey(t), IsMember: func(peer.ID) bool { return true },
		Listen: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}})
	if err == nil {
		h.Close()
		t.Fatal("NewHost on a port in use succeeded (port reuse must be off)")
	}
	goleak.VerifyNone(t)
}

// TestPrivateNetwork: members with the federation key connect; a host with
// another key cannot.
func TestPrivateNetwork(t *testing.T) {
	ms := newMembership()
	psk := make([]byte, 32)
	psk[0] = 1
	mk := func(key []byte) *node {
		k := newKey(t)
		id, _ := peer.IDFromPrivateKey(k)
		ms.add(id)
		h, err := NewHost(HostConfig{Key: k, PSK: key, IsMember: ms.has})
		if err != nil {
			t.Fatal(err)
		}
		n := &node{key: k, id: id, h: h, b: newMemBackend(id, ms)}
		n.svc = New(h, k, n.b, Config{Federation: "f", MaxRetries: -1})
		t.Cleanup(func() { n.svc.Close(); h.Close() })
		return n
	}
	a, b := mk(psk), mk(psk)
	other := append([]byte(nil), psk...)
	other[0] = 2
	c := mk(other)
	connect(t, b, a)
	if _, err := b.svc.Hello(ctxT(t), a.id); err != nil {
		t.Errorf("Hello inside the private network: %v", err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	_ = c.h.Connect(ctx, peer.AddrInfo{ID: a.id, Addrs: a.h.Addrs()})
	if _, err := c.svc.Hello(ctx, a.id); err == nil {
		t.Error("a host with another network key completed a handshake")
	}
}

// TestCloseUnblocksAndNoLeak closes services while a handler and a call are
// blocked in the backend, then closes the hosts: nothing is left running.
func TestCloseUnblocksAndNoLeak(t *testing.T) {
	ms := newMembership()
	a := newNode(t, ms, nodeOpts{noService: true})
	b := newNode(t, ms, nodeOpts{})
	entered := make(chan struct{})
	blocking := &blockingAfter{memBackend: a.b, entered: entered}
	a.svc = New(a.h, a.key, blocking, a.cfg)
	connect(t, b, a)

	pullErr := make(chan error, 1)
	go func() {
		_, err := b.svc.Pull(context.Background(), a.id)
		pullErr <- err
	}()
	<-entered
	b.svc.Close()
	if err := <-pullErr; !errors.Is(err, ErrClosed) {
		t.Errorf("Pull during Close = %v, want ErrClosed", err)
	}
	a.svc.Close() // returns although the handler was blocked in After
	if _, err := b.svc.Pull(ctxT(t), a.id); !errors.Is(err, ErrClosed) {
		t.Errorf("Pull after Close = %v, want ErrClosed", err)
	}
	a.h.Close()
	b.h.Close()
	goleak.VerifyNone(t)
}

// blockingAfter blocks After until its context ends.
type blockingAfter struct {
	*memBackend
	entered chan struct{}
}

func (b *blockingAfter) After(ctx context.Context, _ uint64, _ int) ([]Envelope, uint64, error) {
	close(b.entered)
	<-ctx.Done()
	return nil, 0, ctx.Err()
}
