package pseudo

import (
	"fmt"
	"io"
)

// Every type here that holds key material prints as "pseudo.Name{key:
// REDACTED}" through String, GoString, every fmt verb (Format) and slog
// (LogValue). The methods have value receivers so that they also cover a
// struct value (not only a pointer): fmt cannot call methods of unexported
// fields, and for some verbs it would print what their pointers point to.

func redacted(name string) string { return "pseudo." + name + "{key:REDACTED}" }

func formatRedacted(s fmt.State, name string) {
	_, _ = io.WriteString(s, redacted(name))
}
