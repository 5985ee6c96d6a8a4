package trigger

import (
	"context"
	"net"
)

// tcpCheck succeeds when a TCP connection to addr (host:port) is established.
type tcpCheck struct{ addr string }

func (c *tcpCheck) Probe(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err // "dial tcp 10.0.0.5:80: connect: connection refused"
	}
	return conn.Close()
}
