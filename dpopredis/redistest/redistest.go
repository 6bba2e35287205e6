// Package redistest runs a real redis-server for tests: on a free loopback
// port, without persistence, stopped when the test (or the test binary)
// is done. It needs redis-server on the PATH (apt-get install -y
// redis-server).
package redistest

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	addr string
	cmd  *exec.Cmd
	dir  string
}

// New starts a redis-server on a free loopback port and waits until it
// answers PING (at most 10 seconds). The caller must Close it.
func New() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return nil, err
	}
	s := &Server{addr: "127.0.0.1:" + port, dir: dir,
		cmd: exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)}
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.addr})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if rdb.Ping(context.Background()).Err() == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, errors.New("redistest: redis-server did not answer PING within 10s")
		}
	}
}

// Addr returns the server's address, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.addr }

// Close stops the server and removes its directory.
func (s *Server) Close() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.dir)
}

// Start starts a redis-server for tb, stopped when tb ends, and returns
// its address. It fails tb when redis-server cannot be started.
func Start(tb testing.TB) string {
	tb.Helper()
	s, err := New()
	if err != nil {
		tb.Fatalf("redistest: %v (the test needs redis-server: apt-get install -y redis-server)", err)
	}
	tb.Cleanup(s.Close)
	return s.Addr()
}
