package netstate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// net.HardwareAddr has no text marshaling, so encoding/json would write it as
// base64. The types below carry MACs as "02:ab:00:00:01:01" instead, and
// leave "->" in details unescaped.

func macString(m net.HardwareAddr) string {
	if len(m) == 0 {
		return ""
	}
	return m.String()
}

func parseMAC(s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, nil
	}
	m, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("netstate: mac %q: %w", s, err)
	}
	return m, nil
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// encodeIndent writes v as indented JSON without HTML escaping.
func encodeIndent(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type neighborJSON struct {
	IP     netip.Addr `json:"ip"`
	MAC    string     `json:"mac,omitempty"`
	Iface  string     `json:"iface"`
	State  string     `json:"state"`
	Router bool       `json:"router,omitempty"`
}

// MarshalJSON writes {ip, mac, iface, state, router} with the MAC in colon
// notation.
func (n Neighbor) MarshalJSON() ([]byte, error) {
	return marshal(neighborJSON{n.IP, macString(n.MAC), n.Iface, n.State, n.Router})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *Neighbor) UnmarshalJSON(b []byte) error {
	var v neighborJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	mac, err := parseMAC(v.MAC)
	if err != nil {
		return err
	}
	*n = Neighbor{IP: v.IP, MAC: mac, Iface: v.Iface, State: v.State, Router: v.Router}
	return nil
}

type changeJSON struct {
	Time   time.Time  `json:"time"`
	Kind   string     `json:"kind"`
	Iface  string     `json:"iface"`
	IP     netip.Addr `json:"ip,omitzero"`
	MAC    string     `json:"mac,omitempty"`
	State  string     `json:"state,omitempty"`
	Detail string     `json:"detail,omitempty"`
}

// MarshalJSON writes {time, kind, iface, ip, mac, state, detail} with the MAC
// in colon notation.
func (c Change) MarshalJSON() ([]byte, error) {
	return marshal(changeJSON{c.Time, c.Kind, c.Iface, c.IP, macString(c.MAC), c.State, c.Detail})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Change) UnmarshalJSON(b []byte) error {
	var v changeJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	mac, err := parseMAC(v.MAC)
	if err != nil {
		return err
	}
	*c = Change{Time: v.Time, Kind: v.Kind, Iface: v.Iface, IP: v.IP, MAC: mac, State: v.State, Detail: v.Detail}
	return nil
}

// MarshalJSON writes the MAC in colon notation.
func (l Link) MarshalJSON() ([]byte, error) {
	type plain Link
	return marshal(struct {
		plain
		MAC string `json:"mac,omitempty"`
	}{plain(l), macString(l.MAC)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Link) UnmarshalJSON(b []byte) error {
	type plain Link
	v := struct {
		*plain
		MAC string `json:"mac"`
	}{plain: (*plain)(l)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var err error
	l.MAC, err = parseMAC(v.MAC)
	return err
}
