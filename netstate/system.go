package netstate

import (
	"context"
	"net"
	"net/netip"
)

// The per-OS seam under Watch, Neighbors and Journal.Run: read the link and
// neighbor tables whole, and subscribe to changes where the OS announces
// them. Linux implements it with rtnetlink (system_linux.go); elsewhere
// openSystem returns an error wrapping errors.ErrUnsupported.
//
//	openSystem(ctx context.Context) (system, error)
//	openLinkModes() (read func(index int, name string) (linkMode, error), close func(), err error)

// system is one open connection to the OS's network tables. It belongs to
// one goroutine (the watcher's), except that subscribe's goroutine, if any,
// runs until its ctx is cancelled.
type system interface {
	// links and neighbors dump the tables whole (retrying a dump the OS
	// interrupted because the table changed under it).
	links() ([]osLink, error)
	neighbors() ([]osNeighbor, error)
	// linkName returns the name of the link with this index, "" if there
	// is none (it may be gone already).
	linkName(index int) string
	// subscribe starts change notifications. The channel delivers them in
	// order until ctx is cancelled or the subscription fails, and is then
	// closed; after that, ended says why (nil when ctx was cancelled). The
	// caller reads the channel until it is closed, which is how it waits
	// for the goroutines behind it. A nil channel and nil error mean the
	// OS has no notifications: the watcher polls the tables instead.
	// rcvBuf, if set, sizes the OS socket buffer (tests provoke overflows
	// with a tiny one); an OS without such a buffer ignores it.
	subscribe(ctx context.Context, rcvBuf int) (events <-chan osEvent, ended func() error, err error)
	close()
}

// osLink is one link as the OS reports it, in the words `ip link` prints.
type osLink struct {
	Index   int
	Name    string
	Oper    string // operational state: UP, DOWN, LOWERLAYERDOWN, ...
	Up      bool   // administratively up
	Carrier bool
	MTU     int
	MAC     net.HardwareAddr
	Master  int // index of the bridge/bond it belongs to, 0 for none
}

// osNeighbor is one ARP or NDP entry as the OS reports it.
type osNeighbor struct {
	Index  int // the link's
	IP     netip.Addr
	MAC    net.HardwareAddr // nil while unresolved
	State  string           // ip-neigh words: REACHABLE, STALE, FAILED, ...
	Router bool
}

// osEvent is one change notification: a link or a neighbor that is new,
// changed or (Deleted) gone; or, with neither set, Resync: something
// changed that the OS did not say, and the tables must be read again.
type osEvent struct {
	Link     *osLink
	Neighbor *osNeighbor
	Deleted  bool
}

// linkMode is a link's speed, duplex and autonegotiation.
type linkMode struct {
	speed   int    // Mb/s, 0 unknown
	duplex  string // full, half, unknown
	autoneg string // on, off, "" unknown
}
