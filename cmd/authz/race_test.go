//go:build race

package main

// Under "go test -race", the CLI under test is built with -race too, so a
// data race in the dev issuer fails the subprocess tests.
func init() { buildFlags = append(buildFlags, "-race") }
