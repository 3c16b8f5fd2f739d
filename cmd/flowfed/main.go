// Command flowfed runs and operates a node of a security data-sharing federation.
//
// Run `flowfed help` for the list of commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newOSEnv())
	stop()
	os.Exit(code)
}
