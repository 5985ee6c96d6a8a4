package netstate

import (
	"encoding/json"
	"fmt"
	"net"
)

// net.HardwareAddr has no text marshaling, so encoding/json would write it as
// base64. The types below carry MACs as "02:ab:00:00:01:01" instead.

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

// MarshalJSON writes the MAC in colon notation.
func (n Neighbor) MarshalJSON() ([]byte, error) {
	type plain Neighbor
	return json.Marshal(struct {
		plain
		MAC string `json:"mac,omitempty"`
	}{plain(n), macString(n.MAC)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *Neighbor) UnmarshalJSON(b []byte) error {
	type plain Neighbor
	v := struct {
		*plain
		MAC string `json:"mac"`
	}{plain: (*plain)(n)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var err error
	n.MAC, err = parseMAC(v.MAC)
	return err
}

// MarshalJSON writes the MAC in colon notation.
func (c Change) MarshalJSON() ([]byte, error) {
	type plain Change
	return json.Marshal(struct {
		plain
		MAC string `json:"mac,omitempty"`
	}{plain(c), macString(c.MAC)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Change) UnmarshalJSON(b []byte) error {
	type plain Change
	v := struct {
		*plain
		MAC string `json:"mac"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var err error
	c.MAC, err = parseMAC(v.MAC)
	return err
}
