package netstate

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdlayher/ethtool"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netlinkSystem is the Linux system: rtnetlink dumps and notifications.
type netlinkSystem struct{ h *netlink.Handle }

var _ system = (*netlinkSystem)(nil)

// openSystem opens a route netlink handle on the calling thread (so in its
// network namespace), with ctx's deadline, if any, as socket timeout.
func openSystem(ctx context.Context) (system, error) {
	h, err := newHandle(ctx)
	if err != nil {
		return nil, err
	}
	return &netlinkSystem{h: h}, nil
}

func (s *netlinkSystem) close() { s.h.Close() }

func (s *netlinkSystem) links() ([]osLink, error) {
	list, err := retryDump(s.h.LinkList)
	if err != nil {
		return nil, err
	}
	out := make([]osLink, len(list))
	for i, l := range list {
		out[i] = osLinkOf(l.Attrs())
	}
	return out, nil
}

func (s *netlinkSystem) neighbors() ([]osNeighbor, error) { return neighborList(s.h) }

func (s *netlinkSystem) linkName(index int) string {
	if l, err := s.h.LinkByIndex(index); err == nil {
		return l.Attrs().Name
	}
	return ""
}

// subscribe subscribes to neighbor and link notifications on two netlink
// sockets (the library runs a reader goroutine for each) and merges them
// onto one unbuffered channel, so a slow consumer backs up into the socket
// buffers and the kernel reports the overflow (ENOBUFS) as it would without
// us.
func (s *netlinkSystem) subscribe(ctx context.Context, rcvBuf int) (<-chan osEvent, func() error, error) {
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	cb := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	neighCh := make(chan netlink.NeighUpdate, 64)
	linkCh := make(chan netlink.LinkUpdate, 64)
	// The library's reader goroutines close the channels when they stop;
	// draining both until closed is how we wait for them.
	err := netlink.NeighSubscribeWithOptions(neighCh, sctx.Done(), netlink.NeighSubscribeOptions{
		ErrorCallback: cb, ListExisting: false, ReceiveBufferSize: rcvBuf,
	})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("subscribe to neighbor changes: %w", err)
	}
	err = netlink.LinkSubscribeWithOptions(linkCh, sctx.Done(), netlink.LinkSubscribeOptions{
		ErrorCallback: cb, ListExisting: false, ReceiveBufferSize: rcvBuf,
	})
	if err != nil {
		cancel()
		drain(neighCh)
		return nil, nil, fmt.Errorf("subscribe to link changes: %w", err)
	}
	out := make(chan osEvent)
	var ended error // written before out is closed, read after
	go func() {
		defer close(out)
		defer func() {
			cancel()
			drain(neighCh)
			drain(linkCh)
		}()
		for {
			var ev osEvent
			select {
			case <-sctx.Done():
				return
			case u, ok := <-neighCh:
				if !ok {
					neighCh = nil
					ended = fmt.Errorf("neighbor subscription ended: %w", lastErr(errc))
					return
				}
				n, ok := osNeighborOf(u.Neigh)
				if !ok {
					continue
				}
				ev = osEvent{Neighbor: &n, Deleted: u.Type == unix.RTM_DELNEIGH}
			case u, ok := <-linkCh:
				if !ok {
					linkCh = nil
					ended = fmt.Errorf("link subscription ended: %w", lastErr(errc))
					return
				}
				l := osLinkOf(u.Link.Attrs())
				ev = osEvent{Link: &l, Deleted: u.Header.Type == unix.RTM_DELLINK}
			}
			select {
			case out <- ev:
			case <-sctx.Done():
				return
			}
		}
	}()
	return out, func() error { return ended }, nil
}

func lastErr(errc chan error) error {
	select {
	case err := <-errc:
		return err
	default:
		return errors.New("closed")
	}
}

func drain[T any](ch chan T) {
	if ch == nil {
		return
	}
	for range ch {
	}
}

// openLinkModes opens ethtool netlink for reading links' speed and duplex.
func openLinkModes() (func(index int, name string) (linkMode, error), func(), error) {
	c, err := ethtool.New()
	if err != nil {
		return nil, nil, fmt.Errorf("no ethtool netlink: %w", err)
	}
	return func(index int, name string) (linkMode, error) { return readLinkMode(c, index, name) },
		func() { c.Close() }, nil
}
