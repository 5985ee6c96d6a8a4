package ring

import (
	"strings"
	"testing"
)

// HostInfo names the Windows version (RtlGetVersion) and a processor (the
// registry's ProcessorNameString, or its Identifier).
func TestHostInfoWindows(t *testing.T) {
	h := HostInfo()
	if !strings.HasPrefix(h.OS, "Windows ") || !strings.Contains(h.OS, "(build ") {
		t.Errorf("HostInfo().OS = %q, want \"Windows <major>.<minor> (build <n>)\"", h.OS)
	}
	if h.Hardware == "" {
		t.Error("HostInfo().Hardware is empty")
	}
	t.Logf("%+v", h)
}
