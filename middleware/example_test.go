package middleware_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// quiet keeps the examples' refusals out of the test output.
var quiet = middleware.WithLogger(slog.New(slog.DiscardHandler))

// send serves one request through h and prints the status and the
// WWW-Authenticate challenge, if any.
func send(h http.Handler, method, target, token string) {
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if c := rec.Header().Get("WWW-Authenticate"); c != "" {
		fmt.Println(rec.Code, c)
		return
	}
	fmt.Println(rec.Code)
}

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
	mw, err := middleware.New(v, quiet)
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /documents", mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := authz.FromContext(r.Context())
		fmt.Println("hello", claims.Subject)
	})))
	mux.Handle("POST /documents", mw.Require("read:documents", "write:documents")(http.NotFoundHandler()))

	reader, _ := iss.APIToken("https://api.example.com", authztest.Scopes("read:documents"))
	send(mux, "GET", "/documents", "")
	send(mux, "GET", "/documents", "not-a-jwt")
	send(mux, "GET", "/documents", reader)
	send(mux, "POST", "/documents", reader)
	// Output:
	// 401 Bearer realm="api"
	// 401 Bearer realm="api", error="invalid_token", error_description="token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com"
	// hello test-user
	// 200
	// 403 Bearer realm="api", error="insufficient_scope", error_description="missing permission write:documents", scope="read:documents write:documents"
}

// One policy protects a whole ServeMux; routes it does not list are refused.
func ExampleMiddleware_Enforce() {
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
	mw, err := middleware.New(v, quiet)
	if err != nil {
		panic(err)
	}
	policy, err := authz.LoadPolicy(strings.NewReader(`{"rules": [
		{"route": "GET /healthz", "public": true},
		{"route": "GET /orgs/{org}/projects", "organization": {"pathValue": "org"}, "allOf": ["read:projects"]}
	]}`))
	if err != nil {
		panic(err)
	}

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", ok)
	mux.Handle("GET /orgs/{org}/projects", ok)
	mux.Handle("GET /admin", ok)
	h := mw.Enforce(policy)(mux)

	member, _ := iss.OrganizationAPIToken("https://api.example.com", "acme", authztest.Scopes("read:projects"))
	send(h, "GET", "/healthz", "")
	send(h, "GET", "/orgs/acme/projects", member)
	send(h, "GET", "/orgs/globex/projects", member)
	send(h, "GET", "/admin", member)
	// Output:
	// 200
	// 200
	// 403 Bearer realm="api", error="insufficient_scope", error_description="token is for another organization", scope="read:projects"
	// 403 Bearer realm="api", error="insufficient_scope", error_description="the policy lists no rule for this route"
}

// Anonymous access is a mode of its own: no token is fine, a bad one is not.
func ExampleMiddleware_AllowAnonymous() {
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
	mw, err := middleware.New(v, quiet)
	if err != nil {
		panic(err)
	}
	h := mw.AllowAnonymous(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := authz.FromContext(r.Context()); ok {
			fmt.Println("feed for", claims.Subject)
			return
		}
		fmt.Println("public feed")
	}))

	alice, _ := iss.APIToken("https://api.example.com", authztest.Subject("alice"))
	otherAPI, _ := iss.APIToken("https://billing.example.com")
	send(h, "GET", "/feed", "")
	send(h, "GET", "/feed", alice)
	send(h, "GET", "/feed", otherAPI)
	// Output:
	// public feed
	// 200
	// feed for alice
	// 200
	// 401 Bearer realm="api", error="invalid_token", error_description="token is not for this API: its 'aud' is 'https://billing.example.com'; this API is https://api.example.com"
}

// An error handler replaces the default response; StatusCode keeps the
// RFC 6750 status codes.
func ExampleWithErrorHandler() {
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
	mw, err := middleware.New(v, quiet, middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(middleware.StatusCode(err))
		fmt.Fprintln(w, "denied:", err)
	}))
	if err != nil {
		panic(err)
	}
	h := mw.Require("read:documents")(http.NotFoundHandler())

	tok, _ := iss.APIToken("https://api.example.com")
	req := httptest.NewRequest("GET", "/documents", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	fmt.Print(rec.Code, " ", string(body))
	// Output:
	// 403 denied: authz: insufficient scope: missing permission read:documents
}

// One validator accepts the API's tokens and organization tokens; each
// organization route says which kind it takes with Accept. Require is
// always a global route for API tokens.
func ExampleMiddleware_Accept() {
	iss, _ := authztest.NewIssuer()
	defer iss.Close()
	v, _ := authz.New(iss.URL(), []string{"https://api.example.com", authz.AnyOrganization})
	defer v.Close()
	mw, _ := middleware.New(v, quiet)

	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /notes", mw.Require("read:notes")(ok))
	mux.Handle("GET /orgs/{org}/members", mw.Accept(authz.OrganizationToken).RequireOrganizationFromPath("org", "read:members")(ok))
	mux.Handle("GET /orgs/{org}/reports", mw.Accept(authz.APIToken).RequireOrganizationFromPath("org", "read:reports")(ok))

	orgToken, _ := iss.OrganizationToken("org-a", authztest.Scopes("read:notes", "read:members"))
	orgAPIToken, _ := iss.OrganizationAPIToken("https://api.example.com", "org-a", authztest.Scopes("read:notes", "read:reports"))
	send(mux, "GET", "/notes", orgToken)
	send(mux, "GET", "/notes", orgAPIToken)
	send(mux, "GET", "/orgs/org-a/members", orgToken)
	send(mux, "GET", "/orgs/org-a/reports", orgAPIToken)
	send(mux, "GET", "/orgs/org-a/reports", orgToken)
	// Output:
	// 401 Bearer realm="api", error="invalid_token", error_description="token is an organization token, not an access token for this API"
	// 403 Bearer realm="api", error="insufficient_scope", error_description="token is bound to an organization, whose permissions hold only inside it; this operation is outside every organization", scope="read:notes"
	// 200
	// 200
	// 401 Bearer realm="api", error="invalid_token", error_description="token is an organization token, not an access token for this API"
}
