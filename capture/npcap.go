package capture

import "errors"

// ErrNoNpcap means Npcap's wpcap.dll is missing or unusable (Windows only;
// elsewhere nothing returns it); the error wrapping it says what to install.
var ErrNoNpcap = errors.New("capture needs Npcap")

// LiveAvailable checks, before anything is opened, what live capture needs
// from the host that no retry can bring: on Windows, Npcap (an error
// wrapping ErrNoNpcap says what to install). On Linux it returns nil:
// permissions and interfaces show when Live.Run opens them.
func LiveAvailable() error { return liveAvailable() }
