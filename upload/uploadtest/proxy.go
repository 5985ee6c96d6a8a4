package uploadtest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections on 127.0.0.1 to a server and counts the
// bytes sent to it, so a test can act at a point in the middle of an
// upload (kill the server, say).
type Proxy struct {
	Addr string
	// Sent is the number of bytes forwarded client → server so far.
	Sent atomic.Int64

	l      net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	// onSent is called (once per crossing, from a forwarding goroutine)
	// when Sent first reaches at.
	at     int64
	onSent func()
}

// NewProxy forwards to target until the test ends. When at > 0, onSent is
// called once Sent reaches at.
func NewProxy(t testing.TB, target string, at int64, onSent func()) *Proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), l: l, target: target, conns: map[net.Conn]bool{}, at: at, onSent: onSent}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(c, s)
		p.wg.Add(2)
		go func() { // client → server, counted
			defer p.wg.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					before := p.Sent.Add(int64(n)) - int64(n)
					if p.at > 0 && before < p.at && before+int64(n) >= p.at && p.onSent != nil {
						p.onSent()
					}
					if _, werr := s.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
			s.Close()
		}()
		go func() { // server → client
			defer p.wg.Done()
			io.Copy(c, s)
			c.Close()
			s.Close()
		}()
	}
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = true
	}
}

func (p *Proxy) close() {
	p.l.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
