package snapshot

import "sort"

// pinnedLast orders bundles for pruning: those Options.Keep does not hold
// first, then those it holds (not yet uploaded, say), each oldest first;
// it returns which are held. Retention removes a held bundle only when
// max_size forces it.
func (s *Snapshotter) pinnedLast(infos []Info) ([]Info, map[string]bool) {
	if s.opts.Keep == nil {
		return infos, nil
	}
	held := map[string]bool{}
	for _, in := range infos {
		if s.opts.Keep(in.ID) {
			held[in.ID] = true
		}
	}
	sort.SliceStable(infos, func(i, j int) bool { return !held[infos[i].ID] && held[infos[j].ID] })
	return infos, held
}
