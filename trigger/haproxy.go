package trigger

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// haproxyStatMax bounds how much of a `show stat` answer is read.
const haproxyStatMax = 8 << 20

// haproxyCheck asks HAProxy's stats socket for `show stat` and fails when
// the named server's status starts with DOWN (that includes "DOWN 1/2", a
// server on its way back up). UP, "UP 1/3" (going down, not yet declared),
// NOLB, DRAIN, "no check" and MAINT are healthy: MAINT and DRAIN are an
// operator's intent, not an outage. A server missing from the answer, or a
// socket that does not answer, is a failure.
type haproxyCheck struct {
	socket          string
	backend, server string
}

func newHAProxyCheck(socket, target string) (*haproxyCheck, error) {
	b, s, err := splitHAProxyTarget(target)
	if err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	if socket == "" {
		socket = DefaultHAProxySocket
	}
	return &haproxyCheck{socket: socket, backend: b, server: s}, nil
}

func (c *haproxyCheck) Probe(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return fmt.Errorf("haproxy stats socket: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return fmt.Errorf("haproxy stats socket %s: %w", c.socket, err)
	}
	data, err := io.ReadAll(io.LimitReader(conn, haproxyStatMax))
	if err != nil {
		return fmt.Errorf("haproxy stats socket %s: reading show stat: %w", c.socket, err)
	}
	st, err := haproxyServerStatus(data, c.backend, c.server)
	if err != nil {
		return fmt.Errorf("haproxy %s: %w", c.socket, err)
	}
	if strings.HasPrefix(st.status, "DOWN") {
		if st.check != "" {
			return fmt.Errorf("haproxy server %s/%s is %s (check: %s)", c.backend, c.server, st.status, st.check)
		}
		return fmt.Errorf("haproxy server %s/%s is %s", c.backend, c.server, st.status)
	}
	return nil
}

// serverStat is one server's row of `show stat`.
type serverStat struct {
	status string // "UP", "DOWN", "MAINT", "DOWN 1/2", ...
	check  string // HAProxy's last check: check_status and last_chk, e.g. "L4CON Connection refused"
}

// haproxyServerStatus finds backend/server in a `show stat` CSV answer
// ("# pxname,svname,...,status,...,check_status,...,last_chk,...").
func haproxyServerStatus(data []byte, backend, server string) (serverStat, error) {
	data = bytes.TrimLeft(data, " \r\n")
	if !bytes.HasPrefix(data, []byte("# ")) {
		first, _, _ := bytes.Cut(data, []byte("\n"))
		return serverStat{}, fmt.Errorf("unexpected answer to show stat: %q", SanitizeReason(first))
	}
	r := csv.NewReader(bytes.NewReader(data[2:]))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return serverStat{}, fmt.Errorf("show stat header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	px, okPx := col["pxname"]
	sv, okSv := col["svname"]
	st, okSt := col["status"]
	if !okPx || !okSv || !okSt {
		return serverStat{}, errors.New("show stat header lacks pxname, svname or status")
	}
	backendSeen := false
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return serverStat{}, fmt.Errorf("show stat: %w", err)
		}
		if len(rec) <= max(px, sv, st) || rec[px] != backend {
			continue
		}
		backendSeen = true
		if rec[sv] == server {
			out := serverStat{status: rec[st]}
			var check []string
			for _, name := range []string{"check_status", "last_chk"} {
				if i, ok := col[name]; ok && i < len(rec) && rec[i] != "" {
					check = append(check, rec[i])
				}
			}
			out.check = SanitizeReason([]byte(strings.Join(check, " ")))
			return out, nil
		}
	}
	if !backendSeen {
		return serverStat{}, fmt.Errorf("backend %q not found in show stat", backend)
	}
	return serverStat{}, fmt.Errorf("server %q not found in backend %q", server, backend)
}
