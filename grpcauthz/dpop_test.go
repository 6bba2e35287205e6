package grpcauthz_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/grpcauthz"
)

// dpopClient serves the health service with DPoP in mode and returns a
// client, the issuer and a client key.
func dpopClient(t *testing.T, mode authz.DPoPMode, dc authz.DPoPConfig, opts ...grpcauthz.Option) (grpc_health_v1.HealthClient, *authztest.Issuer, *authztest.DPoPKey) {
	t.Helper()
	iss := newIssuer(t)
	v, err := authz.New(iss.URL(), []string{api}, authz.WithClock(clock), authz.WithDPoP(dc))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	a, err := grpcauthz.New(v, grpcauthz.Methods{check: {AllOf: []string{"read:health"}}, watch: {AllOf: []string{"read:health"}}},
		append([]grpcauthz.Option{quiet, grpcauthz.WithDPoP(mode)}, opts...)...)
	require.NoError(t, err)
	key, err := authztest.NewDPoPKey("ES256", clock)
	require.NoError(t, err)
	return serve(t, a), iss, key
}

// dpopMD is the metadata of a DPoP call with tok and proof.
func dpopMD(tok, proof string) []string {
	return []string{"authorization", "DPoP " + tok, "dpop", proof}
}

// The htu of a call over bufconn, whose :authority is "bufconn".
const (
	checkURL = "http://bufconn" + check
	watchURL = "http://bufconn" + watch
)

func TestDPoPOverGRPC(t *testing.T) {
	client, iss, key := dpopClient(t, authz.DPoPAllowed, authz.DPoPConfig{})
	m := must(t)
	tok := m(iss.APIToken(api, authztest.Subject("bob"), authztest.BoundTo(key), authztest.Scopes("read:health")))
	proof := func(url string, opts ...authztest.ProofOption) string { return m(key.Proof("POST", url, tok, opts...)) }

	p := proof(checkURL)
	assertResult(t, row{code: codes.OK, sub: "bob"}, callCheck(t, client, dpopMD(tok, p)...))
	assertResult(t, row{code: codes.Unauthenticated, msg: "replayed"}, callCheck(t, client, dpopMD(tok, p)...))
	assertResult(t, row{code: codes.OK, sub: "bob"}, callWatch(t, client, dpopMD(tok, proof(watchURL))...))

	unbound := m(iss.APIToken(api, authztest.Subject("amy"), authztest.Scopes("read:health")))
	assertResult(t, row{code: codes.OK, sub: "amy"}, callCheck(t, client, bearer(unbound)...))

	for name, tc := range map[string]struct {
		md  []string
		msg string
	}{
		"bearer downgrade":      {bearer(tok), "send it with the DPoP scheme"},
		"no proof":              {[]string{"authorization", "DPoP " + tok}, "no DPoP proof"},
		"two proofs":            {[]string{"authorization", "DPoP " + tok, "dpop", proof(checkURL), "dpop", proof(checkURL)}, "more than one DPoP proof"},
		"htm GET":               {dpopMD(tok, m(key.Proof("GET", checkURL, tok))), `"htm"`},
		"htu of another method": {dpopMD(tok, proof(watchURL)), `"htu"`},
		"stale":                 {dpopMD(tok, proof(checkURL, authztest.ProofIssuedAt(clock().Add(-time.Hour)))), "old"},
	} {
		t.Run(name, func(t *testing.T) {
			assertResult(t, row{code: codes.Unauthenticated, msg: tc.msg}, callCheck(t, client, tc.md...))
		})
	}
	weak := m(iss.APIToken(api, authztest.BoundTo(key)))
	assertResult(t, row{code: codes.PermissionDenied}, callCheck(t, client, dpopMD(weak, m(key.Proof("POST", checkURL, weak)))...))
}

func TestDPoPRequiredOverGRPC(t *testing.T) {
	client, iss, key := dpopClient(t, authz.DPoPRequired, authz.DPoPConfig{}, grpcauthz.WithExternalURL("https://api.example.com"))
	m := must(t)
	tok := m(iss.APIToken(api, authztest.Subject("bob"), authztest.BoundTo(key), authztest.Scopes("read:health")))
	assertResult(t, row{code: codes.OK, sub: "bob"}, callCheck(t, client, dpopMD(tok, m(key.Proof("POST", "https://api.example.com"+check, tok)))...))
	assertResult(t, row{code: codes.Unauthenticated, msg: "htu"}, callCheck(t, client, dpopMD(tok, m(key.Proof("POST", checkURL, tok)))...))
	unbound := m(iss.APIToken(api, authztest.Scopes("read:health")))
	assertResult(t, row{code: codes.Unauthenticated, msg: "accepts only DPoP-bound tokens"}, callCheck(t, client, bearer(unbound)...))
	assertResult(t, row{code: codes.Unauthenticated, msg: "no DPoP token"}, callCheck(t, client))
}

func TestDPoPOptionsOverGRPC(t *testing.T) {
	iss := newIssuer(t)
	_, err := grpcauthz.New(newValidator(t, iss), grpcauthz.Methods{check: {}}, grpcauthz.WithDPoP(authz.DPoPAllowed))
	assert.ErrorContains(t, err, "authz.WithDPoP")
	for _, bad := range []string{"api.example.com", "https://api.example.com/v1", "https://api.example.com?x", "ftp://x"} {
		_, err := grpcauthz.New(newValidator(t, iss), grpcauthz.Methods{check: {}}, grpcauthz.WithExternalURL(bad))
		assert.Error(t, err, bad)
	}
	_, err = grpcauthz.New(newValidator(t, iss), grpcauthz.Methods{check: {}}, grpcauthz.WithDPoP(authz.DPoPMode(7)))
	assert.Error(t, err)
}

// TestDPoPNonceOverGRPC: a proof without the server's nonce is refused,
// and the call's response header carries the nonce to retry with.
func TestDPoPNonceOverGRPC(t *testing.T) {
	nonces, err := authz.NewNonceSource([]byte(strings.Repeat("g", 32)), time.Minute)
	require.NoError(t, err)
	client, iss, key := dpopClient(t, authz.DPoPAllowed, authz.DPoPConfig{Nonces: nonces})
	m := must(t)
	tok := m(iss.APIToken(api, authztest.Subject("bob"), authztest.BoundTo(key), authztest.Scopes("read:health")))

	call := func(proof string) (string, error) {
		ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs(dpopMD(tok, proof)...))
		var header, trailer metadata.MD
		_, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}, grpc.Header(&header), grpc.Trailer(&trailer))
		nonce := first(header, "dpop-nonce")
		if nonce == "" {
			nonce = first(trailer, "dpop-nonce")
		}
		return nonce, err
	}
	nonce, err := call(m(key.Proof("POST", checkURL, tok)))
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "nonce")
	require.NotEmpty(t, nonce)
	again, err := call(m(key.Proof("POST", checkURL, tok, authztest.ProofClaim("nonce", nonce))))
	assert.NoError(t, err)
	assert.Equal(t, nonce, again, "the current nonce, on success too")
}
