// Package serve is the HTTP plumbing the examples share: running a handler
// until the process is told to stop, and writing JSON answers. It has
// nothing to do with authz; each example's main.go shows the authz part.
package serve

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Option changes the http.Server that Serve runs.
type Option func(*http.Server)

// WithoutWriteTimeout leaves the server's WriteTimeout unset, for handlers
// whose responses stream, such as server-sent events, and may stay open
// longer than any fixed limit.
func WithoutWriteTimeout() Option {
	return func(s *http.Server) { s.WriteTimeout = 0 }
}

// Serve runs h on addr until ctx is done, then shuts down gracefully. It
// logs "listening" with the address once it accepts connections, and
// returns the exit code: 1 if the server fails, 0 after a graceful
// shutdown.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, opts ...Option) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	for _, o := range opts {
		o(srv)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		log.Error("serve", "err", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// WriteJSON answers with status and v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
