package recorder

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/ring"
)

// replaySource is the source of arpbox run -replay and the interfaces the
// ring records its frames under. The ring keeps what the file says of each
// interface (name, description, if_os, link type, snaplen) and of where
// it was captured (shb_hardware, shb_os), and runs on the packets' clock:
// segment names, rotation by age and statistics times follow the file's
// timestamps, and no counters are written (a file has none of the
// interface's). Only if_filter is the one this recording applied.
func replaySource(path string, cc configs.Capture, host string, wopts *ring.Options) (*capture.FileSource, []ring.Interface, error) {
	src := capture.NewFileSource(path, cc.Filter)
	fi, err := src.Info()
	if err != nil {
		return nil, nil, err
	}
	var ifaces []ring.Interface
	for _, in := range fi.Interfaces {
		ifaces = append(ifaces, ring.Interface{Name: in.Name, Description: in.Description, OS: in.OS,
			Filter: cc.Filter.Text, SnapLen: int(in.SnapLen), LinkType: in.LinkType})
	}
	wopts.Stats = nil
	wopts.PacketClock = fi.First
	if wopts.PacketClock.IsZero() { // no timestamped packet: nothing will be named by one
		wopts.PacketClock = time.Now()
	}
	wopts.Hardware, wopts.OS = fi.Hardware, fi.OS
	wopts.Comment = fmt.Sprintf("replayed from %s by arpbox on host %s", filepath.Base(path), host)
	return src, ifaces, nil
}
