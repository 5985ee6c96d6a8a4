// Package buildinfo names the build of arpbox a binary is, for "arpbox version", segments and bundles.
package buildinfo

import "runtime/debug"

// Version returns set (a version given at build time with -ldflags -X) if
// it is not "", else the module version the binary was built as, else
// "dev-" and the first 12 digits of the VCS revision ("-dirty" with
// uncommitted changes), else "dev".
func Version(set string) string {
	if set != "" {
		return set
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
}

// fromBuildInfo is Version of a binary built without -ldflags -X.
func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
