//go:build !race

package flow

// raceEnabled is set when the race detector is on.
const raceEnabled = false
