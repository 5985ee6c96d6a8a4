package netstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Watch subscribes to the kernel's neighbor and link notifications and calls
// fn for every change, in order, on the calling goroutine. fn must not block
// for long: notifications queue up behind it (and the kernel drops them when
// the socket buffer fills, which Watch handles like any receive error).
//
// Neighbor changes report the new state and what it was before ("STALE ->
// REACHABLE"); link changes report admin up/down, carrier, operational state,
// MTU, MAC, name and master changes. Entries unchanged in state and MAC are
// not reported again.
//
// Linux announces FAILED over netlink, but never INCOMPLETE: a neighbor
// entry that is created and starts resolving sends no notification until it
// resolves or fails. A caller that must see INCOMPLETE has to poll
// Neighbors as well.
//
// After a receive error (e.g. ENOBUFS when notifications were dropped) Watch
// resubscribes with backoff, re-reads both tables and reports what changed in
// the gap. It returns nil when ctx is cancelled, and an error only if the very
// first subscription fails. All goroutines it starts have stopped when it
// returns.
//
// The netlink sockets are opened on the calling goroutine's thread, so
// calling Watch inside a network namespace (e.g. from nstest.Host.Do) watches
// that namespace.
func Watch(ctx context.Context, fn func(Change)) error {
	return watch(ctx, fn, watchOpts{})
}

// watchOpts are the Journal's hooks into Watch.
type watchOpts struct {
	// linkHook is called for every link notification (and every link seen
	// by a resync) with the link's index and name; a non-empty result is
	// added to the change's Detail and makes the event reportable even when
	// nothing else changed.
	linkHook func(index int, name string) string
	// linkGone is called when a link disappears, so per-link state kept by
	// linkHook does not grow without bound on hosts that churn links.
	linkGone func(index int)
	// lost is called with the error that ended a subscription, before
	// Watch resubscribes.
	lost func(error)
	// rcvBuf, if set, is the subscription sockets' receive buffer size
	// (tests use a tiny one to provoke ENOBUFS).
	rcvBuf int
}

type neighKey struct {
	index int
	ip    netip.Addr
}

type neighSnap struct {
	state string
	mac   string
}

type linkSnap struct {
	name    string
	oper    string
	up      bool
	carrier bool
	mtu     int
	mac     string
	master  int
}

type watcher struct {
	h      *netlink.Handle
	fn     func(Change)
	hook   func(index int, name string) string
	gone   func(index int)
	now    func() time.Time
	neighs map[neighKey]neighSnap
	links  map[int]linkSnap
}

const (
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 5 * time.Second
	watchHealthy    = time.Minute // a session this long resets the backoff
)

func watch(ctx context.Context, fn func(Change), opts watchOpts) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netstate: watch: open netlink: %w", err)
	}
	defer h.Close()
	w := &watcher{
		h: h, fn: fn, hook: opts.linkHook, gone: opts.linkGone, now: time.Now,
		neighs: make(map[neighKey]neighSnap),
		links:  make(map[int]linkSnap),
	}
	backoff := watchBackoffMin
	for first := true; ; first = false {
		start := time.Now()
		subscribed, err := w.session(ctx, !first, opts.rcvBuf)
		if ctx.Err() != nil {
			return nil
		}
		if first && !subscribed {
			return err
		}
		if opts.lost != nil {
			opts.lost(err)
		}
		if time.Since(start) > watchHealthy {
			backoff = watchBackoffMin
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, watchBackoffMax)
	}
}

// session subscribes, syncs both tables (reporting differences if report is
// set) and relays notifications until ctx is cancelled or a subscription
// ends. It returns whether it got subscribed and why it ended.
func (w *watcher) session(ctx context.Context, report bool, rcvBuf int) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	// draining both until closed is how Watch waits for them.
	err := netlink.NeighSubscribeWithOptions(neighCh, sctx.Done(), netlink.NeighSubscribeOptions{
		ErrorCallback: cb, ListExisting: false, ReceiveBufferSize: rcvBuf,
	})
	if err != nil {
		return false, fmt.Errorf("netstate: watch: subscribe to neighbor changes: %w", err)
	}
	err = netlink.LinkSubscribeWithOptions(linkCh, sctx.Done(), netlink.LinkSubscribeOptions{
		ErrorCallback: cb, ListExisting: false, ReceiveBufferSize: rcvBuf,
	})
	if err != nil {
		cancel()
		drain(neighCh)
		return false, fmt.Errorf("netstate: watch: subscribe to link changes: %w", err)
	}
	stop := func() {
		cancel()
		drain(neighCh)
		drain(linkCh)
	}
	if err := w.sync(report); err != nil {
		stop()
		return true, fmt.Errorf("netstate: watch: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			stop()
			return true, nil
		case u, ok := <-neighCh:
			if !ok {
				neighCh = nil
				stop()
				return true, fmt.Errorf("netstate: watch: neighbor subscription ended: %w", lastErr(errc))
			}
			w.neighUpdate(u.Type, u.Neigh)
		case u, ok := <-linkCh:
			if !ok {
				linkCh = nil
				stop()
				return true, fmt.Errorf("netstate: watch: link subscription ended: %w", lastErr(errc))
			}
			w.linkUpdate(u.Header.Type, u.Link)
		}
	}
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

// sync reads both tables and brings the watcher's view up to date, reporting
// differences when report is set (after a resubscription).
func (w *watcher) sync(report bool) error {
	links, err := retryDump(w.h.LinkList)
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	seenLinks := make(map[int]bool, len(links))
	for _, l := range links {
		seenLinks[l.Attrs().Index] = true
		if report {
			w.linkUpdate(unix.RTM_NEWLINK, l)
		} else {
			w.links[l.Attrs().Index] = snapLink(l.Attrs())
			if w.hook != nil {
				w.hook(l.Attrs().Index, l.Attrs().Name) // baseline
			}
		}
	}
	for idx, s := range w.links {
		if !seenLinks[idx] {
			w.linkGone(idx, s)
		}
	}
	neighs, err := retryDump(func() ([]netlink.Neigh, error) { return w.h.NeighList(0, unix.AF_UNSPEC) })
	if err != nil {
		return fmt.Errorf("list neighbors: %w", err)
	}
	seen := make(map[neighKey]bool, len(neighs))
	for _, n := range neighs {
		ip, ok := neighIP(n)
		if !ok {
			continue
		}
		k := neighKey{n.LinkIndex, ip}
		seen[k] = true
		if report {
			w.neighUpdate(unix.RTM_NEWNEIGH, n)
		} else {
			w.neighs[k] = neighSnap{nudWords(n.State), macString(n.HardwareAddr)}
		}
	}
	for k, s := range w.neighs {
		if !seen[k] {
			w.neighGone(k, s)
		}
	}
	return nil
}

func (w *watcher) ifName(index int) string {
	if s, ok := w.links[index]; ok {
		return s.name
	}
	if l, err := w.h.LinkByIndex(index); err == nil {
		return l.Attrs().Name
	}
	return fmt.Sprintf("if%d", index)
}

func (w *watcher) neighUpdate(typ uint16, n netlink.Neigh) {
	ip, ok := neighIP(n)
	if !ok {
		return
	}
	k := neighKey{n.LinkIndex, ip}
	cur := neighSnap{nudWords(n.State), macString(n.HardwareAddr)}
	if typ == unix.RTM_DELNEIGH {
		delete(w.neighs, k)
		w.fn(Change{Time: w.now(), Kind: KindNeighbor, Iface: w.ifName(n.LinkIndex), IP: ip,
			MAC: cloneMAC(n.HardwareAddr), State: cur.state, Detail: "deleted"})
		return
	}
	prev, known := w.neighs[k]
	if known && prev == cur {
		return
	}
	w.neighs[k] = cur
	var parts []string
	switch {
	case !known && cur.state == StateFailed:
		// Entries are created INCOMPLETE without a notification, so a new
		// FAILED entry is a resolution that got no answer.
		parts = append(parts, "new, resolution failed")
	case !known:
		parts = append(parts, "new")
	case prev.state != cur.state:
		parts = append(parts, prev.state+" -> "+cur.state)
	}
	if known && prev.mac != cur.mac && prev.mac != "" && cur.mac != "" {
		parts = append(parts, "lladdr "+prev.mac+" -> "+cur.mac)
	}
	w.fn(Change{Time: w.now(), Kind: KindNeighbor, Iface: w.ifName(n.LinkIndex), IP: ip,
		MAC: cloneMAC(n.HardwareAddr), State: cur.state, Detail: strings.Join(parts, ", ")})
}

func (w *watcher) neighGone(k neighKey, s neighSnap) {
	delete(w.neighs, k)
	mac, _ := net.ParseMAC(s.mac)
	w.fn(Change{Time: w.now(), Kind: KindNeighbor, Iface: w.ifName(k.index), IP: k.ip,
		MAC: mac, State: s.state, Detail: "deleted"})
}

func snapLink(a *netlink.LinkAttrs) linkSnap {
	return linkSnap{
		name:    a.Name,
		oper:    operWord(a.OperState),
		up:      a.Flags&net.FlagUp != 0,
		carrier: a.RawFlags&unix.IFF_LOWER_UP != 0,
		mtu:     a.MTU,
		mac:     macString(a.HardwareAddr),
		master:  a.MasterIndex,
	}
}

func (w *watcher) linkUpdate(typ uint16, l netlink.Link) {
	a := l.Attrs()
	if typ == unix.RTM_DELLINK {
		s, ok := w.links[a.Index]
		if !ok {
			s = snapLink(a)
		}
		w.linkGone(a.Index, s)
		return
	}
	cur := snapLink(a)
	prev, known := w.links[a.Index]
	w.links[a.Index] = cur
	parts := linkDiff(prev, cur, known)
	if w.hook != nil {
		if x := w.hook(a.Index, a.Name); x != "" {
			parts = append(parts, x)
		}
	}
	if len(parts) == 0 {
		return
	}
	w.fn(Change{Time: w.now(), Kind: KindLink, Iface: a.Name, MAC: cloneMAC(a.HardwareAddr),
		State: cur.oper, Detail: strings.Join(parts, ", ")})
}

func (w *watcher) linkGone(index int, s linkSnap) {
	delete(w.links, index)
	if w.gone != nil {
		w.gone(index)
	}
	mac, _ := net.ParseMAC(s.mac)
	w.fn(Change{Time: w.now(), Kind: KindLink, Iface: s.name, MAC: mac, State: s.oper, Detail: "deleted"})
}

// linkDiff says in words what changed between two views of a link.
func linkDiff(prev, cur linkSnap, known bool) []string {
	if !known {
		return []string{"new"}
	}
	var parts []string
	if prev.name != cur.name {
		parts = append(parts, "renamed from "+prev.name)
	}
	if prev.up != cur.up {
		parts = append(parts, map[bool]string{true: "admin up", false: "admin down"}[cur.up])
	}
	if prev.carrier != cur.carrier {
		parts = append(parts, map[bool]string{true: "carrier restored", false: "carrier lost"}[cur.carrier])
	}
	if prev.oper != cur.oper {
		parts = append(parts, "oper "+prev.oper+" -> "+cur.oper)
	}
	if prev.mtu != cur.mtu {
		parts = append(parts, fmt.Sprintf("mtu %d -> %d", prev.mtu, cur.mtu))
	}
	if prev.mac != cur.mac {
		parts = append(parts, "mac "+prev.mac+" -> "+cur.mac)
	}
	if prev.master != cur.master {
		parts = append(parts, fmt.Sprintf("master if%d -> if%d", prev.master, cur.master))
	}
	return parts
}
