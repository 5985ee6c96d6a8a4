package configs

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// nodeAt is a value in the YAML file: the dotted key path it sits at, for
// naming the field of a type error that yaml.v3 reports by line only.
type nodeAt struct {
	path  string
	kind  yaml.Kind
	value string
	depth int
}

// yamlRE are the patterns of yaml.v3's messages, compiled when an error
// first needs them: not when the program starts, where every run of every
// subcommand would pay for them.
var yamlRE = sync.OnceValue(func() (re struct{ line, syntax, unknown, typ *regexp.Regexp }) {
	re.line = regexp.MustCompile(`^line (\d+): (.*)$`)
	re.syntax = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	re.unknown = regexp.MustCompile(`^field (\S+) not found in type configs\.raw(\w*)$`)
	// typ is yaml.v3's "cannot unmarshal !!str `lots` into int".
	re.typ = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
	return re
})

// sections maps raw type names to YAML keys, for unknown-field errors.
var sections = map[string]string{
	"": "", "Log": "log", "Capture": "capture", "Ring": "ring",
	"Snapshots": "snapshots", "Control": "control", "Trigger": "triggers[]", "Upload": "upload",
	"Peer": "peers[]", "Alertmanager": "alertmanager",
}

// yamlError turns yaml.v3's errors into file:line errors that name the
// field and say what was wanted in YAML's words, not Go's.
func (p *parser) yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, s := range te.Errors {
			m := yamlRE().line.FindStringSubmatch(s)
			if m == nil {
				errs = append(errs, &Error{File: p.file, Err: errors.New(s)})
				continue
			}
			line, _ := strconv.Atoi(m[1])
			e := &Error{File: p.file, Line: line, Err: errors.New(m[2])}
			if u := yamlRE().unknown.FindStringSubmatch(m[2]); u != nil {
				e.Field = u[1]
				if sec := sections[u[2]]; sec != "" {
					e.Field = sec + "." + u[1]
				}
				e.Err = errors.New("unknown key")
			} else if t := yamlRE().typ.FindStringSubmatch(m[2]); t != nil {
				e.Field = p.fieldAt(line, t[1], t[2])
				e.Err = fmt.Errorf("want %s, got %s", wantType(t[3]), gotType(t[1], t[2]))
			}
			errs = append(errs, e)
		}
		return errors.Join(errs...)
	}
	if m := yamlRE().syntax.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: p.file, Line: line, Err: errors.New(m[2])}
	}
	return &Error{File: p.file, Err: err}
}

// fieldAt names the value of YAML tag tag (and scalar text value) that
// starts at line: the shallowest one of that kind there.
func (p *parser) fieldAt(line int, tag, value string) string {
	kind := yaml.ScalarNode
	switch tag {
	case "map":
		kind = yaml.MappingNode
	case "seq":
		kind = yaml.SequenceNode
	}
	best := nodeAt{depth: -1}
	for _, n := range p.values[line] {
		if n.kind != kind || kind == yaml.ScalarNode && n.value != value {
			continue
		}
		if best.depth < 0 || n.depth < best.depth {
			best = n
		}
	}
	if best.depth < 0 {
		return ""
	}
	return best.path
}

// wantType says in YAML's words what a Go type of the raw structs takes.
func wantType(goType string) string {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "configs.raw"):
		return "a mapping of keys to values"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "another kind of value"
}

// gotType says what a YAML tag (and its text) is.
func gotType(tag, value string) string {
	switch tag {
	case "map":
		return "a mapping"
	case "seq":
		return "a list"
	case "str":
		return strconv.Quote(value)
	case "null":
		return "nothing"
	}
	if value != "" {
		return value
	}
	return "a " + tag
}
