package configs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arpbox/arpbox/ring"
)

// MinCheckPeriod is the shortest interval or timeout a trigger may set: a
// check every few nanoseconds is a busy loop (2ns ran 1.4 M probes in 4 s).
const MinCheckPeriod = 100 * time.Millisecond

// bpfHint adds to a bpf filter's error what usually causes it: a program
// on one line, as a quoted YAML string (whose line breaks YAML folds into
// spaces) or $(tcpdump -ddd) pasted by a shell makes.
func bpfHint(spec string, err error) error {
	rest, ok := strings.CutPrefix(strings.TrimSpace(spec), "bpf:")
	if !ok || strings.ContainsAny(strings.TrimSpace(rest), "\n,;") {
		return err
	}
	return fmt.Errorf("%w; the program arrived on one line (a quoted YAML string folds its line breaks into spaces): write it as a block, `filter: |` then `bpf:` and tcpdump -ddd's lines indented below it, or separate the instructions with commas", err)
}

// absPath refuses a relative path at key: arpbox runs from / as a service,
// and a path that meant something beside the config file would mean
// something else there. The error says what the path would be next to the
// config file. An empty path is no path.
func (p *parser) absPath(key, path string) {
	if path == "" || filepath.IsAbs(path) {
		return
	}
	hint := ""
	if p.file != DefaultName {
		if dir, err := filepath.Abs(filepath.Dir(p.file)); err == nil {
			hint = fmt.Sprintf(" (beside this file that is %s)", filepath.Join(dir, path))
		}
	}
	p.fail(key, fmt.Errorf("%q is relative: write an absolute path%s, as for data_dir", path, hint))
}

// checkDisk compares ring.min_free, given as a size, with the file system
// the ring will live on (the nearest existing parent of ring.dir): more
// free space than the whole file system can never be had, and the ring
// would prune every segment it writes. A file system that cannot be asked
// (none of the path exists yet, or the platform cannot tell) is not an
// error: the ring checks again when it runs.
func (c *Config) checkDisk(p *parser) {
	if c.Ring.MinFreeBytes <= 0 {
		return
	}
	dir := nearestExisting(c.Ring.Dir)
	if dir == "" {
		return
	}
	_, total, err := ring.DiskFree(dir)
	if err != nil || total == 0 {
		return
	}
	if uint64(c.Ring.MinFreeBytes) >= total {
		p.fail("ring.min_free", fmt.Errorf("%s is more than the whole file system of %s (%s, at %s): the ring could never keep a segment; use a percentage like 5%% or a smaller size",
			FormatSize(c.Ring.MinFreeBytes), c.Ring.Dir, FormatSize(int64(total)), dir))
	}
}

// nearestExisting returns path or its nearest existing parent; "" when
// none exists.
func nearestExisting(path string) string {
	for d := filepath.Clean(path); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			return d
		} else if !errors.Is(err, os.ErrNotExist) {
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
