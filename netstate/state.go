package netstate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// State is the host's network state at one moment, as Capture read it.
//
// The JSON form (WriteJSON) uses the field names in the struct tags below;
// they are part of the bundle format and do not change:
//
//	time        RFC 3339 timestamp of the capture
//	hostname    os.Hostname
//	kernel      "Linux <release> <version> <machine>"
//	neighbors   [{ip, mac, iface, state, router}]           like `ip neigh`
//	links       [{index, name, kind, oper_state, admin_up, carrier, flags,
//	              mac, mtu, speed_mbps, duplex, autoneg, port, master,
//	              parent, vlan_id, bond_mode, slave_state}]  like `ip -d link` + ethtool
//	addrs       [{iface, family, prefix, scope, label, flags}]  like `ip addr`
//	routes      [{dst, gateway, iface, src, protocol, scope, type, metric,
//	              default, nexthops}]                      like `ip route` (main table)
//	errors      ["links: ...", "ethtool eth0: ..."]       pieces that could not be read
//
// A piece that cannot be read is left empty and explained in errors: a
// partial state beats none.
type State struct {
	Time      time.Time  `json:"time"`
	Hostname  string     `json:"hostname"`
	Kernel    string     `json:"kernel"`
	Neighbors []Neighbor `json:"neighbors"`
	Links     []Link     `json:"links"`
	Addrs     []Addr     `json:"addrs"`
	Routes    []Route    `json:"routes"`
	Errors    []string   `json:"errors,omitempty"`
}

// Link is one network interface.
type Link struct {
	Index     int              `json:"index"`
	Name      string           `json:"name"`
	Kind      string           `json:"kind"`       // "device", "veth", "bridge", "bond", "vlan", ...
	OperState string           `json:"oper_state"` // as `ip link`: UP, DOWN, LOWERLAYERDOWN, UNKNOWN, ...
	AdminUp   bool             `json:"admin_up"`
	Carrier   bool             `json:"carrier"`
	Flags     []string         `json:"flags"` // as `ip link`: BROADCAST, MULTICAST, UP, LOWER_UP, NO-CARRIER, ...
	MAC       net.HardwareAddr `json:"mac,omitempty"`
	MTU       int              `json:"mtu"`
	// SpeedMbps is the negotiated speed from ethtool; 0 when unknown (virtual
	// links without ethtool support, no carrier, or an old kernel).
	SpeedMbps  int    `json:"speed_mbps"`
	Duplex     string `json:"duplex"`            // "full", "half" or "unknown"
	Autoneg    string `json:"autoneg,omitempty"` // "on", "off" or empty when unknown
	Port       string `json:"port,omitempty"`    // ethtool port type: "twisted pair", "fibre", ...
	Master     string `json:"master,omitempty"`  // bridge or bond this link belongs to
	Parent     string `json:"parent,omitempty"`  // lower device of a vlan/macvlan
	VLANID     int    `json:"vlan_id,omitempty"`
	BondMode   string `json:"bond_mode,omitempty"`   // for bonds: "active-backup", "802.3ad", ...
	SlaveState string `json:"slave_state,omitempty"` // for bond members: "ACTIVE" or "BACKUP"
}

// Addr is one address on an interface.
type Addr struct {
	Iface  string       `json:"iface"`
	Family string       `json:"family"` // "inet" or "inet6"
	Prefix netip.Prefix `json:"prefix"` // address with its prefix length, e.g. 10.0.0.2/24
	Scope  string       `json:"scope"`  // "global", "link", "host", ...
	Label  string       `json:"label,omitempty"`
	Flags  []string     `json:"flags,omitempty"` // "secondary", "dynamic", "tentative", "deprecated", "dadfailed", ...
}

// Route is one route of the main table.
type Route struct {
	Dst      netip.Prefix `json:"dst"` // 0.0.0.0/0 or ::/0 for the default route
	Gateway  netip.Addr   `json:"gateway,omitzero"`
	Iface    string       `json:"iface,omitempty"`
	Src      netip.Addr   `json:"src,omitzero"`
	Protocol string       `json:"protocol,omitempty"` // "kernel", "boot", "static", "dhcp", "ra", ...
	Scope    string       `json:"scope,omitempty"`    // "link", "host"; empty for global
	Type     string       `json:"type,omitempty"`     // empty for unicast; "unreachable", "blackhole", ...
	Metric   int          `json:"metric,omitempty"`
	Default  bool         `json:"default,omitempty"` // destination is 0.0.0.0/0 or ::/0
	NextHops []NextHop    `json:"nexthops,omitempty"`
}

// NextHop is one path of a multipath route.
type NextHop struct {
	Gateway netip.Addr `json:"gateway,omitzero"`
	Iface   string     `json:"iface,omitempty"`
	Weight  int        `json:"weight,omitempty"`
}

// WriteJSON writes s as indented JSON (see State for the field names).
func (s *State) WriteJSON(w io.Writer) error {
	var b bytes.Buffer
	if err := encodeIndent(&b, s); err != nil {
		return fmt.Errorf("netstate: write state json: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("netstate: write state json: %w", err)
	}
	return nil
}

// ReadStateJSON reads what WriteJSON wrote.
func ReadStateJSON(r io.Reader) (*State, error) {
	var s State
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("netstate: read state json: %w", err)
	}
	return &s, nil
}

// SpeedString formats a speed the way ethtool does ("1000Mb/s"), or
// "unknown" for 0.
func SpeedString(mbps int) string {
	if mbps <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%dMb/s", mbps)
}

// DefaultRoutes returns the default routes of s, lowest metric first, IPv4
// before IPv6.
func (s *State) DefaultRoutes() []Route {
	var out []Route
	for _, r := range s.Routes {
		if r.Default {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Dst.Addr().Is4() != out[j].Dst.Addr().Is4() {
			return out[i].Dst.Addr().Is4()
		}
		return out[i].Metric < out[j].Metric
	})
	return out
}

// WriteText writes s for a person: a summary, then the neighbor table,
// links, addresses and routes in the shape `ip neigh`, `ip -br link`, `ip
// addr` and `ip route` print them, with speed and duplex added to links.
func (s *State) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("Network state of %s at %s\n", s.Hostname, s.Time.UTC().Format(textTime))
	ew.printf("Kernel: %s\n", s.Kernel)
	defs := s.DefaultRoutes()
	if len(defs) == 0 {
		ew.printf("Default route: none\n")
	}
	for _, r := range defs {
		ew.printf("Default route: %s\n", routeLine(r))
	}
	ew.printf("Neighbors: %s\n", neighborSummary(s.Neighbors))
	if len(s.Errors) > 0 {
		ew.printf("Could not read: %d piece(s), see Errors at the end\n", len(s.Errors))
	}

	ew.printf("\n== Neighbors (ip neigh) ==\n")
	noarp := 0
	for _, n := range s.Neighbors {
		if n.State == StateNoARP {
			noarp++ // multicast and loopback entries; `ip neigh` hides them too
			continue
		}
		ew.printf("%s\n", neighLine(n))
	}
	if len(s.Neighbors) == noarp {
		ew.printf("(none)\n")
	}
	if noarp > 0 {
		ew.printf("(%d NOARP entries not shown: multicast/loopback, as `ip neigh` hides them; they are in the JSON)\n", noarp)
	}

	ew.printf("\n== Links (ip -br link, with ethtool speed/duplex) ==\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "NAME\tSTATE\tMAC\tMTU\tSPEED\tDUPLEX\tAUTONEG\tKIND\tFLAGS\tDETAILS\n")
	for _, l := range s.Links {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t<%s>\t%s\n", l.Name, l.OperState, orDash(macString(l.MAC)),
			l.MTU, SpeedString(l.SpeedMbps), orDash(l.Duplex), orDash(l.Autoneg), l.Kind,
			strings.Join(l.Flags, ","), orDash(linkDetails(l)))
	}
	_ = tw.Flush()

	ew.printf("\n== Addresses (ip addr) ==\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, a := range s.Addrs {
		extra := ""
		if a.Label != "" && a.Label != a.Iface {
			extra = " label " + a.Label
		}
		if len(a.Flags) > 0 {
			extra += " " + strings.Join(a.Flags, " ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\tscope %s%s\n", a.Iface, a.Family, a.Prefix, a.Scope, extra)
	}
	_ = tw.Flush()
	if len(s.Addrs) == 0 {
		ew.printf("(none)\n")
	}

	ew.printf("\n== Routes (ip route, main table; default routes first) ==\n")
	for _, r := range defs {
		ew.printf("%s\n", routeLine(r))
	}
	for _, r := range s.Routes {
		if !r.Default {
			ew.printf("%s\n", routeLine(r))
		}
	}
	if len(s.Routes) == 0 {
		ew.printf("(none)\n")
	}

	if len(s.Errors) > 0 {
		ew.printf("\n== Errors (pieces that could not be read) ==\n")
		for _, e := range s.Errors {
			ew.printf("%s\n", e)
		}
	}
	if ew.err != nil {
		return fmt.Errorf("netstate: write state text: %w", ew.err)
	}
	return nil
}

const textTime = "2006-01-02 15:04:05.000000 UTC"

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func neighborSummary(ns []Neighbor) string {
	if len(ns) == 0 {
		return "0"
	}
	count := map[string]int{}
	for _, n := range ns {
		count[n.State]++
	}
	var parts []string
	for _, st := range []string{StateReachable, StateStale, StateDelay, StateProbe, StateIncomplete,
		StateFailed, StatePermanent, StateNoARP, StateNone} {
		if count[st] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", st, count[st]))
			delete(count, st)
		}
	}
	var rest []string
	for st := range count {
		rest = append(rest, st)
	}
	sort.Strings(rest)
	for _, st := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", st, count[st]))
	}
	return fmt.Sprintf("%d (%s)", len(ns), strings.Join(parts, ", "))
}

// neighLine formats n like `ip neigh`: "10.0.0.5 dev eth1 lladdr 00:11:.. REACHABLE".
func neighLine(n Neighbor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s dev %s", n.IP, n.Iface)
	if len(n.MAC) > 0 {
		fmt.Fprintf(&b, " lladdr %s", n.MAC)
	}
	if n.Router {
		b.WriteString(" router")
	}
	fmt.Fprintf(&b, " %s", n.State)
	return b.String()
}

func linkDetails(l Link) string {
	var parts []string
	if l.Master != "" {
		parts = append(parts, "master "+l.Master)
	}
	if l.Parent != "" {
		parts = append(parts, "parent "+l.Parent)
	}
	if l.VLANID != 0 {
		parts = append(parts, fmt.Sprintf("vlan id %d", l.VLANID))
	}
	if l.BondMode != "" {
		parts = append(parts, "bond mode "+l.BondMode)
	}
	if l.SlaveState != "" {
		parts = append(parts, "bond member "+l.SlaveState)
	}
	if l.Port != "" {
		parts = append(parts, "port "+l.Port)
	}
	if !l.Carrier && l.AdminUp {
		parts = append(parts, "no carrier")
	}
	return strings.Join(parts, ", ")
}

// routeLine formats r like `ip route`.
func routeLine(r Route) string {
	var b strings.Builder
	if r.Type != "" {
		b.WriteString(r.Type + " ")
	}
	if r.Default {
		b.WriteString("default")
		if r.Dst.Addr().Is6() {
			b.WriteString(" (inet6)")
		}
	} else {
		b.WriteString(r.Dst.String())
	}
	if r.Gateway.IsValid() {
		fmt.Fprintf(&b, " via %s", r.Gateway)
	}
	if r.Iface != "" {
		fmt.Fprintf(&b, " dev %s", r.Iface)
	}
	if r.Protocol != "" {
		fmt.Fprintf(&b, " proto %s", r.Protocol)
	}
	if r.Scope != "" {
		fmt.Fprintf(&b, " scope %s", r.Scope)
	}
	if r.Src.IsValid() {
		fmt.Fprintf(&b, " src %s", r.Src)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	for _, nh := range r.NextHops {
		b.WriteString("\n\tnexthop")
		if nh.Gateway.IsValid() {
			fmt.Fprintf(&b, " via %s", nh.Gateway)
		}
		if nh.Iface != "" {
			fmt.Fprintf(&b, " dev %s", nh.Iface)
		}
		if nh.Weight != 0 {
			fmt.Fprintf(&b, " weight %d", nh.Weight)
		}
	}
	return b.String()
}

// errWriter keeps the first write error so the text writers can stay linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
