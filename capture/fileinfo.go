package capture

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gopacket/gopacket/pcapgo"
)

// FileInterfaces names the interfaces of a capture file, in the order of
// the Batch.Iface values ReplayFile gives their frames: the pcapng
// interface names (or "if<N>" where a block has none), or one name made
// from the file's name for a pcap file. It reads the whole file, since a
// pcapng interface block may come after packets of other interfaces.
func FileInterfaces(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	r, err := openReader(f)
	if err == io.EOF {
		return nil, fmt.Errorf("replay %s: no interfaces in the file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
	ng, ok := r.(*pcapgo.NgReader)
	if !ok {
		return []string{filepath.Base(path)}, nil
	}
	for {
		if _, _, err := ng.ZeroCopyReadPacketData(); err != nil {
			break // a torn tail is ReplayFile's to report
		}
	}
	names := make([]string, ng.NInterfaces())
	for i := range names {
		names[i] = fmt.Sprintf("if%d", i)
		if intf, err := ng.Interface(i); err == nil && intf.Name != "" {
			names[i] = intf.Name
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("replay %s: no interfaces in the file", path)
	}
	return names, nil
}
