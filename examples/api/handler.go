package main

// The routes of the API. Without RBAC, the middleware's Authenticate is the
// whole policy: a request gets through with a valid token for this API, and
// is refused with 401 otherwise (no token, expired, signed by another
// tenant, issued for another API, an organization token, an ID token).

import (
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

// newHandler returns the API's routes, protected by mw.
func newHandler(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Authenticate(http.HandlerFunc(me)))
	return mux
}

// me answers with the caller's Logto user id: the token's subject.
func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := authz.FromContext(r.Context()) // always there behind Authenticate
	serve.WriteJSON(w, http.StatusOK, map[string]string{"subject": claims.Subject})
}
