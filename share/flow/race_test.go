//go:build race

package flow

// raceEnabled is set when the race detector is on; memory measurements are
// skipped then, as its instrumentation distorts them and slows them down.
const raceEnabled = true
