package capture

import (
	"fmt"
	"path/filepath"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// FileInterfaces names the interfaces of a capture file, in the order of
// the Batch.Iface values ReplayFile gives their frames: the pcapng
// interface names (or "if<N>" where a block has none), or one name made
// from the file's name for a pcap file. It reads the whole file, since a
// pcapng interface block may come after packets of other interfaces.
func FileInterfaces(path string) ([]string, error) {
	r, err := openReader(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if r.Format() == pcapng.FormatPcap {
		return []string{filepath.Base(path)}, nil
	}
	var p pcapng.Packet
	for r.Next(&p) == nil { // a torn tail is ReplayFile's to report
	}
	ifaces := r.Interfaces()
	if len(ifaces) == 0 {
		return nil, fmt.Errorf("replay %s: no interfaces in the file", path)
	}
	names := make([]string, len(ifaces))
	for i, ifc := range ifaces {
		names[i] = fmt.Sprintf("if%d", i)
		if ifc.Name != "" {
			names[i] = ifc.Name
		}
	}
	return names, nil
}
