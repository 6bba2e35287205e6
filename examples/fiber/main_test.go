package main

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

// The chi, gin, echo, echo5 and fiber examples serve the same API, so
// exampletest checks their routes, and run, the same way.

func TestRoutes(t *testing.T) {
	iss := exampletest.NewTenant(t)
	exampletest.FrameworkRoutesAt(t, iss, listen(t, newApp(exampletest.NewMiddleware(t, iss, exampletest.FrameworkResource))))
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, exampletest.APIUsage())
}

func TestRunServesUntilCancelled(t *testing.T) {
	exampletest.FrameworkServesUntilCancelled(t, run)
}

// listen serves app on a loopback port until the test ends and returns
// its URL.
func listen(t *testing.T, app interface {
	Listener(net.Listener) error
	Shutdown() error
}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}
