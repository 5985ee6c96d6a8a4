// arpbox sits idle most of its life: don't wake every second to re-check
// the CPU limit (Go 1.25+); GOMAXPROCS is still set from it at start.

//go:debug updatemaxprocs=0

// Command arpbox is a flight recorder for ARP: it keeps the last minutes of
// ARP on disk and freezes them into an incident bundle when something fails.
package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"

	"github.com/arpbox/arpbox/internal/buildinfo"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// usage is the help "arpbox -h" prints.
//
//go:embed usage.txt
var usage string

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs the subcommand named by args[0] and returns the exit code:
// 0 ok, 1 failure, 2 usage or configuration error.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(rest, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "snapshot":
		return cmdSnapshot(rest, stdout, stderr)
	case "snapshots":
		return cmdSnapshots(rest, stdout, stderr)
	case "bundles":
		return cmdBundles(rest, stdout, stderr)
	case "status":
		return cmdStatus(rest, stdout, stderr)
	case "report":
		return cmdReport(rest, stdout, stderr)
	case "service":
		return cmdService(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "arpbox %s\n", buildinfo.Version(version))
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "arpbox: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// fail prints err as "arpbox: err" and returns code, the exit code.
func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "arpbox: %v\n", err)
	return code
}
