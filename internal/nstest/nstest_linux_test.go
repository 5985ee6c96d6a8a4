package nstest

import (
	"net"
	"strings"
	"testing"
)

func TestVethPing(t *testing.T) {
	RequireRoot(t, "ping")
	a, b := NewHost(t, "a"), NewHost(t, "b")
	la, lb := Veth(t, a, "10.203.0.1/24", b, "10.203.0.2/24")
	out := a.MustRun("ping", "-c", "1", "-W", "2", lb.Addr().String())
	if !strings.Contains(out, "1 received") {
		t.Fatalf("ping across veth: %s", out)
	}
	// Do really runs inside the namespace: the veth end is visible there.
	err := a.Do(func() error {
		_, err := net.InterfaceByName(la.Name)
		return err
	})
	if err != nil {
		t.Fatalf("Do in %s: %v", a.NS, err)
	}
	if _, err := net.InterfaceByName(la.Name); err == nil {
		t.Fatalf("%s visible outside its namespace", la.Name)
	}
}
