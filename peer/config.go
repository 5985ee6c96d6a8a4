// Package peer asks other arpbox instances to freeze the same incident, and answers their requests to.
//
// When a trigger fires on one host (the initiator), a Fleet sends every
// configured peer a Request over its HTTP API (POST /v1/incident, bearer
// token, optional private CA): the incident id, T on the initiator's clock,
// the window before and after T, and the time the request was sent. The
// peer's Responder freezes its own ring for the same window, with T moved
// to its own clock by Received-Sent, and answers with its receive and send
// times; from the four times the initiator computes the peer's clock offset
// and the round trip, NTP-style, and records them in its manifest. The
// peer records the initiator's send time against its receive time (an
// upper bound on the offset) in its own.
//
// A peer that is down, slow or busy is retried with backoff until
// retry_for after T, or until it says its ring no longer holds the window;
// the local bundle never waits for it. Peer requests are never sent on: a
// Responder never broadcasts, and answers an incident id it has seen
// before without freezing again.
package peer

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// DefaultRetryFor is how long after T a peer is retried by default: the
// ring of a host that records only ARP usually reaches back hours, so a peer
// back within half an hour still holds the window.
const DefaultRetryFor = 30 * time.Minute

// Config is one entry of peers:.
type Config struct {
	Name      string        // peers[].name: how logs and manifests call it
	URL       string        // peers[].url: the peer's HTTP API, http(s)://host:port
	TokenFile string        // peers[].token_file: the peer's control.token_file token
	CAFile    string        // peers[].ca_file: PEM CA(s) for the peer's TLS certificate; empty: the system's
	RetryFor  time.Duration // peers[].retry_for: how long after T to keep retrying; 0: DefaultRetryFor
}

// WithDefaults fills RetryFor.
func (c Config) WithDefaults() Config {
	if c.RetryFor == 0 {
		c.RetryFor = DefaultRetryFor
	}
	return c
}

// Validate checks c. Each error message starts with the YAML key it is about.
func (c Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name: must not be empty"))
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url: must not be empty"))
	case err != nil:
		errs = append(errs, fmt.Errorf("url: %w", err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("url: %q: want http:// or https://", c.URL))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("url: %q: no host", c.URL))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("url: %q: credentials go in token_file, not the URL", c.URL))
	case u.Path != "" && u.Path != "/" || u.RawQuery != "":
		errs = append(errs, fmt.Errorf("url: %q: want only scheme, host and port (arpbox adds the path)", c.URL))
	}
	if c.TokenFile == "" {
		errs = append(errs, errors.New("token_file: must be set: peers only answer with their HTTP API token"))
	}
	if c.CAFile != "" && u != nil && u.Scheme != "https" {
		errs = append(errs, errors.New("ca_file: has no effect without an https:// url"))
	}
	if c.RetryFor < 0 {
		errs = append(errs, fmt.Errorf("retry_for: must not be negative, got %v", c.RetryFor))
	}
	return errors.Join(errs...)
}
