// Package configs holds arpbox's configuration: the YAML schema, its strict parser, and the shipped example files.
package configs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
	"github.com/arpbox/arpbox/upload"
)

//go:embed *.yaml
var shipped embed.FS

// DefaultName is how the embedded default configuration is named in errors
// and manifests.
const DefaultName = "<embedded default.yaml>"

// GatewayTarget is the trigger target that stands for the next hop of the
// default route, resolved when arpbox starts.
const GatewayTarget = "gateway"

// Config is a checked configuration, ready to hand to each package.
type Config struct {
	Source string // file path, or DefaultName
	Digest string // SHA-256 of the file's bytes, hex

	DataDir string
	Log     Log
	Capture Capture
	Ring    ring.Config
	// Snapshots is the bundle step's configuration.
	Snapshots snapshot.Config
	Control   Control
	Triggers  []trigger.Spec
	Upload    *upload.Config // nil: bundles stay on the host
	Fleet     Fleet          // peers:, alertmanager: (fleet.go)
}

// Log configures the structured logger.
type Log struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// Capture lists what to record and how.
type Capture struct {
	Interfaces  []string // empty: the default route's interface
	Filter      capture.Filter
	SnapLen     int
	Promiscuous bool
	BufferBytes int
}

// Control configures the local control socket, the trigger file and the
// optional HTTP listener.
type Control struct {
	Socket string
	// Group and Mode say who besides root and arpbox's user may use the
	// socket: control.group (a name or number; empty: arpbox's primary
	// group) and control.mode (default 0660). Unix only.
	Group       string
	Mode        fs.FileMode
	TriggerFile string
	// Listen is the HTTP API's host:port; empty: no HTTP listener. An
	// address beyond loopback requires TokenFile.
	Listen string
	// TokenFile holds the bearer token HTTP clients must send; read at start
	// with ReadToken.
	TokenFile string
	// TLSCert and TLSKey, both or neither, serve the HTTP API over TLS.
	TLSCert string
	TLSKey  string
}

// Error is a configuration problem at a place in a file.
type Error struct {
	File  string
	Line  int    // 0 when unknown
	Field string // dotted path, e.g. "ring.segment_size" or "triggers[1].target"
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Default returns the embedded default configuration's bytes.
func Default() []byte {
	b, err := shipped.ReadFile("default.yaml")
	if err != nil {
		panic("configs: default.yaml is not embedded: " + err.Error()) // a build defect, not input
	}
	return b
}

// Shipped returns the names of the example files embedded in the binary.
func Shipped() []string {
	ents, _ := shipped.ReadDir(".")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// Load reads and checks the file at path; an empty path loads the embedded
// default.
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse(DefaultName, Default())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, b, true)
}

// raw mirrors the YAML file; every key is optional.
type raw struct {
	DataDir   string       `yaml:"data_dir"`
	Log       rawLog       `yaml:"log"`
	Capture   rawCapture   `yaml:"capture"`
	Ring      rawRing      `yaml:"ring"`
	Snapshots rawSnapshots `yaml:"snapshots"`
	Control   rawControl   `yaml:"control"`
	Triggers  []rawTrigger `yaml:"triggers"`
	Upload    *rawUpload   `yaml:"upload"`
	Fleet     rawFleet     `yaml:",inline"` // peers:, alertmanager: (fleet.go)
}

type rawLog struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

type rawCapture struct {
	Interfaces  []string `yaml:"interfaces"`
	Filter      string   `yaml:"filter"`
	SnapLen     *int     `yaml:"snaplen"`
	Promiscuous bool     `yaml:"promiscuous"`
	BufferSize  string   `yaml:"buffer_size"`
}

type rawRing struct {
	Dir             string `yaml:"dir"`
	SegmentSize     string `yaml:"segment_size"`
	SegmentDuration string `yaml:"segment_duration"`
	MaxSize         string `yaml:"max_size"`
	MaxSegments     int    `yaml:"max_segments"`
	MinFree         string `yaml:"min_free"`
}

type rawSnapshots struct {
	Dir      string `yaml:"dir"`
	Before   string `yaml:"before"`
	After    string `yaml:"after"`
	Cooldown string `yaml:"cooldown"`
	MaxCount *int   `yaml:"max_count"`
	MaxSize  string `yaml:"max_size"`
}

type rawControl struct {
	Socket      string `yaml:"socket"`
	Group       string `yaml:"group"`
	Mode        string `yaml:"mode"`
	TriggerFile string `yaml:"trigger_file"`
	Listen      string `yaml:"listen"`
	TokenFile   string `yaml:"token_file"`
	TLSCert     string `yaml:"tls_cert"`
	TLSKey      string `yaml:"tls_key"`
}

type rawTrigger struct {
	Name         string    `yaml:"name"`
	Check        string    `yaml:"check"`
	Target       yaml.Node `yaml:"target"` // a string, or an argv list for exec
	Interface    string    `yaml:"interface"`
	Interval     string    `yaml:"interval"`
	Timeout      string    `yaml:"timeout"`
	FailAfter    int       `yaml:"fail_after"`
	RecoverAfter int       `yaml:"recover_after"`
	Expect       []int     `yaml:"expect"`
	Cooldown     string    `yaml:"cooldown"`
	Socket       string    `yaml:"socket"`
	Threshold    int       `yaml:"threshold"`
	Window       string    `yaml:"window"`
}

// Parse checks a configuration read from name. It looks at nothing but
// data; Load also checks it against this host (ring.min_free against the
// ring's file system).
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, false) }

func parse(name string, data []byte, host bool) (*Config, error) {
	p := &parser{file: name, lines: map[string]int{}, values: map[int][]nodeAt{}}
	var doc, second yaml.Node
	docs := yaml.NewDecoder(bytes.NewReader(data))
	if err := docs.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, p.yamlError(err)
	}
	if err := docs.Decode(&second); err == nil {
		return nil, &Error{File: name, Line: second.Line, Err: errors.New("a second YAML document (after ---): arpbox reads one document per file; remove the --- and what follows, or merge it into the first")}
	}
	p.index("", &doc)
	var r raw
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return nil, p.yamlError(err)
	}
	sum := sha256.Sum256(data)
	c := &Config{Source: name, Digest: hex.EncodeToString(sum[:])}
	p.convert(&r, c)
	if host && len(p.errs) == 0 {
		c.checkDisk(p)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// parser converts raw into Config, collecting every error with its line.
type parser struct {
	file   string
	lines  map[string]int   // dotted key path -> line
	values map[int][]nodeAt // line -> the values that start there
	errs   []error
}

// index records the line of every mapping key and sequence item below n,
// and what value starts on each line.
func (p *parser) index(path string, n *yaml.Node) {
	if n.Kind != yaml.DocumentNode && path != "" {
		p.values[n.Line] = append(p.values[n.Line], nodeAt{path: path, kind: n.Kind, value: n.Value, depth: strings.Count(path, ".") + strings.Count(path, "[")})
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			p.index(path, c)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if path != "" {
				k = path + "." + k
			}
			p.lines[k] = n.Content[i].Line
			p.index(k, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			k := fmt.Sprintf("%s[%d]", path, i)
			p.lines[k] = c.Line
			p.index(k, c)
		}
	}
}

// fail records err at field, using the closest known line.
func (p *parser) fail(field string, err error) {
	line := 0
	for f := field; f != ""; {
		if l, ok := p.lines[f]; ok {
			line = l
			break
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Err: err})
}

// failValidate maps a package's "key: message" validation error to the key's line.
func (p *parser) failValidate(section string, err error) {
	for _, e := range unjoin(err) {
		msg := e.Error()
		key, rest, ok := strings.Cut(msg, ": ")
		if ok && !strings.ContainsAny(key, " \t") {
			p.fail(section+"."+key, errors.New(rest))
			continue
		}
		p.fail(section, e)
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (p *parser) size(field, s string, def int64) int64 {
	if s == "" {
		return def
	}
	n, err := ParseSize(s)
	if err != nil {
		p.fail(field, err)
		return def
	}
	return n
}

func (p *parser) duration(field, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(field, fmt.Errorf("%q is not a duration like 500ms, 5s or 10m", s))
		return def
	}
	if d < 0 {
		p.fail(field, fmt.Errorf("%s is negative", s))
		return def
	}
	return d
}

func (p *parser) convert(r *raw, c *Config) {
	c.DataDir = r.DataDir
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if !filepath.IsAbs(c.DataDir) {
		p.fail("data_dir", fmt.Errorf("%q must be an absolute path", c.DataDir))
	}

	// log
	c.Log.Format = r.Log.Format
	switch c.Log.Format {
	case "":
		c.Log.Format = "text"
	case "text", "json":
	default:
		p.fail("log.format", fmt.Errorf("%q: want text or json", r.Log.Format))
	}
	if r.Log.Level != "" {
		if err := c.Log.Level.UnmarshalText([]byte(r.Log.Level)); err != nil {
			p.fail("log.level", fmt.Errorf("%q: want debug, info, warn or error", r.Log.Level))
		}
	}

	// capture
	rc := r.Capture
	c.Capture.Interfaces = rc.Interfaces
	spec := rc.Filter
	if spec == "" {
		spec = "arp"
	}
	f, err := capture.ParseFilter(spec)
	if err != nil {
		p.fail("capture.filter", bpfHint(spec, err))
	}
	c.Capture.Filter = f
	c.Capture.SnapLen = capture.DefaultSnapLen
	if rc.SnapLen != nil {
		c.Capture.SnapLen = *rc.SnapLen
	}
	c.Capture.Promiscuous = rc.Promiscuous
	c.Capture.BufferBytes = int(p.size("capture.buffer_size", rc.BufferSize, capture.DefaultBufferBytes))
	// capture's own checks, for every interface (and once for the shared
	// settings when the interface is left to the default route).
	seenIface := map[string]int{}
	for i, name := range rc.Interfaces {
		if j, dup := seenIface[name]; dup {
			p.fail(fmt.Sprintf("capture.interfaces[%d]", i), fmt.Errorf("%q is also capture.interfaces[%d]: every frame would be recorded twice", name, j))
		}
		seenIface[name] = i
	}
	names := rc.Interfaces
	if len(names) == 0 {
		names = []string{"default"}
	}
	for i, name := range names {
		lc := capture.LiveConfig{Iface: name, Index: i, Filter: f, SnapLen: c.Capture.SnapLen, BufferBytes: c.Capture.BufferBytes}
		if err := lc.Validate(); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			field := "capture." + key
			if key == "interfaces" {
				field = fmt.Sprintf("capture.interfaces[%d]", i)
			}
			if i == 0 || key == "interfaces" {
				p.fail(field, errors.New(msg))
			}
		}
	}

	// ring
	rr := r.Ring
	c.Ring = ring.Config{
		Dir:          rr.Dir,
		SegmentBytes: p.size("ring.segment_size", rr.SegmentSize, 0),
		SegmentAge:   p.duration("ring.segment_duration", rr.SegmentDuration, 0),
		MaxBytes:     p.size("ring.max_size", rr.MaxSize, 0),
		MaxSegments:  rr.MaxSegments,
	}
	p.absPath("ring.dir", c.Ring.Dir)
	if c.Ring.Dir == "" {
		c.Ring.Dir = filepath.Join(c.DataDir, "ring")
	}
	if rr.MinFree != "" {
		if pct, ok := strings.CutSuffix(strings.TrimSpace(rr.MinFree), "%"); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
			if err != nil || v < 0 || v >= 100 {
				p.fail("ring.min_free", fmt.Errorf("%q: want a percentage like 5%%, or a size like 2GiB", rr.MinFree))
			}
			c.Ring.MinFreePercent = v
		} else {
			c.Ring.MinFreeBytes = p.size("ring.min_free", rr.MinFree, 0)
		}
	}
	c.Ring = c.Ring.WithDefaults()
	if err := c.Ring.Validate(); err != nil {
		p.failValidate("ring", err)
	}

	// snapshots
	rs := r.Snapshots
	def := snapshot.DefaultConfig()
	c.Snapshots = snapshot.Config{
		Dir:      rs.Dir,
		Before:   p.duration("snapshots.before", rs.Before, def.Before),
		After:    p.duration("snapshots.after", rs.After, def.After),
		Cooldown: p.duration("snapshots.cooldown", rs.Cooldown, def.Cooldown),
		MaxCount: def.MaxCount,
		MaxSize:  p.size("snapshots.max_size", rs.MaxSize, def.MaxSize),
	}
	if rs.MaxCount != nil {
		c.Snapshots.MaxCount = *rs.MaxCount
	}
	p.absPath("snapshots.dir", c.Snapshots.Dir)
	if c.Snapshots.Dir == "" {
		c.Snapshots.Dir = filepath.Join(c.DataDir, "snapshots")
	}
	if err := c.Snapshots.Validate(); err != nil {
		p.failValidate("snapshots", err)
	}

	// control
	rcl := r.Control
	c.Control = Control{Socket: rcl.Socket, TriggerFile: rcl.TriggerFile,
		Listen: rcl.Listen, TokenFile: rcl.TokenFile, TLSCert: rcl.TLSCert, TLSKey: rcl.TLSKey}
	if c.Control.Socket == "" {
		c.Control.Socket = DefaultSocket()
	} else if err := control.CheckPath(c.Control.Socket); err != nil {
		p.fail("control.socket", err)
	} else {
		p.absPath("control.socket", c.Control.Socket)
	}
	for _, f := range []struct{ key, val string }{
		{"control.trigger_file", c.Control.TriggerFile}, {"control.token_file", c.Control.TokenFile},
		{"control.tls_cert", c.Control.TLSCert}, {"control.tls_key", c.Control.TLSKey},
	} {
		p.absPath(f.key, f.val)
	}
	c.Control.Group = rcl.Group
	if rcl.Mode != "" {
		m, err := strconv.ParseUint(strings.TrimPrefix(rcl.Mode, "0o"), 8, 32)
		if err != nil {
			p.fail("control.mode", fmt.Errorf("%q: want an octal mode like 0660", rcl.Mode))
		} else {
			c.Control.Mode = fs.FileMode(m)
		}
	}
	if err := control.CheckAccess(c.Control.Group, c.Control.Mode); err != nil {
		key := "control.mode"
		if c.Control.Mode == 0 {
			key = "control.group"
		}
		p.fail(key, err)
	}
	p.control(c.Control)
	c.Upload = p.upload(r.Upload, c.DataDir)
	p.fleet(&r.Fleet, c)

	// triggers
	seen := map[string]int{}
	for i, rt := range r.Triggers {
		field := fmt.Sprintf("triggers[%d]", i)
		s := trigger.Spec{
			Name:         rt.Name,
			Check:        rt.Check,
			Interface:    rt.Interface,
			Interval:     p.duration(field+".interval", rt.Interval, 0),
			Timeout:      p.duration(field+".timeout", rt.Timeout, 0),
			FailAfter:    rt.FailAfter,
			RecoverAfter: rt.RecoverAfter,
			Expect:       rt.Expect,
			Cooldown:     p.duration(field+".cooldown", rt.Cooldown, 0),
			Socket:       rt.Socket,
			Threshold:    rt.Threshold,
			Window:       p.duration(field+".window", rt.Window, 0),
		}
		switch rt.Target.Kind {
		case 0:
		case yaml.ScalarNode:
			s.Target = rt.Target.Value
		case yaml.SequenceNode:
			for _, n := range rt.Target.Content {
				if n.Kind != yaml.ScalarNode {
					p.fail(field+".target", errors.New("an argv list holds plain strings only"))
					break
				}
				s.Command = append(s.Command, n.Value)
			}
		default:
			p.fail(field+".target", errors.New("want a string, or a list of strings (argv) for check exec"))
		}
		if j, dup := seen[s.Name]; dup && s.Name != "" {
			p.fail(field+".name", fmt.Errorf("%q is also the name of triggers[%d]", s.Name, j))
		}
		seen[s.Name] = i
		tooShort := false
		for _, d := range []struct {
			key string
			val time.Duration
		}{{"interval", s.Interval}, {"timeout", s.Timeout}} {
			if d.val != 0 && d.val < MinCheckPeriod {
				p.fail(field+"."+d.key, fmt.Errorf("%v is below the minimum of %v", d.val, MinCheckPeriod))
				tooShort = true
			}
		}
		s = s.WithDefaults()
		if tooShort {
			// The defaults derived from it (a timeout of half the
			// interval) would only add errors about keys not written.
		} else if s.Target == GatewayTarget && (s.Check == "arp" || s.Check == "neighbor" || s.Check == "icmp" || s.Check == "arp-conflict") {
			// Resolved at start by ResolveGateway; validate with a placeholder.
			probe := s
			probe.Target = "192.0.2.1"
			if err := probe.Validate(); err != nil {
				p.failValidate(field, err)
			}
		} else if err := s.Validate(); err != nil {
			p.failValidate(field, err)
		}
		c.Triggers = append(c.Triggers, s)
	}
}

// control checks the HTTP listener's settings.
func (p *parser) control(c Control) {
	if c.Listen == "" {
		for _, f := range []struct{ key, val string }{{"token_file", c.TokenFile}, {"tls_cert", c.TLSCert}, {"tls_key", c.TLSKey}} {
			if f.val != "" {
				p.fail("control."+f.key, errors.New("has no effect without control.listen"))
			}
		}
		return
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		p.fail("control.listen", fmt.Errorf("%q: want host:port, like 127.0.0.1:9310 or [::]:9310", c.Listen))
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		p.fail("control.listen", fmt.Errorf("%q: port %q is not a number from 1 to 65535", c.Listen, port))
	}
	if !IsLoopback(host) && c.TokenFile == "" {
		p.fail("control.listen", fmt.Errorf("%q is reachable beyond this host: set control.token_file (a bearer token), or listen on 127.0.0.1", c.Listen))
	}
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		p.fail("control.tls_cert", errors.New("needs control.tls_key too: cert and key go together"))
	case c.TLSCert == "" && c.TLSKey != "":
		p.fail("control.tls_key", errors.New("needs control.tls_cert too: cert and key go together"))
	}
}

// IsLoopback reports whether host (of a listen address) is only reachable
// from this machine: "localhost" or a loopback IP. An empty host is every
// address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// ReadToken reads the bearer token in path, trimmed of surrounding space.
// Its errors name the file, never its content.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("control.token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("control.token_file %s: empty token", path)
	}
	if strings.ContainsAny(tok, " \t\r\n") || !isPrintableASCII(tok) {
		return "", fmt.Errorf("control.token_file %s: the token must be one line of printable ASCII without spaces", path)
	}
	return tok, nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ResolveGateway replaces the target "gateway" in every trigger with the
// default route's next hop, and an empty interface list with the default
// route's interface. With no next hop (a device-only default route) the
// triggers that target the gateway are dropped; their names are returned.
func (c *Config) ResolveGateway(iface, gateway string) (dropped []string) {
	if len(c.Capture.Interfaces) == 0 && iface != "" {
		c.Capture.Interfaces = []string{iface}
	}
	kept := c.Triggers[:0]
	for _, t := range c.Triggers {
		if t.Target == GatewayTarget {
			if gateway == "" {
				dropped = append(dropped, t.Name)
				continue
			}
			t.Target = gateway
			if t.Interface == "" && (t.Check == "arp" || t.Check == "neighbor") {
				t.Interface = iface
			}
		}
		kept = append(kept, t)
	}
	c.Triggers = kept
	return dropped
}

// NeedsDefaultRoute reports whether the configuration leaves something to
// the default route: the capture interface or a "gateway" trigger target.
func (c *Config) NeedsDefaultRoute() bool {
	if len(c.Capture.Interfaces) == 0 {
		return true
	}
	for _, t := range c.Triggers {
		if t.Target == GatewayTarget {
			return true
		}
	}
	return false
}

// ParseSize reads a byte size such as 512KiB, 10MiB, 1GiB, 10MB or 4096.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.TrimSpace(t[i:])
	mult, ok := map[string]int64{
		"": 1, "B": 1,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"K": 1 << 10, "M": 1 << 20, "G": 1 << 30,
	}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size like 4096, 512KiB, 10MiB or 1GiB", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
