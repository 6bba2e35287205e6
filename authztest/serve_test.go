package authztest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return l
}

func TestWithListener(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	iss := newIssuer(t, authztest.WithListener(l), authztest.WithAlgorithm("ES256"))

	assert.Equal(t, "http://"+addr+"/oidc", iss.URL())
	assert.Equal(t, "http://"+addr+"/oidc/jwks", iss.JWKSURL())

	resp, body := get(t, iss.URL()+"/.well-known/openid-configuration")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
	assert.Equal(t, iss.URL(), doc["issuer"])
	assert.Equal(t, iss.URL()+"/token", doc["token_endpoint"])

	token, err := iss.APIToken(resource)
	require.NoError(t, err)
	assert.NoError(t, verify(t, iss, token, "ES256"), "keys are served on the given listener")
	assert.Equal(t, iss.URL(), decode(t, token).claims["iss"])

	iss.Close()
	_, err = net.Dial("tcp", addr)
	assert.Error(t, err, "Close closes the listener")
}

func TestWithListenerErrors(t *testing.T) {
	t.Run("nil listener", func(t *testing.T) {
		iss, err := authztest.NewIssuer(authztest.WithListener(nil))
		assert.Nil(t, iss)
		assert.ErrorContains(t, err, "WithListener: nil listener")
	})
	t.Run("the listener is closed when NewIssuer fails", func(t *testing.T) {
		l := listen(t)
		_, err := authztest.NewIssuer(authztest.WithListener(l), authztest.WithAlgorithm("HS256"))
		require.Error(t, err)
		_, err = l.Accept()
		assert.ErrorIs(t, err, net.ErrClosed)
	})
}

func TestHandle(t *testing.T) {
	iss := newIssuer(t)
	iss.Handle("POST /token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "token for "+r.PostFormValue("resource")+" at "+r.URL.Path)
	}))
	iss.Handle("/echo/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.PathValue("name"))
	}))

	post := func(t *testing.T) (int, string) {
		t.Helper()
		resp, err := http.PostForm(iss.URL()+"/token", url.Values{"resource": {resource}})
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}

	tests := []struct {
		name     string
		method   string
		url      string
		wantCode int
		wantBody string
	}{
		{name: "GET of a POST route", method: http.MethodGet, url: iss.URL() + "/token", wantCode: http.StatusMethodNotAllowed},
		{name: "route without a method", method: http.MethodDelete, url: iss.URL() + "/echo/abc", wantCode: http.StatusOK, wantBody: "DELETE abc"},
		{name: "outside the issuer path", method: http.MethodPost, url: strings.TrimSuffix(iss.URL(), "/oidc") + "/token", wantCode: http.StatusNotFound},
		{name: "discovery still served", method: http.MethodGet, url: iss.URL() + "/.well-known/openid-configuration", wantCode: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.wantCode, resp.StatusCode)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, string(body))
			}
		})
	}

	t.Run("POST route", func(t *testing.T) {
		code, body := post(t)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "token for "+resource+" at /oidc/token", body)
	})
	t.Run("SetUnavailable leaves added routes alone", func(t *testing.T) {
		iss.SetUnavailable(true)
		defer iss.SetUnavailable(false)
		code, _ := post(t)
		assert.Equal(t, http.StatusOK, code)
	})
}

func TestHandlePanics(t *testing.T) {
	ok := http.NotFoundHandler()
	tests := []struct {
		name    string
		pattern string
		handler http.Handler
	}{
		{name: "host", pattern: "example.com/token", handler: ok},
		{name: "method and host", pattern: "POST example.com/token", handler: ok},
		{name: "empty", pattern: "", handler: ok},
		{name: "conflicts with the JWK Set route", pattern: "GET /jwks", handler: ok},
		{name: "conflicts with discovery", pattern: "GET /.well-known/openid-configuration", handler: ok},
		{name: "nil handler", pattern: "POST /token", handler: nil},
		{name: "bad wildcard", pattern: "GET /{", handler: ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newIssuer(t)
			assert.Panics(t, func() { iss.Handle(tt.pattern, tt.handler) })
		})
	}
}

// A token endpoint on the issuer's own server, at the URL its discovery
// document advertises, minting machine-to-machine tokens.
func ExampleIssuer_Handle() {
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	iss.Handle("POST /token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clientID, _, _ := r.BasicAuth() // a real endpoint checks the secret
		token, err := iss.MachineToken(r.PostFormValue("resource"), clientID, authztest.Scopes(r.PostFormValue("scope")))
		if err != nil {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600})
	}))

	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://api.example.com"}, "scope": {"read:documents"}}
	req, _ := http.NewRequest(http.MethodPost, iss.URL()+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("sync-job", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		panic(err)
	}

	_, claims := inspect(body.AccessToken)
	fmt.Println("aud:", claims["aud"])
	fmt.Println("sub:", claims["sub"])
	fmt.Println("client_id:", claims["client_id"])
	fmt.Println("scope:", claims["scope"])
	// Output:
	// aud: https://api.example.com
	// sub: sync-job
	// client_id: sync-job
	// scope: read:documents
}

// TestPublicURL: with WithPublicURL the issuer identifier, the "iss" of
// its tokens and the discovery document's URLs are under the public URL,
// the issuer still answers on its own listener, and with WithHosts the
// public host is answered too, but no other.
func TestPublicURL(t *testing.T) {
	l := listen(t)
	local := l.Addr().String()
	iss, err := authztest.NewIssuer(authztest.WithListener(l), authztest.WithPublicURL("https://Auth.Example.test/"), authztest.WithHosts(local))
	require.NoError(t, err)
	defer iss.Close()
	assert.Equal(t, "https://Auth.Example.test/oidc", iss.URL())
	assert.Equal(t, "https://Auth.Example.test/oidc/jwks", iss.JWKSURL())

	tok, err := iss.APIToken("https://api.example.com")
	require.NoError(t, err)
	claims, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	require.NoError(t, err)
	assert.Contains(t, string(claims), `"iss":"https://Auth.Example.test/oidc"`)

	// The listener's address, reached with the public Host, as a tunnel or
	// a proxy forwards it.
	get := func(host string) *http.Response {
		req, err := http.NewRequest("GET", "http://"+local+"/oidc/.well-known/openid-configuration", nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := get("auth.example.test")
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, iss.URL(), doc.Issuer)
	assert.Equal(t, iss.JWKSURL(), doc.JWKSURI)

	own := get(local)
	own.Body.Close()
	assert.Equal(t, http.StatusOK, own.StatusCode, "the listen address is still answered")
	other := get("rebound.attacker.example")
	other.Body.Close()
	assert.Equal(t, http.StatusMisdirectedRequest, other.StatusCode)
}

func TestPublicURLMustBeABaseURL(t *testing.T) {
	for _, bad := range []string{"", "auth.example.test", "ftp://auth.example.test", "https://", "https://auth.example.test/oidc", "https://u:p@auth.example.test", "https://auth.example.test?x=1", "https://auth.example.test#f", "https://auth.example.test/?"} {
		_, err := authztest.NewIssuer(authztest.WithPublicURL(bad))
		assert.Error(t, err, "%q", bad)
	}
	iss, err := authztest.NewIssuer(authztest.WithPublicURL("http://localhost:8080"))
	require.NoError(t, err)
	iss.Close()
	assert.Equal(t, "http://localhost:8080/oidc", iss.URL())
}
