package grpcauthz_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/grpcauthz"
)

// api is the resource indicator of the API under test.
const api = "https://api.example.com"

// The health service's full method names.
const (
	check = "/grpc.health.v1.Health/Check"
	watch = "/grpc.health.v1.Health/Watch"
	list  = "/grpc.health.v1.Health/List"
)

// clock is the fixed time of the tests, shared by issuers and validators.
func clock() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// quiet keeps refusals out of the test output.
var quiet = grpcauthz.WithLogger(slog.New(slog.DiscardHandler))

// newIssuer starts an in-process issuer shaped like a Logto tenant.
func newIssuer(t *testing.T) *authztest.Issuer {
	t.Helper()
	iss, err := authztest.NewIssuer(authztest.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	return iss
}

// newValidator trusts iss for audiences (api if none).
func newValidator(t *testing.T, iss *authztest.Issuer, audiences ...string) *authz.Validator {
	t.Helper()
	if len(audiences) == 0 {
		audiences = []string{api}
	}
	v, err := authz.New(iss.URL(), audiences, authz.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

// must returns a helper that fails t on err and returns tok.
func must(t *testing.T) func(tok string, err error) string {
	return func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
}

// healthServer is the service under test: the standard health service,
// whose handlers report in the response header who the claims in their
// context are ("x-subject", "anonymous" without claims) and for which
// organization ("x-organization").
type healthServer struct {
	grpc_health_v1.UnimplementedHealthServer
}

func (healthServer) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	if err := grpc.SetHeader(ctx, who(ctx)); err != nil {
		return nil, err
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (healthServer) Watch(_ *grpc_health_v1.HealthCheckRequest, stream grpc.ServerStreamingServer[grpc_health_v1.HealthCheckResponse]) error {
	if err := stream.SetHeader(who(stream.Context())); err != nil {
		return err
	}
	return stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

// who describes the claims in ctx as response metadata.
func who(ctx context.Context) metadata.MD {
	c, ok := authz.FromContext(ctx)
	if !ok {
		return metadata.Pairs("x-subject", "anonymous")
	}
	return metadata.Pairs("x-subject", c.Subject, "x-organization", c.OrganizationID)
}

// serve runs healthServer on an in-process gRPC server over bufconn, behind
// both interceptors of a, and returns a client. extra interceptors run
// before a's.
func serve(t *testing.T, a *grpcauthz.Interceptor, extra ...grpc.UnaryServerInterceptor) grpc_health_v1.HealthClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(append(extra, a.UnaryServerInterceptor)...),
		grpc.ChainStreamInterceptor(a.StreamServerInterceptor),
	)
	grpc_health_v1.RegisterHealthServer(srv, healthServer{})
	go func() { _ = srv.Serve(lis) }() // returns at Stop
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return grpc_health_v1.NewHealthClient(conn)
}

// newClient serves methods, enforced with v, and returns a client.
func newClient(t *testing.T, v *authz.Validator, methods grpcauthz.Methods) grpc_health_v1.HealthClient {
	t.Helper()
	a, err := grpcauthz.New(v, methods, quiet)
	require.NoError(t, err)
	return serve(t, a)
}

// bearer is the metadata of a call carrying tok.
func bearer(tok string) []string { return []string{"authorization", "Bearer " + tok} }

// result is the outcome of one call: its status, and the subject and
// organization the handler saw ("" when the handler was not called).
type result struct {
	status       *status.Status
	subject, org string
}

// callCheck calls Check with the metadata pairs md (key, value, ...).
func callCheck(t *testing.T, client grpc_health_v1.HealthClient, md ...string) result {
	t.Helper()
	ctx := metadata.NewOutgoingContext(t.Context(), metadata.Pairs(md...))
	var header metadata.MD
	_, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}, grpc.Header(&header))
	return result{status: status.Convert(err), subject: first(header, "x-subject"), org: first(header, "x-organization")}
}

// callWatch opens a Watch stream with the metadata pairs md and reads its
// first message.
func callWatch(t *testing.T, client grpc_health_v1.HealthClient, md ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(t.Context(), metadata.Pairs(md...)))
	defer cancel()
	stream, err := client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		return result{status: status.Convert(err)}
	}
	resp, err := stream.Recv()
	if err != nil {
		return result{status: status.Convert(err)}
	}
	header, err := stream.Header()
	require.NoError(t, err)
	require.Equal(t, grpc_health_v1.HealthCheckResponse_SERVING, resp.GetStatus())
	return result{status: status.New(0, ""), subject: first(header, "x-subject"), org: first(header, "x-organization")}
}

func first(md metadata.MD, key string) string {
	if vals := md.Get(key); len(vals) > 0 {
		return vals[0]
	}
	return ""
}
