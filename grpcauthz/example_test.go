package grpcauthz_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/grpcauthz"
)

// Protect a gRPC server: here the standard health service, whose Check
// needs a permission and whose List is public.
func Example() {
	// In production the issuer is the Logto tenant,
	// https://<tenant>.logto.app/oidc; here authztest plays it.
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	v, err := authz.New(iss.URL(), []string{"https://api.example.com"})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	a, err := grpcauthz.New(v, grpcauthz.Methods{
		"/grpc.health.v1.Health/Check": {AllOf: []string{"read:health"}},
		"/grpc.health.v1.Health/List":  {Public: true},
		// Watch is listed nowhere: its calls are refused.
	}, grpcauthz.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(a.UnaryServerInterceptor),
		grpc.ChainStreamInterceptor(a.StreamServerInterceptor),
	)
	grpc_health_v1.RegisterHealthServer(srv, health.NewServer())
	lis := bufconn.Listen(1 << 20) // in production: net.Listen("tcp", ":50051")
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := grpc_health_v1.NewHealthClient(conn)

	// withToken is what a client's per-RPC credentials do.
	withToken := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	}
	reader, _ := iss.APIToken("https://api.example.com", authztest.Scopes("read:health"))
	writer, _ := iss.APIToken("https://api.example.com", authztest.Scopes("write:health"))

	_, err = client.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	_, err = client.Check(withToken("not-a-jwt"), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println(status.Code(err))
	_, err = client.Check(withToken(writer), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	resp, err := client.Check(withToken(reader), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println(status.Code(err), resp.GetStatus())
	_, err = client.List(context.Background(), &grpc_health_v1.HealthListRequest{})
	fmt.Println(status.Code(err))
	// Output:
	// Unauthenticated authz: missing token: the call has no bearer token
	// Unauthenticated
	// PermissionDenied authz: insufficient scope: missing permission read:health
	// OK SERVING
	// OK
}

// A handler checks more permissions in its business logic and answers a
// refusal with the status the interceptors would use.
func ExampleError() {
	handler := func(ctx context.Context) error {
		if err := authz.Check(ctx, "delete:documents"); err != nil {
			return grpcauthz.Error(err)
		}
		return nil
	}
	claims := &authz.Claims{Subject: "user-1", Scopes: []string{"read:documents"}}
	err := handler(authz.NewContext(context.Background(), claims))
	fmt.Println(status.Code(err))
	fmt.Println(status.Convert(err).Message())
	// Output:
	// PermissionDenied
	// authz: insufficient scope: missing permission delete:documents
}
