package snapshot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/nstest"
)

// TestNetstateCollectorLive reads the real state of a namespace made for the
// test (root only).
func TestNetstateCollectorLive(t *testing.T) {
	nstest.RequireRoot(t)
	a := nstest.NewHost(t, "sa")
	b := nstest.NewHost(t, "sb")
	la, lb := nstest.Veth(t, a, "10.206.1.1/24", b, "10.206.1.2/24")
	a.MustRun("ip", "neigh", "replace", "10.206.1.9", "dev", la.Name, "lladdr", "02:ab:00:00:99:09", "nud", "permanent")
	var frozen Collector
	err := a.Do(func() error {
		var err error
		frozen, err = NewNetstateCollector(nil).Freeze(context.Background(), bundle.Event{})
		return err
	})
	if err != nil {
		t.Fatalf("Freeze in namespace: %v", err)
	}
	bd := &Bundle{ID: "live", Dir: t.TempDir()}
	if err := frozen.Collect(context.Background(), bd); err != nil {
		t.Fatal(err)
	}
	txt, _ := os.ReadFile(filepath.Join(bd.Dir, "netstate.txt"))
	for _, want := range []string{la.Name, "10.206.1.1", "10.206.1.9", "02:ab:00:00:99:09"} {
		if !strings.Contains(string(txt), want) {
			t.Errorf("netstate.txt lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(string(txt), lb.Name) {
		t.Errorf("netstate.txt shows the peer namespace's %s:\n%s", lb.Name, txt)
	}
	var js map[string]any
	b2, _ := os.ReadFile(filepath.Join(bd.Dir, "netstate.json"))
	if err := json.Unmarshal(b2, &js); err != nil {
		t.Errorf("netstate.json: %v", err)
	}
}
