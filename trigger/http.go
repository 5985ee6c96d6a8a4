package trigger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
)

// httpBodyMax is how much of a response body is read (and discarded) before
// the connection is closed.
const httpBodyMax = 4096

// httpCheck GETs a URL and succeeds when the status is one of expect (empty:
// 200-399). Redirects are not followed: a 3xx is the answer (healthy by
// default). No proxy from the environment is used, one fresh connection per
// probe, certificates are verified for https. The connection is dialled on
// the calling goroutine, so a probe run inside a network namespace stays in it.
type httpCheck struct {
	url    string
	addr   string // host:port to dial
	expect []int
}

func newHTTPCheck(raw string, expect []int) (*httpCheck, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "http":
		port = "80"
	case u.Scheme == "https":
		port = "443"
	default:
		return nil, fmt.Errorf("http: %q: scheme must be http or https", raw)
	}
	return &httpCheck{url: raw, addr: net.JoinHostPort(u.Hostname(), port), expect: slices.Clone(expect)}, nil
}

func (c *httpCheck) Probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", c.url, err)
	}
	req.Header.Set("User-Agent", "arpbox-healthcheck")
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("GET %s: %w", c.url, err)
	}
	defer conn.Close()
	var once sync.Mutex
	used := false
	tr := &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			once.Lock()
			defer once.Unlock()
			if used {
				return nil, errors.New("second connection in one probe")
			}
			used = true
			return conn, nil
		},
		DisableKeepAlives:  true,
		DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return err // *url.Error: `Get "http://…": …`
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, httpBodyMax))
	resp.Body.Close()
	if !c.ok(resp.StatusCode) {
		return fmt.Errorf("GET %s: status %s, want %s", c.url, resp.Status, c.want())
	}
	return nil
}

func (c *httpCheck) ok(code int) bool {
	if len(c.expect) == 0 {
		return code >= 200 && code <= 399
	}
	return slices.Contains(c.expect, code)
}

func (c *httpCheck) want() string {
	if len(c.expect) == 0 {
		return "200-399"
	}
	s := ""
	for i, e := range c.expect {
		if i > 0 {
			s += ","
		}
		s += strconv.Itoa(e)
	}
	return s
}
