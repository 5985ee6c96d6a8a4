package service

// Name is the Windows service's name (sc.exe query arpbox) and its event
// log source.
const Name = "arpbox"
