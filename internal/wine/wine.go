// Package wine tells whether a Windows binary runs under Wine (and lets a test skip there, naming the Wine gap), and runs Windows test binaries under Wine from Linux tests.
package wine

// TB is the part of testing.TB that SkipIf uses (this package does not
// import testing, so that non-test code can call Version).
type TB interface {
	Helper()
	Skipf(format string, args ...any)
}

// SkipIf skips t when the process runs under Wine, naming the Wine gap that
// stops the test (what Wine lacks or does differently from Windows). On
// Windows proper and on other systems it does nothing.
func SkipIf(t TB, gap string) {
	t.Helper()
	if v, ok := Version(); ok {
		t.Skipf("skipping under Wine %s: %s", v, gap)
	}
}
