package capture

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Live capture defaults and limits.
const (
	// DefaultSnapLen is the snaplen when LiveConfig.SnapLen is 0 (tcpdump's).
	DefaultSnapLen = 262144
	// DefaultBufferBytes is the kernel ring size when LiveConfig.BufferBytes
	// is 0: 8 MiB holds about 58,000 ARP frames, about 0.1 s of a
	// 600k frames/s storm (tcpdump's default is 2 MiB).
	DefaultBufferBytes = 8 << 20

	minSnapLen     = 64
	minBufferBytes = 256 << 10
	maxBufferBytes = 1 << 30
)

// LiveConfig configures a live capture on one interface.
type LiveConfig struct {
	Iface       string // interface name
	Index       int    // Batch.Iface: the interface's index in the configured list
	Filter      Filter // zero Filter: the "arp" filter
	SnapLen     int    // bytes kept per frame; 0: DefaultSnapLen
	Promiscuous bool
	BufferBytes int // kernel ring size; 0: DefaultBufferBytes
}

// Validate checks cfg; messages start with the YAML key.
func (c LiveConfig) Validate() error {
	switch {
	case c.Iface == "":
		return fmt.Errorf("interfaces: empty interface name")
	case len(c.Iface) > 15:
		return fmt.Errorf("interfaces: %q is longer than 15 bytes, the limit for interface names", c.Iface)
	case c.SnapLen != 0 && (c.SnapLen < minSnapLen || c.SnapLen > DefaultSnapLen):
		return fmt.Errorf("snaplen: %d is outside %d..%d", c.SnapLen, minSnapLen, DefaultSnapLen)
	case c.BufferBytes != 0 && (c.BufferBytes < minBufferBytes || c.BufferBytes > maxBufferBytes):
		return fmt.Errorf("buffer_size: %d bytes is outside 256KiB..1GiB", c.BufferBytes)
	case c.Index < 0:
		return fmt.Errorf("interfaces: negative index %d", c.Index)
	}
	return nil
}

func (c LiveConfig) withDefaults() LiveConfig {
	if c.Filter.Name == "" {
		c.Filter = builtin(kindARP)
	}
	if c.SnapLen == 0 {
		c.SnapLen = DefaultSnapLen
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	return c
}

// Reopen backoff after the interface went away: 100 ms, doubling up to 1 s.
// The cap is short because the frames right after a link comes back
// (gratuitous ARP, the first resolutions) are the ones worth keeping, and
// one failed attempt costs two syscalls.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = time.Second
)

// Live captures frames from one network interface. Its Run owns the socket.
type Live struct {
	cfg LiveConfig
	log *slog.Logger

	received atomic.Uint64
	dropped  atomic.Uint64
	reopens  atomic.Uint64
}

// NewLive returns a live source for cfg; it opens nothing until Run.
// A nil log discards.
func NewLive(cfg LiveConfig, log *slog.Logger) *Live {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Live{cfg: cfg.withDefaults(), log: log.With("iface", cfg.Iface)}
}

// Stats returns the counters; safe to call from any goroutine. Kernel
// counters are read every second and when the socket closes.
func (l *Live) Stats() Stats {
	return Stats{Received: l.received.Load(), Dropped: l.dropped.Load(), Reopens: l.reopens.Load()}
}
