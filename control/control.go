// Package control serves arpbox's local control API (HTTP over a unix socket) and is its client.
//
// The API is versioned under /v1 and speaks JSON:
//
//	GET  /v1/status              the daemon's status (capture, ring, triggers)
//	POST /v1/snapshot            {"reason": "..."} → the bundle, once written
//	GET  /v1/snapshots           the bundles on disk
//	GET  /v1/snapshots/<id>.zip  one bundle's zip
//	GET  /healthz                "ok", or 503 and why not
//	GET  /metrics                Prometheus metrics
//
// Request bodies over 64 KiB are refused (413).
//
// The socket is created with mode 0660 (Access), in the group
// control.group when set, else the daemon's primary group; on Linux, peers
// whose credentials are neither root, the daemon's user, nor the socket's
// group are answered 403 "permission denied" and closed. Only a stale
// socket (nobody answers) is ever replaced, and at exit only the socket
// this server made is removed.
// HTTPServer serves the same API over TCP, with a bearer token and TLS.
package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// SnapshotRequest asks the daemon for an incident bundle.
type SnapshotRequest struct {
	Reason string `json:"reason"`
}

// SnapshotReply names the bundle written for a request.
type SnapshotReply struct {
	ID  string `json:"id"`
	Dir string `json:"dir"`
	Zip string `json:"zip"`
}

// API is what the daemon exposes. Each function may be nil, in which case
// its endpoint answers 501.
type API struct {
	// Snapshot triggers a snapshot and blocks until its bundle is written.
	Snapshot func(ctx context.Context, reason string) (SnapshotReply, error)
	// Snapshots lists bundles; the value is sent as JSON.
	Snapshots func() (any, error)
	// Status reports the daemon's state; the value is sent as JSON.
	Status func() any
	// Bundle returns the path of the zip of the bundle id, an error
	// wrapping ErrNotFound when there is none. id has passed bundle.ValidID; the
	// function must still only name zips it knows (not join id to a path).
	Bundle func(id string) (path string, err error)
	// Healthz returns nil while the daemon works.
	Healthz func() error
	// Metrics serves /metrics (Prometheus text format).
	Metrics http.Handler
}

// Server serves API on a unix socket.
type Server struct {
	path string
	acc  Access
	api  API
	log  *slog.Logger
}

// Access is who may use the unix socket besides root and arpbox's user.
// (On Windows, the control file's DACL decides; both must be zero.)
type Access struct {
	// Group owns the socket (a name or a number); empty: the daemon's
	// primary group, as the OS gives it (under the systemd unit, arpbox).
	Group string
	// Mode is the socket's permission bits; 0 means DefaultMode.
	Mode fs.FileMode
}

// DefaultMode is the socket's mode when Access.Mode is 0: read and write
// for the owner and the group.
const DefaultMode fs.FileMode = 0o660

func (a Access) withDefaults() Access {
	if a.Mode == 0 {
		a.Mode = DefaultMode
	}
	return a
}

// WithAccess sets the socket's group and mode; it returns s.
func (s *Server) WithAccess(a Access) *Server {
	s.acc = a
	return s
}

// NewServer returns a server for the socket at path. It starts nothing.
func NewServer(path string, api API, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{path: path, api: api, log: log}
}

// ErrInUse means another process already serves the socket.
var ErrInUse = errors.New("control socket in use: is another arpbox running?")

// Listen creates the control endpoint (a unix socket; on Windows a
// loopback listener guarded by the token in a control file), replacing
// only a stale one. It fails with ErrInUse when a live daemon answers on
// it, and with an error naming the path when anything else is in the way.
func (s *Server) Listen() (net.Listener, error) { return listen(s.path, s.acc, s.log) }

// Run serves ln until ctx is cancelled, then closes it and removes the
// socket, if the path still names the one Listen made.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	err := runServer(ctx, ln, handler(s.api, s.log), s.log, "control socket "+s.path)
	if err == nil {
		if o, ok := ln.(interface{ removeOwned() }); ok {
			o.removeOwned()
		}
	}
	return err
}

// MaxReason is the longest snapshot reason accepted, in bytes; longer
// ones are refused ("reason too long") by the client before it sends and by
// the server.
const MaxReason = 1024

// ErrReasonTooLong is the client's and the server's refusal of a reason
// over MaxReason bytes.
var ErrReasonTooLong = fmt.Errorf("reason too long (max %d bytes)", MaxReason)

// maxBody is the largest request body accepted: a snapshot request is a
// reason of a few words.
const maxBody = 64 << 10

// handler serves api; the unix socket and the HTTP listener share it.
func handler(api API, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		if api.Status == nil {
			httpError(w, http.StatusNotImplemented, errors.New("status not available"))
			return
		}
		writeJSON(w, http.StatusOK, api.Status())
	})
	mux.HandleFunc("GET /v1/snapshots", func(w http.ResponseWriter, r *http.Request) {
		if api.Snapshots == nil {
			httpError(w, http.StatusNotImplemented, errors.New("snapshots not available"))
			return
		}
		v, err := api.Snapshots()
		if err != nil {
			httpError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /v1/snapshots/{file}", func(w http.ResponseWriter, r *http.Request) {
		serveBundle(w, r, api, log)
	})
	mux.HandleFunc("POST /v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
		if api.Snapshot == nil {
			httpError(w, http.StatusNotImplemented, errors.New("snapshots are not configured"))
			return
		}
		var req SnapshotRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			code := http.StatusBadRequest
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				code = http.StatusRequestEntityTooLarge
			}
			httpError(w, code, fmt.Errorf("snapshot request: %w", err))
			return
		}
		if len(req.Reason) > MaxReason {
			httpError(w, http.StatusBadRequest, ErrReasonTooLong)
			return
		}
		// The request waits for the bundle's after-window: no write
		// deadline; the snapshotter bounds it, and a client that goes away
		// cancels r.Context().
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		log.Info("snapshot requested over the control API", "reason", req.Reason, "remote", r.RemoteAddr)
		rep, err := api.Snapshot(r.Context(), req.Reason)
		if err != nil {
			httpError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if api.Healthz == nil {
			httpError(w, http.StatusNotImplemented, errors.New("health not available"))
			return
		}
		if err := api.Healthz(); err != nil {
			httpError(w, http.StatusServiceUnavailable, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if api.Metrics == nil {
			httpError(w, http.StatusNotImplemented, errors.New("metrics not available"))
			return
		}
		api.Metrics.ServeHTTP(w, r)
	})
	return limits(mux, log)
}

// limits bounds what a request may cost: its body (413 beyond maxBody) and
// the time to write its reply (writeTimeout, which handlers may extend),
// and logs each request at debug level (never its headers).
func limits(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			log.Debug("control request", "method", r.Method, "path", r.URL.Path, "status", sw.code,
				"remote", r.RemoteAddr, "duration", time.Since(start).Round(time.Microsecond))
		}()
		if r.ContentLength > maxBody {
			httpError(sw, http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes is over the limit of %d", r.ContentLength, maxBody))
			return
		}
		r.Body = http.MaxBytesReader(sw, r.Body, maxBody)
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ErrNotFound means no bundle has the requested id.
var ErrNotFound = errors.New("no such bundle")

// serveBundle sends the zip of the bundle named by the path's {file},
// "<id>.zip".
func serveBundle(w http.ResponseWriter, r *http.Request, api API, log *slog.Logger) {
	if api.Bundle == nil {
		httpError(w, http.StatusNotImplemented, errors.New("bundle download not available"))
		return
	}
	id, ok := strings.CutSuffix(r.PathValue("file"), ".zip")
	if !ok || !bundle.ValidID(id) {
		httpError(w, http.StatusBadRequest, errors.New("want /v1/snapshots/<bundle id>.zip, with an id as listed by /v1/snapshots"))
		return
	}
	path, err := api.Bundle(id)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		httpError(w, code, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		httpError(w, http.StatusNotFound, fmt.Errorf("bundle %s: %w", id, ErrNotFound))
		log.Warn("bundle zip vanished before download", "id", id, "err", err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		httpError(w, http.StatusNotFound, fmt.Errorf("bundle %s: %w", id, ErrNotFound))
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(downloadTimeout))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+".zip"))
	http.ServeContent(w, r, id+".zip", fi.ModTime(), f)
}

type errorBody struct {
	Error string `json:"error"`
}

func httpError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// peerCheckListener refuses connections from peers not allowed to control
// the daemon: they get a 403 "permission denied" reply, whatever they
// asked, and the connection is closed.
type peerCheckListener struct {
	net.Listener
	path string
	made fs.FileInfo // the socket Listen made, for removeOwned
	log  *slog.Logger

	refusing sync.WaitGroup
	slots    chan struct{} // bounds the refusals in progress
}

func (l *peerCheckListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(c, l.path); err != nil {
			l.log.Warn("refused control connection", "err", err)
			l.refuse(c, err)
			continue
		}
		return c, nil
	}
}

// Close stops accepting and waits for the refusals in progress (each
// bounded by refuseTimeout).
func (l *peerCheckListener) Close() error {
	err := l.Listener.Close()
	l.refusing.Wait()
	return err
}

// maxRefusing is how many refused peers are answered at once; beyond it
// a refused connection is just closed.
const maxRefusing = 8

// refuseTimeout bounds the answer to one refused peer.
const refuseTimeout = 2 * time.Second

// refuse answers a refused peer with 403 "permission denied" and closes
// the connection, on a goroutine of its own (never holding up Accept)
// that the listener's Close waits for: it reads the request first, so
// the client sees the answer and not a broken pipe.
func (l *peerCheckListener) refuse(c net.Conn, why error) {
	if l.slots == nil {
		l.slots = make(chan struct{}, maxRefusing)
	}
	select {
	case l.slots <- struct{}{}:
	default:
		c.Close()
		return
	}
	l.refusing.Add(1)
	go func() {
		defer l.refusing.Done()
		defer func() { <-l.slots }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(refuseTimeout))
		if req, err := http.ReadRequest(bufio.NewReader(io.LimitReader(c, maxHeaderBytes+maxBody))); err == nil {
			_, _ = io.Copy(io.Discard, req.Body)
		}
		b, _ := json.Marshal(errorBody{Error: "permission denied: " + why.Error()})
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(b), b)
	}()
}

// OnConnect returns a context whose client requests call f once a
// connection to the daemon is made (before the request is sent): a
// command says "waiting" only once it has reached the daemon.
func OnConnect(ctx context.Context, f func()) context.Context {
	var called bool
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
		if !called {
			called = true
			f()
		}
	}})
}

// Client talks to a daemon's control socket.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{
		path: path,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx, path) },
		}},
	}
}

// Snapshot asks for a bundle and waits until it is written. A reason over
// MaxReason bytes is ErrReasonTooLong, before anything is sent.
func (c *Client) Snapshot(ctx context.Context, reason string) (SnapshotReply, error) {
	var rep SnapshotReply
	if len(reason) > MaxReason {
		return rep, ErrReasonTooLong
	}
	err := c.do(ctx, http.MethodPost, "/v1/snapshot", SnapshotRequest{Reason: reason}, &rep)
	return rep, err
}

// Snapshots decodes the daemon's bundle list into v.
func (c *Client) Snapshots(ctx context.Context, v any) error {
	return c.do(ctx, http.MethodGet, "/v1/snapshots", nil, v)
}

// Status decodes the daemon's status into v.
func (c *Client) Status(ctx context.Context, v any) error {
	return c.do(ctx, http.MethodGet, "/v1/status", nil, v)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://arpbox"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return fmt.Errorf("arpbox %s %s: %s", method, path, e.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("arpbox %s %s: decode reply: %w", method, path, err)
	}
	return nil
}

// dialError says why the daemon could not be reached: permission (the
// socket's mode and group), or nothing serving it (is arpbox running?).
func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("control socket %s: permission denied: root, arpbox's user and members of the socket's group (control.group) may use it: %w", c.path, err)
	}
	return fmt.Errorf("control socket %s: %w (is arpbox running?)", c.path, err)
}
