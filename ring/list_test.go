package ring

import (
	"io/fs"
	"testing"
	"time"
)

// fakeEntry is a directory entry whose Info says what the test wants: the
// file's size, or that it is gone (renamed or removed after the readdir).
type fakeEntry struct {
	name string
	gone bool
}

func (e fakeEntry) Name() string      { return e.name }
func (e fakeEntry) IsDir() bool       { return false }
func (e fakeEntry) Type() fs.FileMode { return 0 }
func (e fakeEntry) Info() (fs.FileInfo, error) {
	if e.gone {
		return nil, fs.ErrNotExist
	}
	return fakeInfo{e.name}, nil
}

type fakeInfo struct{ name string }

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return 1000 }
func (i fakeInfo) Mode() fs.FileMode  { return 0o640 }
func (i fakeInfo) ModTime() time.Time { return t0 }
func (i fakeInfo) IsDir() bool        { return false }
func (i fakeInfo) Sys() any           { return nil }

// TestListDuringSeal: a segment the sealer renames while the directory is
// read is in the listing under one of its names: List reads again when an
// entry vanished or a sequence number is missing. Before, the segment
// (a minute of frames in TestClockStep under load) was left out of the
// snapshot's window.
func TestListDuringSeal(t *testing.T) {
	sealed := func(seq uint64) string {
		return sealedName(seq, t0.Add(time.Duration(seq)*time.Minute), t0.Add(time.Duration(seq+1)*time.Minute))
	}
	part := func(seq uint64) string { return partName(seq, t0.Add(time.Duration(seq)*time.Minute)) }
	for _, tc := range []struct {
		name  string
		reads [][]fakeEntry // what each readdir returns; the last repeats
		want  []string
		calls int
	}{
		{
			name: "renamed between readdir and stat",
			reads: [][]fakeEntry{
				{{name: sealed(0)}, {name: part(1), gone: true}, {name: part(2)}},
				{{name: sealed(0)}, {name: sealed(1)}, {name: part(2)}},
			},
			want:  []string{sealed(0), sealed(1), part(2)},
			calls: 2,
		},
		{
			name: "renamed during the readdir: neither name seen",
			reads: [][]fakeEntry{
				{{name: sealed(0)}, {name: part(2)}},
				{{name: sealed(0)}, {name: sealed(1)}, {name: part(2)}},
			},
			want:  []string{sealed(0), sealed(1), part(2)},
			calls: 2,
		},
		{
			name:  "consistent: one read",
			reads: [][]fakeEntry{{{name: sealed(3)}, {name: sealed(4)}, {name: part(5)}}},
			want:  []string{sealed(3), sealed(4), part(5)},
			calls: 1,
		},
		{
			name:  "a real gap (a held segment outlived a pruned one): bounded",
			reads: [][]fakeEntry{{{name: sealed(0)}, {name: sealed(2)}, {name: part(3)}}},
			want:  []string{sealed(0), sealed(2), part(3)},
			calls: listAttempts,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			readDir := func(string) ([]fs.DirEntry, error) {
				r := tc.reads[min(calls, len(tc.reads)-1)]
				calls++
				out := make([]fs.DirEntry, len(r))
				for i, e := range r {
					out[i] = e
				}
				return out, nil
			}
			segs, err := listWith("ring", readDir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range segs {
				got = append(got, s.Path[len("ring/"):])
			}
			if len(got) != len(tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("listed %v, want %v", got, tc.want)
					break
				}
			}
			if calls != tc.calls {
				t.Errorf("%d directory reads, want %d", calls, tc.calls)
			}
		})
	}
}
