package netstate

import (
	"context"
	"fmt"
	"strings"
)

// Run watches neighbor and link changes (see Watch) and records them until
// ctx is cancelled, then returns nil. On every link event it re-reads the
// link's speed and duplex with ethtool and journals differences ("speed
// 1000Mb/s -> 100Mb/s"). Where the OS cannot tell (Linux without ethtool
// netlink, before 5.6) it journals the rest and logs that speeds are not
// tracked.
//
// Like Watch, Run opens its sockets on the calling goroutine's thread.
func (j *Journal) Run(ctx context.Context) error {
	sp := &speedTracker{last: make(map[int]linkMode)}
	read, closeModes, err := openLinkModes()
	if err != nil {
		j.log.Info("netstate journal: link speed/duplex not tracked", "err", err)
	} else {
		defer closeModes()
		sp.read = read
	}
	err = watch(ctx, j.add, watchOpts{
		linkHook: sp.hook,
		linkGone: func(index int) { delete(sp.last, index) },
		lost: func(err error) {
			j.log.Warn("netstate journal: netlink subscription lost, resubscribing; changes in the gap are reported after the re-read", "err", err)
		},
	})
	if err != nil {
		return fmt.Errorf("netstate: journal: %w", err)
	}
	return nil
}

// speedTracker remembers each link's speed/duplex and says what changed.
type speedTracker struct {
	read func(index int, name string) (linkMode, error) // nil: not tracked
	last map[int]linkMode
}

func (s *speedTracker) hook(index int, name string) string {
	if s.read == nil {
		return ""
	}
	cur, err := s.read(index, name)
	if err != nil {
		return ""
	}
	prev, ok := s.last[index]
	s.last[index] = cur
	if !ok {
		return ""
	}
	return modeDiff(prev, cur)
}

// modeDiff says in words how a link's speed, duplex or autoneg changed.
func modeDiff(prev, cur linkMode) string {
	var parts []string
	if prev.speed != cur.speed {
		parts = append(parts, "speed "+SpeedString(prev.speed)+" -> "+SpeedString(cur.speed))
	}
	if prev.duplex != cur.duplex {
		parts = append(parts, "duplex "+prev.duplex+" -> "+cur.duplex)
	}
	if prev.autoneg != cur.autoneg && prev.autoneg != "" && cur.autoneg != "" {
		parts = append(parts, "autoneg "+prev.autoneg+" -> "+cur.autoneg)
	}
	return strings.Join(parts, ", ")
}
