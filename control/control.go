// Package control serves arpbox's local control API (HTTP over a unix socket) and is its client.
//
// The API is versioned under /v1 and speaks JSON:
//
//	GET  /v1/status     the daemon's status (capture, ring, triggers)
//	POST /v1/snapshot   {"reason": "..."} → the bundle, once written
//	GET  /v1/snapshots  the bundles on disk
//
// The socket is created with mode 0660; on Linux, peers whose credentials
// are neither root, the daemon's user, nor the socket's group are refused.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
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
}

// Server serves API on a unix socket.
type Server struct {
	path string
	api  API
	log  *slog.Logger
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

// Listen creates the control endpoint (a unix socket; on Windows a named
// pipe), replacing a stale socket. It fails with ErrInUse when a live
// daemon answers on it.
func (s *Server) Listen() (net.Listener, error) { return listen(s.path, s.log) }

// Run serves ln until ctx is cancelled, then closes it and removes the socket.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("control socket %s: %w", s.path, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	<-errc
	removeEndpoint(s.path)
	return nil
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		if s.api.Status == nil {
			httpError(w, http.StatusNotImplemented, errors.New("status not available"))
			return
		}
		writeJSON(w, http.StatusOK, s.api.Status())
	})
	mux.HandleFunc("GET /v1/snapshots", func(w http.ResponseWriter, r *http.Request) {
		if s.api.Snapshots == nil {
			httpError(w, http.StatusNotImplemented, errors.New("snapshots not available"))
			return
		}
		v, err := s.api.Snapshots()
		if err != nil {
			httpError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
		if s.api.Snapshot == nil {
			httpError(w, http.StatusNotImplemented, errors.New("snapshots are not configured"))
			return
		}
		var req SnapshotRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			httpError(w, http.StatusBadRequest, fmt.Errorf("snapshot request: %w", err))
			return
		}
		s.log.Info("snapshot requested over the control socket", "reason", req.Reason)
		rep, err := s.api.Snapshot(r.Context(), req.Reason)
		if err != nil {
			httpError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
	return mux
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
// the daemon.
type peerCheckListener struct {
	net.Listener
	path string
	log  *slog.Logger
}

func (l *peerCheckListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(c, l.path); err != nil {
			l.log.Warn("refused control connection", "err", err)
			c.Close()
			continue
		}
		return c, nil
	}
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

// Snapshot asks for a bundle and waits until it is written.
func (c *Client) Snapshot(ctx context.Context, reason string) (SnapshotReply, error) {
	var rep SnapshotReply
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
		return fmt.Errorf("control socket %s: %w (is arpbox running?)", c.path, err)
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
