package control

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// HTTPConfig configures the HTTP listener.
type HTTPConfig struct {
	// Addr is host:port.
	Addr string
	// Token, when set, must be sent by every request as
	// "Authorization: Bearer <token>"; it is never logged.
	Token string
	// TLSCert and TLSKey are PEM files; when set the listener speaks TLS
	// (1.2 or later).
	TLSCert, TLSKey string
}

// HTTPServer serves API over TCP, beside the unix socket: the same
// endpoints, behind a bearer token when one is configured, and the
// endpoints of FleetAPI, which only other hosts call:
//
//	POST /api/v1/alertmanager  Alertmanager's webhook (body up to 1 MiB)
//	POST /v1/incident          a peer asks to freeze the same incident
type HTTPServer struct {
	cfg   HTTPConfig
	api   API
	fleet FleetAPI
	log   *slog.Logger
}

// PostFunc serves a JSON POST endpoint: body is the request's body, read
// whole (bounded by the endpoint's limit). It returns the reply, sent as
// JSON with 200, or an error: one wrapping ErrBadRequest is answered 400,
// ErrConflict 409, ErrGone 410, any other 500.
type PostFunc func(ctx context.Context, body []byte) (any, error)

// FleetAPI holds the endpoints other hosts call. A nil function's
// endpoint answers 501.
type FleetAPI struct {
	// Alertmanager receives Alertmanager's webhook notifications.
	Alertmanager PostFunc
	// Incident receives a peer's request to freeze an incident.
	Incident PostFunc
}

// Errors a PostFunc returns to choose the status code.
var (
	ErrBadRequest = errors.New("bad request")
	ErrConflict   = errors.New("conflict")
	ErrGone       = errors.New("gone")
)

// maxAlertmanagerBody bounds an Alertmanager notification: a group of
// alerts with their labels and annotations (Alertmanager's max_alerts can
// cap it on the sending side).
const maxAlertmanagerBody = 1 << 20

// WithFleet adds f's endpoints to the server; call it before Run.
func (s *HTTPServer) WithFleet(f FleetAPI) *HTTPServer {
	s.fleet = f
	return s
}

// NewHTTPServer returns a server for cfg. It starts nothing.
func NewHTTPServer(cfg HTTPConfig, api API, log *slog.Logger) *HTTPServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &HTTPServer{cfg: cfg, api: api, log: log}
}

// Listen opens the TCP listener (with TLS when configured: the certificate
// and key are loaded here, so a bad pair fails the start).
func (s *HTTPServer) Listen() (net.Listener, error) {
	var tlsCfg *tls.Config
	if s.cfg.TLSCert != "" || s.cfg.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("control http %s: TLS certificate %s and key %s: %w", s.cfg.Addr, s.cfg.TLSCert, s.cfg.TLSKey, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("control http: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	return ln, nil
}

// Run serves ln until ctx is cancelled, then closes it.
func (s *HTTPServer) Run(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/alertmanager", s.post("alertmanager", s.fleet.Alertmanager, maxAlertmanagerBody))
	mux.Handle("POST /v1/incident", s.post("incident", s.fleet.Incident, maxBody))
	mux.Handle("/", handler(s.api, s.log))
	var h http.Handler = mux
	if s.cfg.Token != "" {
		h = bearer(s.cfg.Token, h, s.log)
	}
	return runServer(ctx, ln, h, s.log, "control http "+ln.Addr().String())
}

// bearer lets through requests carrying token, and answers 401 to others.
// The comparison is of SHA-256 digests in constant time, so neither the
// token's bytes nor its length leak through timing.
func bearer(token string, next http.Handler, log *slog.Logger) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			why := "no bearer token"
			if ok {
				why = "wrong bearer token"
			}
			log.Warn("refused HTTP request", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "why", why)
			w.Header().Set("WWW-Authenticate", `Bearer realm="arpbox"`)
			httpError(w, http.StatusUnauthorized, errors.New("unauthorized: send Authorization: Bearer <the token in control.token_file>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Server timeouts. Writes get writeTimeout per request, extended by the
// handlers that legitimately take longer: a snapshot request waits for its
// after-window (bounded by the snapshotter, and cancelled when the client
// goes away), a bundle download streams a file of up to snapshots.max_size.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = time.Minute
	downloadTimeout   = 30 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// runServer runs an http.Server with h on ln until ctx is done.
func runServer(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, what string) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", what, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	<-errc
	return nil
}

// post serves fn with bodies of up to limit bytes (413 beyond).
func (s *HTTPServer) post(what string, fn PostFunc, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			s.log.Debug("control request", "method", r.Method, "path", r.URL.Path, "status", sw.code,
				"remote", r.RemoteAddr, "duration", time.Since(start).Round(time.Microsecond))
		}()
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
		if fn == nil {
			httpError(sw, http.StatusNotImplemented, fmt.Errorf("%s is not configured", what))
			return
		}
		if r.ContentLength > limit {
			httpError(sw, http.StatusRequestEntityTooLarge, fmt.Errorf("%s: request body of %d bytes is over the limit of %d", what, r.ContentLength, limit))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, limit))
		if err != nil {
			code := http.StatusBadRequest
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				code = http.StatusRequestEntityTooLarge
			}
			httpError(sw, code, fmt.Errorf("%s: read request body: %w", what, err))
			return
		}
		if !json.Valid(body) {
			httpError(sw, http.StatusBadRequest, fmt.Errorf("%s: the request body is not JSON", what))
			return
		}
		rep, err := fn(r.Context(), body)
		if err != nil {
			code := http.StatusInternalServerError
			switch {
			case errors.Is(err, ErrBadRequest):
				code = http.StatusBadRequest
			case errors.Is(err, ErrConflict):
				code = http.StatusConflict
			case errors.Is(err, ErrGone):
				code = http.StatusGone
			}
			s.log.Warn("refused "+what+" request", "remote", r.RemoteAddr, "status", code, "err", err)
			httpError(sw, code, err)
			return
		}
		writeJSON(sw, http.StatusOK, rep)
	})
}
