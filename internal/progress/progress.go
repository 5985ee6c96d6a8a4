// Package progress draws a progress bar for reading a large input on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Below minTotal bytes an input is read too fast to need a bar; the bar is
// redrawn at most every interval.
const (
	minTotal = 16 << 20
	interval = 100 * time.Millisecond
	width    = 30 // of the bar between the brackets
)

// Bar draws "reading [####      ]  40%  12/30 MB" on one terminal line.
// The methods of a nil *Bar do nothing.
type Bar struct {
	w     io.Writer
	now   func() time.Time
	shown bool
	last  time.Time
}

// OnTerminal returns a bar drawing on w if w is a terminal, else nil.
func OnTerminal(w io.Writer) *Bar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &Bar{w: f, now: time.Now}
}

// Update shows that done of total bytes are read, once the input is big
// enough to wait for and no more often than every 100 ms.
func (b *Bar) Update(done, total int64) {
	if b == nil || total < minTotal || b.now().Sub(b.last) < interval {
		return
	}
	b.last = b.now()
	b.shown = true
	n := int(float64(width) * float64(done) / float64(total))
	n = max(0, min(width, n))
	fmt.Fprintf(b.w, "\rreading [%s%s] %3d%%  %d/%d MB ", strings.Repeat("#", n), strings.Repeat(" ", width-n),
		done*100/total, done>>20, total>>20)
}

// Clear blanks the line the bar was drawn on, if it was.
func (b *Bar) Clear() {
	if b == nil || !b.shown {
		return
	}
	fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", 70))
}
