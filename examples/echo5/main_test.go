package main

import (
	"testing"

	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

// The chi, gin and echo examples serve the same API, so exampletest checks
// their routes, and run, the same way.

func TestRoutes(t *testing.T) {
	exampletest.FrameworkRoutes(t, newHandler)
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, exampletest.APIUsage())
}

func TestRunServesUntilCancelled(t *testing.T) {
	exampletest.FrameworkServesUntilCancelled(t, run)
}
