package pcapng_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// Writing a file with every block arpbox writes, then reading it back: the
// packets with their interface, time and comment, and the statistics.
func Example() {
	var buf bytes.Buffer
	w := pcapng.NewWriter(&buf)
	w.WriteSection(pcapng.Section{UserAppl: "arpbox 1.0", Comment: "captured on host gw1"})
	eth0, _ := w.WriteInterface(pcapng.Interface{LinkType: pcapng.LinkTypeEthernet, Name: "eth0", Filter: "arp"})
	frame := make([]byte, 42)
	w.WritePacket(eth0, 1_700_000_000_000_000_001, 60, frame, "")
	w.WritePacket(eth0, 1_700_000_000_500_000_000, 60, frame, "trigger fired here")
	w.WriteStats(pcapng.Stats{Interface: eth0, Timestamp: 1_700_000_001_000_000_000, Received: 2, Dropped: 0,
		Has: pcapng.HasReceived | pcapng.HasDropped})
	if err := w.Flush(); err != nil {
		fmt.Println(err)
		return
	}

	r, err := pcapng.NewReader(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	r.OnStats = func(st *pcapng.Stats) {
		fmt.Printf("statistics of %s: received %d, dropped %d\n", r.Interfaces()[st.Interface].Name, st.Received, st.Dropped)
	}
	var p pcapng.Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err) // a *TruncatedError or *InvalidError says where
			break
		}
		fmt.Printf("%s %d ns %d/%d bytes %q\n", r.Interfaces()[p.Interface].Name, p.Timestamp, len(p.Data), p.Length, p.Comment)
	}
	fmt.Println(r.Format(), r.Section().UserAppl, r.Offset() == w.Written())
	// Output:
	// eth0 1700000000000000001 ns 42/60 bytes ""
	// eth0 1700000000500000000 ns 42/60 bytes "trigger fired here"
	// statistics of eth0: received 2, dropped 0
	// pcapng arpbox 1.0 true
}
