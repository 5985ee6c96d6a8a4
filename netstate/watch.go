package netstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/arpbox/arpbox/internal/backoff"
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
// the gap. On an OS without change notifications it re-reads the tables
// every pollEvery and reports the differences. It returns nil when ctx is cancelled, and an error only if the very
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
	// open, if set, replaces openSystem (tests use a fake OS).
	open func(context.Context) (system, error)
	// pollEvery, if set, replaces pollEvery.
	pollEvery time.Duration
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
	sys    system
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
	// pollEvery is how often the tables are re-read on an OS that does not
	// announce changes.
	pollEvery = 2 * time.Second
)

func watch(ctx context.Context, fn func(Change), opts watchOpts) error {
	open := opts.open
	if open == nil {
		open = openSystem
	}
	sys, err := open(ctx)
	if err != nil {
		return fmt.Errorf("netstate: watch: %w", err)
	}
	defer sys.close()
	w := &watcher{
		sys: sys, fn: fn, hook: opts.linkHook, gone: opts.linkGone, now: time.Now,
		neighs: make(map[neighKey]neighSnap),
		links:  make(map[int]linkSnap),
	}
	poll := opts.pollEvery
	if poll <= 0 {
		poll = pollEvery
	}
	retry := backoff.New(watchBackoffMin, watchBackoffMax)
	for first := true; ; first = false {
		start := time.Now()
		subscribed, err := w.session(ctx, !first, opts.rcvBuf, poll)
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
			retry.Reset()
		}
		if retry.Wait(ctx) != nil {
			return nil
		}
	}
}

// session subscribes, syncs both tables (reporting differences if report is
// set) and relays notifications (or polls the tables) until ctx is
// cancelled or the subscription ends. It returns whether it got subscribed
// and why it ended.
func (w *watcher) session(ctx context.Context, report bool, rcvBuf int, poll time.Duration) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, ended, err := w.sys.subscribe(sctx, rcvBuf)
	if err != nil {
		return false, fmt.Errorf("netstate: watch: %w", err)
	}
	stop := func() {
		cancel()
		if events == nil { // polling
			return
		}
		for range events {
		}
	}
	if err := w.sync(report); err != nil {
		stop()
		return true, fmt.Errorf("netstate: watch: %w", err)
	}
	var tick <-chan time.Time
	if events == nil {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			stop()
			return true, nil
		case <-tick:
			if err := w.sync(true); err != nil {
				stop()
				return true, fmt.Errorf("netstate: watch: %w", err)
			}
		case ev, ok := <-events:
			if !ok {
				err := ended()
				if err == nil {
					err = errors.New("closed")
				}
				return true, fmt.Errorf("netstate: watch: %w", err)
			}
			switch {
			case ev.Link != nil:
				w.linkUpdate(*ev.Link, ev.Deleted)
			case ev.Neighbor != nil:
				w.neighUpdate(*ev.Neighbor, ev.Deleted)
			default:
				if err := w.sync(true); err != nil {
					stop()
					return true, fmt.Errorf("netstate: watch: %w", err)
				}
			}
		}
	}
}

// sync reads both tables and brings the watcher's view up to date, reporting
// differences when report is set (after a resubscription, or when polling).
func (w *watcher) sync(report bool) error {
	links, err := w.sys.links()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	seenLinks := make(map[int]bool, len(links))
	for _, l := range links {
		seenLinks[l.Index] = true
		if report {
			w.linkUpdate(l, false)
		} else {
			w.links[l.Index] = snapLink(l)
			if w.hook != nil {
				w.hook(l.Index, l.Name) // baseline
			}
		}
	}
	for idx, s := range w.links {
		if !seenLinks[idx] {
			w.linkGone(idx, s)
		}
	}
	neighs, err := w.sys.neighbors()
	if err != nil {
		return fmt.Errorf("list neighbors: %w", err)
	}
	seen := make(map[neighKey]bool, len(neighs))
	for _, n := range neighs {
		k := neighKey{n.Index, n.IP}
		seen[k] = true
		if report {
			w.neighUpdate(n, false)
		} else {
			w.neighs[k] = neighSnap{n.State, macString(n.MAC)}
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
	if w.sys != nil {
		if name := w.sys.linkName(index); name != "" {
			return name
		}
	}
	return fmt.Sprintf("if%d", index)
}

func (w *watcher) neighUpdate(n osNeighbor, deleted bool) {
	k := neighKey{n.Index, n.IP}
	cur := neighSnap{n.State, macString(n.MAC)}
	if deleted {
		delete(w.neighs, k)
		w.fn(Change{Time: w.now(), Kind: KindNeighbor, Iface: w.ifName(n.Index), IP: n.IP,
			MAC: cloneMAC(n.MAC), State: cur.state, Detail: "deleted"})
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
	w.fn(Change{Time: w.now(), Kind: KindNeighbor, Iface: w.ifName(n.Index), IP: n.IP,
		MAC: cloneMAC(n.MAC), State: cur.state, Detail: strings.Join(parts, ", ")})
}

func (w *watcher) neighGone(k neighKey, s neighSnap) {
	delete(w.neighs, k)
	mac, _ := net.ParseMAC(s.mac)
	w.fn(Change{Time: w.now(), Kind: KindNeighbor, Iface: w.ifName(k.index), IP: k.ip,
		MAC: mac, State: s.state, Detail: "deleted"})
}

func snapLink(l osLink) linkSnap {
	return linkSnap{
		name:    l.Name,
		oper:    l.Oper,
		up:      l.Up,
		carrier: l.Carrier,
		mtu:     l.MTU,
		mac:     macString(l.MAC),
		master:  l.Master,
	}
}

func (w *watcher) linkUpdate(l osLink, deleted bool) {
	if deleted {
		s, ok := w.links[l.Index]
		if !ok {
			s = snapLink(l)
		}
		w.linkGone(l.Index, s)
		return
	}
	cur := snapLink(l)
	prev, known := w.links[l.Index]
	w.links[l.Index] = cur
	parts := linkDiff(prev, cur, known)
	if w.hook != nil {
		if x := w.hook(l.Index, l.Name); x != "" {
			parts = append(parts, x)
		}
	}
	if len(parts) == 0 {
		return
	}
	w.fn(Change{Time: w.now(), Kind: KindLink, Iface: l.Name, MAC: cloneMAC(l.MAC),
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

// Neighbors returns the whole neighbor table, IPv4 (ARP) and IPv6 (NDP),
// sorted by interface and address. Bridge FDB entries are left out.
//
// On Linux the netlink socket is opened on the calling goroutine's thread,
// so calling Neighbors inside a network namespace (e.g. from
// nstest.Host.Do) reads that namespace's table; the context's deadline, if
// any, bounds each read.
func Neighbors(ctx context.Context) ([]Neighbor, error) {
	sys, err := openSystem(ctx)
	if err != nil {
		return nil, fmt.Errorf("netstate: neighbors: %w", err)
	}
	defer sys.close()
	links, err := sys.links()
	if err != nil {
		return nil, fmt.Errorf("netstate: neighbors: list links: %w", err)
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Index] = l.Name
	}
	list, err := sys.neighbors()
	if err != nil {
		return nil, fmt.Errorf("netstate: neighbors: list neighbors: %w", err)
	}
	out := make([]Neighbor, 0, len(list))
	for _, n := range list {
		out = append(out, Neighbor{IP: n.IP, MAC: cloneMAC(n.MAC), Iface: ifName(names, n.Index), State: n.State, Router: n.Router})
	}
	sortNeighbors(out)
	return out, nil
}

func sortNeighbors(ns []Neighbor) {
	sort.Slice(ns, func(i, j int) bool {
		if ns[i].Iface != ns[j].Iface {
			return ns[i].Iface < ns[j].Iface
		}
		return ns[i].IP.Less(ns[j].IP)
	})
}

func ifName(names map[int]string, index int) string {
	if n, ok := names[index]; ok {
		return n
	}
	return fmt.Sprintf("if%d", index)
}

func cloneMAC(m net.HardwareAddr) net.HardwareAddr {
	if len(m) == 0 {
		return nil
	}
	return bytes.Clone(m)
}
