package protocol

import (
	"context"
	"fmt"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Notify tells p that this node has envelopes up to Backend.Head; p then
// pulls. It returns once p has taken the notification (p half-closes after
// handing it to its Backend).
func (s *Service) Notify(ctx context.Context, p peer.ID) (err error) {
	defer func() { s.count(err) }()
	if !s.b.IsMember(p) {
		return fmt.Errorf("notifying %s: %w", p, ErrNotMember)
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	head := s.b.Head()
	err = s.retry(ctx, func() (err error) {
		st, err := s.open(ctx, p, NotifyID)
		if err != nil {
			return err
		}
		defer func() { st.finish(err) }()
		if err := st.write("notify", &pb.Notify{Head: head}); err != nil {
			return err
		}
		if err := st.closeWrite(); err != nil {
			return err
		}
		return st.readEOF("notify")
	})
	if err != nil {
		return fmt.Errorf("notifying %s: %w", p, err)
	}
	return nil
}

func (s *Service) serveNotify(_ context.Context, st *stream, remote peer.ID) error {
	var w pb.Notify
	if err := st.read("notify", &w); err != nil {
		return err
	}
	head, err := notifyFromWire(&w)
	if err != nil {
		return err
	}
	if err := st.readEOF("notify"); err != nil {
		return err
	}
	s.counter.notifies.Add(1)
	s.b.Notified(remote, head)
	return nil
}
