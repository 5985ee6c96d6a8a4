package capture

import "fmt"

// checkIfaceName checks an interface name against Linux's limit
// (IFNAMSIZ less the NUL).
func checkIfaceName(name string) error {
	if len(name) > 15 {
		return fmt.Errorf("interfaces: %q is longer than 15 bytes, the limit for interface names", name)
	}
	return nil
}

// liveAvailable: AF_PACKET is always there; permissions show at open.
func liveAvailable() error { return nil }
