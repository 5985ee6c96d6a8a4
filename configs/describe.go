package configs

import (
	"fmt"
	"io"
)

// Describe writes what c means, in plain words (`arpbox check-config`).
func (c *Config) Describe(w io.Writer) error {
	ew := &errWriter{w: w}
	ifaces := fmt.Sprint(c.Capture.Interfaces)
	if len(c.Capture.Interfaces) == 0 {
		ifaces = "(the default route's interface)"
	}
	ew.printf("%s: ok (sha256 %s)\n", c.Source, c.Digest[:16])
	ew.printf("capture: %s, filter %s, snaplen %d\n", ifaces, c.Capture.Filter.Text, c.Capture.SnapLen)
	ew.printf("ring: %s, segments of %s or %s, at most %s", c.Ring.Dir, FormatSize(c.Ring.SegmentBytes), c.Ring.SegmentAge, FormatSize(c.Ring.MaxBytes))
	if c.Ring.MaxSegments > 0 {
		ew.printf(" / %d segments", c.Ring.MaxSegments)
	}
	ew.printf("\n")
	ew.printf("snapshots: %s, %s before and %s after a trigger, cooldown %s, keep %d / %s\n",
		c.Snapshots.Dir, c.Snapshots.Before, c.Snapshots.After, c.Snapshots.Cooldown, c.Snapshots.MaxCount, FormatSize(c.Snapshots.MaxSize))
	ew.printf("control: %s", c.Control.Socket)
	if c.Control.Group != "" || c.Control.Mode != 0 {
		mode, group := c.Control.Mode, c.Control.Group
		if mode == 0 {
			mode = 0o660
		}
		if group == "" {
			group = "arpbox's primary group"
		}
		ew.printf(" (mode %#o, group %s)", mode, group)
	}
	ew.printf("\n")
	if l := c.Control.Listen; l != "" {
		auth := "no token (loopback only)"
		if c.Control.TokenFile != "" {
			auth = "bearer token from " + c.Control.TokenFile
		}
		scheme := "http"
		if c.Control.TLSCert != "" {
			scheme = "https"
		}
		ew.printf("http api: %s://%s, %s\n", scheme, l, auth)
	}
	c.describeUpload(ew)
	for _, t := range c.Triggers {
		target := t.Target
		if len(t.Command) > 0 {
			target = fmt.Sprintf("%q", t.Command)
		}
		ew.printf("trigger %s: %s %s every %s (timeout %s), fires after %d failures, re-arms after %d successes\n",
			t.Name, t.Check, target, t.Interval, t.Timeout, t.FailAfter, t.RecoverAfter)
	}
	c.Fleet.describe(ew) // fleet.go
	return ew.err
}

// FormatSize writes n bytes the way sizes are written in the
// configuration: "512 B", "10 MiB", "1.5 GiB".
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.4g %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// errWriter keeps the first write error so a run of printfs checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
