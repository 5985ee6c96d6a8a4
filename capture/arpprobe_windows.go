package capture

import (
	"context"
	"errors"
	"fmt"
	"unsafe"
)

// arpProbeBuffer is the driver buffer of an ARPProbe: a probe waits for a
// handful of frames, not a storm.
const arpProbeBuffer = minBufferBytes

// ARPProbe sends frames on one Npcap device and reads the ARP frames it
// receives, for the arp trigger check (an arping). Send, Next and Close
// belong to one goroutine.
type ARPProbe struct {
	h *npcapHandle
}

// OpenARPProbe opens an ARP-filtered Npcap capture on iface (any name the
// capture accepts: \Device\NPF_{GUID}, a friendly name, a description or an
// IPv4 address). A missing Npcap is an error wrapping ErrNoNpcap.
func OpenARPProbe(iface string) (*ARPProbe, error) {
	l, err := loadNpcap()
	if err != nil {
		return nil, err
	}
	if l.sendPacket == 0 {
		return nil, fmt.Errorf("%w: wpcap.dll has no pcap_sendpacket; install Npcap from %s", ErrNoNpcap, npcapURL)
	}
	h, err := openNpcap(LiveConfig{Iface: iface, BufferBytes: arpProbeBuffer})
	if err != nil {
		return nil, err
	}
	return &ARPProbe{h: h}, nil
}

// Device is the Npcap device name (\Device\NPF_{GUID}).
func (p *ARPProbe) Device() string { return p.h.device }

// Send transmits one Ethernet frame (pcap_sendpacket).
func (p *ARPProbe) Send(frame []byte) error {
	if len(frame) == 0 {
		return fmt.Errorf("npcap: send on %s: empty frame", p.h.device)
	}
	rc := int32(call(p.h.lib.sendPacket, p.h.p, uintptr(unsafe.Pointer(&frame[0])), uintptr(len(frame))))
	if rc != 0 {
		return fmt.Errorf("npcap: send on %s: %s", p.h.device, p.h.geterr())
	}
	return nil
}

// Next returns a copy of the next ARP frame received, or ctx's error once
// ctx is done (a blocked read is ended with pcap_breakloop).
func (p *ARPProbe) Next(ctx context.Context) ([]byte, error) {
	stop := context.AfterFunc(ctx, p.h.interrupt)
	defer stop()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, _, data, err := p.h.next()
		switch {
		case errors.Is(err, errNpcapBreak):
			continue // ctx is done, or a late breakloop of an earlier Next
		case err != nil:
			return nil, err
		case data != nil:
			return append([]byte(nil), data...), nil
		}
	}
}

// Close releases the capture.
func (p *ARPProbe) Close() { p.h.close() }
