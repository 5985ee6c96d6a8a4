package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/backoff"
)

// Options are a Fleet's dependencies; all optional but Host.
type Options struct {
	Host   string           // this host's name, sent in every Request
	Logger *slog.Logger     // nil = discard
	Now    func() time.Time // nil = time.Now
	// MinBackoff and MaxBackoff space the retries of one peer; defaults 1s
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Observe, if set, is told every failed attempt (result "failed") and
	// each peer's final outcome for an incident (bundle.PeerOK or
	// bundle.PeerMissing), for metrics.
	Observe func(peer, result string)
}

// Bounds of a Fleet.
const (
	// attemptTimeout bounds one request: the peer answers once its ring
	// is frozen (hard links, and the network state at T: at most 10s).
	attemptTimeout = 20 * time.Second
	// maxInFlight incidents are sent at once; more are reported missing.
	maxInFlight = 16
	// keepStatus incidents' outcomes are kept for the manifest.
	keepStatus = 64
	queueLen   = maxInFlight
)

type target struct {
	cfg    Config
	token  string
	client *http.Client
}

// Fleet asks the configured peers to freeze the incidents it is given:
// Broadcast queues, Run (one owner) sends and retries.
type Fleet struct {
	peers []*target
	opts  Options
	log   *slog.Logger
	queue chan bundle.Event

	mu       sync.Mutex
	status   map[string][]bundle.ManifestPeer // incident -> one per peer
	order    []string                         // incidents, oldest first
	inFlight int
}

// New reads every peer's token and CA file. It starts nothing.
func New(cfgs []Config, opts Options) (*Fleet, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Observe == nil {
		opts.Observe = func(string, string) {}
	}
	f := &Fleet{opts: opts, log: opts.Logger, queue: make(chan bundle.Event, queueLen), status: map[string][]bundle.ManifestPeer{}}
	for i, c := range cfgs {
		c = c.WithDefaults()
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("peers[%d] (%s): %w", i, c.Name, err)
		}
		tok, err := readToken(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("peers[%d] (%s): token_file: %w", i, c.Name, err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil // peers are on the LAN; a proxy would see the token
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("peers[%d] (%s): ca_file: %w", i, c.Name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("peers[%d] (%s): ca_file %s: no PEM certificate in it", i, c.Name, c.CAFile)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		f.peers = append(f.peers, &target{cfg: c, token: tok, client: &http.Client{Transport: tr, Timeout: attemptTimeout}})
	}
	return f, nil
}

// readToken reads a bearer token file: one line of printable ASCII.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s: empty token", path)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return "", fmt.Errorf("%s: the token must be one line of printable ASCII without spaces", path)
		}
	}
	return tok, nil
}

// Len is the number of peers.
func (f *Fleet) Len() int { return len(f.peers) }

// Broadcast queues ev (its Incident set; its window before and after T)
// for every peer and returns at once. Every peer is "pending" from now
// until Run reaches or gives up on it.
func (f *Fleet) Broadcast(ev bundle.Event) {
	if len(f.peers) == 0 || ev.Incident == "" {
		return
	}
	f.mu.Lock()
	st := make([]bundle.ManifestPeer, len(f.peers))
	for i, p := range f.peers {
		st[i] = bundle.ManifestPeer{Name: p.cfg.Name, URL: p.cfg.URL, State: bundle.PeerPending}
	}
	f.keepLocked(ev.Incident, st)
	full := f.inFlight >= maxInFlight
	if !full {
		f.inFlight++
	}
	f.mu.Unlock()
	if !full {
		select {
		case f.queue <- ev:
			return
		default:
		}
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}
	f.log.Warn("too many incidents being sent to peers: not sending this one", "incident", ev.Incident, "in_flight", maxInFlight)
	for i := range f.peers {
		f.set(ev.Incident, i, func(p *bundle.ManifestPeer) {
			p.State, p.Error = bundle.PeerMissing, fmt.Sprintf("not sent: %d incidents were already being sent to peers", maxInFlight)
		})
	}
}

func (f *Fleet) keepLocked(id string, st []bundle.ManifestPeer) {
	if _, ok := f.status[id]; !ok {
		f.order = append(f.order, id)
	}
	f.status[id] = st
	for len(f.order) > keepStatus {
		delete(f.status, f.order[0])
		f.order = f.order[1:]
	}
}

// set updates peer i's state for incident id.
func (f *Fleet) set(id string, i int, fn func(*bundle.ManifestPeer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, ok := f.status[id]; ok && i < len(st) {
		fn(&st[i])
	}
}

// Status returns what became of incident's peers so far: nil when it was
// not broadcast.
func (f *Fleet) Status(incident string) []bundle.ManifestPeer {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[incident]
	if st == nil {
		return nil
	}
	out := make([]bundle.ManifestPeer, len(st))
	copy(out, st)
	return out
}

// Last returns the latest incident broadcast and what became of its peers
// so far ("" and nil before the first).
func (f *Fleet) Last() (incident string, peers []bundle.ManifestPeer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.order)
	if n == 0 {
		return "", nil
	}
	incident = f.order[n-1]
	return incident, append([]bundle.ManifestPeer(nil), f.status[incident]...)
}

// Run sends queued incidents until ctx is done, each peer on its own
// goroutine with its own retries, and waits for them before returning nil.
func (f *Fleet) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-f.queue:
			var pw sync.WaitGroup
			for i := range f.peers {
				pw.Add(1)
				wg.Go(func() {
					defer pw.Done()
					f.ask(ctx, ev, i)
				})
			}
			wg.Go(func() {
				pw.Wait()
				f.mu.Lock()
				f.inFlight--
				f.mu.Unlock()
			})
		}
	}
}

// permanentError marks an answer that retrying will not change.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

func isPermanent(err error) bool {
	_, ok := errors.AsType[*permanentError](err)
	return ok
}

// ask sends ev to peer i until it is accepted, refused for good, or
// RetryFor after T has passed (or ctx is done).
func (f *Fleet) ask(ctx context.Context, ev bundle.Event, i int) {
	p := f.peers[i]
	log := f.log.With("peer", p.cfg.Name, "incident", ev.Incident)
	deadline := ev.Time.Add(p.cfg.RetryFor)
	b := backoff.New(f.opts.MinBackoff, f.opts.MaxBackoff)
	for attempt := 1; ; attempt++ {
		rep, t1, t4, err := f.send(ctx, p, ev)
		if err == nil {
			off, rtt := offset(t1, rep.Received, rep.Sent, t4)
			offMS, rttMS := float64(off.Microseconds())/1000, float64(rtt.Microseconds())/1000
			acc := t4.UTC()
			f.set(ev.Incident, i, func(m *bundle.ManifestPeer) {
				m.State, m.Error, m.Attempts, m.Host = bundle.PeerOK, "", attempt, rep.Host
				m.Accepted, m.OffsetMS, m.RTTMS = &acc, &offMS, &rttMS
			})
			log.Info("peer froze the incident", "peer_host", rep.Host, "attempts", attempt, "offset_ms", offMS, "rtt_ms", rttMS, "repeat", rep.Repeat)
			f.opts.Observe(p.cfg.Name, bundle.PeerOK)
			return
		}
		f.opts.Observe(p.cfg.Name, "failed")
		if ctx.Err() != nil {
			f.opts.Observe(p.cfg.Name, bundle.PeerMissing)
			f.set(ev.Incident, i, func(m *bundle.ManifestPeer) {
				m.State, m.Error, m.Attempts = bundle.PeerMissing, fmt.Sprintf("arpbox stopped while retrying (last error: %v)", err), attempt
			})
			return
		}
		wait := b.Next()
		if isPermanent(err) || f.opts.Now().Add(wait).After(deadline) {
			why := err.Error()
			if !isPermanent(err) {
				why = fmt.Sprintf("gave up after %d attempts, %v after T: %v", attempt, p.cfg.RetryFor, err)
			}
			f.set(ev.Incident, i, func(m *bundle.ManifestPeer) {
				m.State, m.Error, m.Attempts = bundle.PeerMissing, why, attempt
			})
			log.Warn("peer will not have this incident's bundle", "why", why)
			f.opts.Observe(p.cfg.Name, bundle.PeerMissing)
			return
		}
		f.set(ev.Incident, i, func(m *bundle.ManifestPeer) { m.Error, m.Attempts = err.Error(), attempt })
		log.Warn("peer did not take the incident; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		if backoff.Sleep(ctx, wait) != nil {
			f.opts.Observe(p.cfg.Name, bundle.PeerMissing)
			f.set(ev.Incident, i, func(m *bundle.ManifestPeer) {
				m.State, m.Error = bundle.PeerMissing, fmt.Sprintf("arpbox stopped while retrying (last error: %v)", err)
			})
			return
		}
	}
}

// send makes one attempt; t1 and t4 are the local send and receive times.
// A permanentError is not worth retrying.
func (f *Fleet) send(ctx context.Context, p *target, ev bundle.Event) (rep Reply, t1, t4 time.Time, err error) {
	rq := Request{
		Incident: ev.Incident, Host: f.opts.Host, Trigger: ev.Trigger, Check: ev.Check, Reason: ev.Reason,
		T: ev.Time.UTC(), BeforeMS: ev.Before.Milliseconds(), AfterMS: ev.After.Milliseconds(), FromPeer: true,
	}
	url := strings.TrimSuffix(p.cfg.URL, "/") + Path
	t1 = f.opts.Now()
	rq.Sent = t1.UTC()
	body, err := json.Marshal(rq)
	if err != nil {
		return rep, t1, t4, permanent(fmt.Errorf("encode request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return rep, t1, t4, permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := p.client.Do(req)
	t4 = f.opts.Now()
	if err != nil {
		return rep, t1, t4, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return rep, t1, t4, fmt.Errorf("POST %s: read reply: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		err := fmt.Errorf("POST %s: %s: %s", url, resp.Status, e.Error)
		switch resp.StatusCode {
		case http.StatusConflict, http.StatusTooManyRequests, http.StatusRequestTimeout:
			return rep, t1, t4, err // busy or cooling down: later
		}
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
			return rep, t1, t4, err
		}
		return rep, t1, t4, permanent(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Received.IsZero() || rep.Sent.IsZero() {
		return rep, t1, t4, permanent(fmt.Errorf("POST %s: not a peer reply: %q", url, b[:min(len(b), 200)]))
	}
	return rep, t1, t4, nil
}
