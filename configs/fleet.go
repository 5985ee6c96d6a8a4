package configs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/arpbox/arpbox/peer"
	"github.com/arpbox/arpbox/trigger"
)

// Fleet is the peers: and alertmanager: sections: the other hosts asked to
// freeze the same incident, and the Alertmanager webhook's selector.
type Fleet struct {
	Peers []peer.Config
	// Alertmanager is nil when the section is absent; POST
	// /api/v1/alertmanager then answers 501.
	Alertmanager *trigger.AlertmanagerConfig
}

// rawFleet is inlined into raw.
type rawFleet struct {
	Peers        []rawPeer        `yaml:"peers"`
	Alertmanager *rawAlertmanager `yaml:"alertmanager"`
}

type rawPeer struct {
	Name      string `yaml:"name"`
	URL       string `yaml:"url"`
	TokenFile string `yaml:"token_file"`
	CAFile    string `yaml:"ca_file"`
	RetryFor  string `yaml:"retry_for"`
}

type rawAlertmanager struct {
	Match map[string]string `yaml:"match"`
}

// fleet converts the peers: and alertmanager: sections.
func (p *parser) fleet(r *rawFleet, c *Config) {
	names := map[string]int{}
	for i, rp := range r.Peers {
		field := fmt.Sprintf("peers[%d]", i)
		pc := peer.Config{Name: rp.Name, URL: rp.URL, TokenFile: rp.TokenFile, CAFile: rp.CAFile,
			RetryFor: p.duration(field+".retry_for", rp.RetryFor, 0)}.WithDefaults()
		if err := pc.Validate(); err != nil {
			p.failValidate(field, err)
		}
		if j, dup := names[pc.Name]; dup && pc.Name != "" {
			p.fail(field+".name", fmt.Errorf("%q is also the name of peers[%d]", pc.Name, j))
		}
		p.absPath(field+".token_file", pc.TokenFile)
		p.absPath(field+".ca_file", pc.CAFile)
		names[pc.Name] = i
		c.Fleet.Peers = append(c.Fleet.Peers, pc)
	}
	if r.Alertmanager != nil {
		ac := trigger.AlertmanagerConfig{Match: r.Alertmanager.Match}
		if err := ac.Validate(); err != nil {
			p.failValidate("alertmanager", err)
		}
		if c.Control.Listen == "" {
			p.fail("alertmanager", errors.New("has no effect without control.listen: Alertmanager posts to the HTTP API"))
		}
		c.Fleet.Alertmanager = &ac
	}
}

// describe writes the peers and the Alertmanager selector for check-config.
func (f Fleet) describe(ew *errWriter) {
	for _, p := range f.Peers {
		tls := ""
		if p.CAFile != "" {
			tls = ", CA " + p.CAFile
		}
		ew.printf("peer %s: %s, token from %s%s; retried up to %s after T\n", p.Name, p.URL, p.TokenFile, tls, p.RetryFor)
	}
	if a := f.Alertmanager; a != nil {
		var sel []string
		for _, k := range slices.Sorted(maps.Keys(a.Match)) {
			v := a.Match[k]
			if re, ok := strings.CutPrefix(v, "=~"); ok {
				sel = append(sel, fmt.Sprintf("%s=~%q", k, re))
			} else {
				sel = append(sel, fmt.Sprintf("%s=%q", k, v))
			}
		}
		ew.printf("alertmanager: POST /api/v1/alertmanager, firing alerts matching {%s} trigger\n", strings.Join(sel, ", "))
	}
}
