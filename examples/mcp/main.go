// Command mcp is an MCP server (Model Context Protocol, streamable HTTP
// transport, built on the official Go SDK github.com/modelcontextprotocol/go-sdk)
// protected by Logto through authz. It has one tool, read_document, which
// needs the permission read:documents.
//
// It does what the MCP authorization specification asks of a server: it
// publishes OAuth 2.0 Protected Resource Metadata (RFC 9728) naming the
// Logto tenant as its authorization server, and every 401 and 403 points
// to it with resource_metadata="..." in WWW-Authenticate, so an MCP client
// finds out by itself where to get a token, and which scope a tool needs.
//
// In the Logto console, create an API resource whose API identifier is the
// URL of this server's MCP endpoint (for a local run,
// http://127.0.0.1:8080/mcp), with the permission read:documents, and give
// it to a role. Then, from this directory:
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc MCP_RESOURCE=http://127.0.0.1:8080/mcp go run .
//	curl -i -X POST http://127.0.0.1:8080/mcp
//	curl http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp
//
// This example is a module of its own, so the MCP SDK never becomes a
// dependency of authz.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
)

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc MCP_RESOURCE=https://mcp.example.com/mcp go run .

  LOGTO_ISSUER  your Logto endpoint followed by /oidc
  MCP_RESOURCE  the URL of this server's MCP endpoint, which is also the API
                identifier of its API resource in the Logto console
                (https, or http on a loopback host: http://127.0.0.1:8080/mcp)
  ADDR          the address to listen on (default 127.0.0.1:8080)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves the MCP server until ctx is done and returns the exit code: 2
// for a configuration error, 1 if the server fails, 0 after a graceful
// shutdown.
func run(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	issuer, resource := getenv("LOGTO_ISSUER"), getenv("MCP_RESOURCE")
	if issuer == "" || resource == "" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// The MCP server's URL is the audience of its tokens: an MCP client asks
	// Logto for a token with resource=<that URL> (RFC 8707).
	v, err := authz.New(issuer, []string{resource}, authz.WithLogger(log))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer v.Close()
	h, err := newHandler(v, issuer, resource, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	// No WriteTimeout: MCP streams responses as server-sent events, which
	// may stay open longer than any fixed limit.
	return serve.Serve(ctx, cmp.Or(getenv("ADDR"), "127.0.0.1:8080"), h, log, serve.WithoutWriteTimeout())
}
