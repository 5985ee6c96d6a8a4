package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFleetRoutes: the endpoints other hosts call are behind the token,
// bounded, and refuse what is not JSON; the handler's errors choose the
// status code.
func TestFleetRoutes(t *testing.T) {
	var got [][]byte
	s := NewHTTPServer(HTTPConfig{Addr: "127.0.0.1:0", Token: testToken}, API{}, nil).WithFleet(FleetAPI{
		Alertmanager: func(_ context.Context, body []byte) (any, error) {
			got = append(got, body)
			if bytes.Contains(body, []byte(`"version":"3"`)) {
				return nil, fmt.Errorf("%w: version 3", ErrBadRequest)
			}
			return map[string]int{"fired": 1}, nil
		},
	})
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String()

	post := func(path, token string, body io.Reader, size int64) (int, string) {
		req, err := http.NewRequest(http.MethodPost, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ok := `{"version":"4","status":"firing","alerts":[]}`
	big := `{"version":"4","pad":"` + strings.Repeat("x", maxAlertmanagerBody) + `"}`
	for _, tc := range []struct {
		name, path, token, body string
		size                    int64 // -1: chunked (no Content-Length)
		want                    int
		wantIn                  string
	}{
		{"no token", "/api/v1/alertmanager", "", ok, int64(len(ok)), 401, "unauthorized"},
		{"wrong token", "/api/v1/alertmanager", "nope", ok, int64(len(ok)), 401, "unauthorized"},
		{"a payload", "/api/v1/alertmanager", testToken, ok, int64(len(ok)), 200, `"fired": 1`},
		{"not JSON", "/api/v1/alertmanager", testToken, `{"version":`, 11, 400, "not JSON"},
		{"refused by the handler", "/api/v1/alertmanager", testToken, `{"version":"3"}`, 15, 400, "version 3"},
		{"oversized, declared", "/api/v1/alertmanager", testToken, big, int64(len(big)), 413, "over the limit"},
		{"oversized, chunked", "/api/v1/alertmanager", testToken, big, -1, 413, "request body too large"},
		{"no incident handler", "/v1/incident", testToken, `{}`, 2, 501, "not configured"},
		{"the socket API is still served", "/v1/snapshot", testToken, `{}`, 2, 501, "snapshots are not configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.size < 0 {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			code, out := post(tc.path, tc.token, body, tc.size)
			if code != tc.want || !strings.Contains(out, tc.wantIn) {
				t.Errorf("%d %s, want %d with %q", code, out, tc.want, tc.wantIn)
			}
			if code != 200 && code != 400 && json.Valid([]byte(out)) == false {
				t.Errorf("error body is not JSON: %s", out)
			}
		})
	}
	if len(got) != 2 {
		t.Errorf("the handler saw %d bodies, want 2 (the payload and version 3)", len(got))
	}
}
