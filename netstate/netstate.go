// Package netstate records the host's neighbor, link, address and route state and journals changes to it.
package netstate

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// ErrNoDefaultRoute is wrapped by DefaultRoute when the main table has no
// usable default route.
var ErrNoDefaultRoute = errors.New("no default route in the main routing table")

// Neighbor states, as `ip neigh` prints them. An entry with several NUD bits
// set (rare) has them joined by a space in this order.
const (
	StateIncomplete = "INCOMPLETE"
	StateReachable  = "REACHABLE"
	StateStale      = "STALE"
	StateDelay      = "DELAY"
	StateProbe      = "PROBE"
	StateFailed     = "FAILED"
	StateNoARP      = "NOARP"
	StatePermanent  = "PERMANENT"
	StateNone       = "NONE"
)

// Change kinds.
const (
	KindNeighbor = "neighbor"
	KindLink     = "link"
)

// Neighbor is one entry of the kernel neighbor table (ARP for IPv4, NDP for
// IPv6).
type Neighbor struct {
	IP    netip.Addr       `json:"ip"`
	MAC   net.HardwareAddr `json:"mac,omitempty"` // nil while INCOMPLETE/FAILED
	Iface string           `json:"iface"`
	State string           `json:"state"` // ip-neigh word: REACHABLE STALE DELAY PROBE INCOMPLETE FAILED PERMANENT NOARP NONE
	// Router is set for IPv6 neighbors that announced themselves as routers.
	Router bool `json:"router,omitempty"`
}

// Change is one neighbor or link event seen by Watch.
//
// Neighbor changes carry IP, MAC (when known) and the new State; Detail says
// what changed ("STALE -> REACHABLE", "new", "deleted").
// Link changes carry Iface, the link's MAC and its operational State as `ip
// link` prints it (UP, DOWN, LOWERLAYERDOWN, ...); Detail lists what changed,
// e.g. "carrier lost", "admin down", "speed 1000Mb/s -> 100Mb/s".
type Change struct {
	Time   time.Time        `json:"time"`
	Kind   string           `json:"kind"` // "neighbor" | "link"
	Iface  string           `json:"iface"`
	IP     netip.Addr       `json:"ip,omitzero"`
	MAC    net.HardwareAddr `json:"mac,omitempty"`
	State  string           `json:"state,omitempty"`
	Detail string           `json:"detail,omitempty"`
}
