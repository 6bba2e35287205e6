package main

// The routes of the API. Users and machines are both valid callers of
// GET /whoami; POST /sync is for machines only. A user whose roles grant
// sync:data is still refused there: the permission is necessary, and so is
// being a machine.

import (
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

// newHandler returns the API's routes, protected by mw.
func newHandler(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /whoami", mw.Authenticate(http.HandlerFunc(whoami)))
	mux.Handle("POST /sync", mw.Require("sync:data")(machinesOnly(mw, http.HandlerFunc(syncData))))
	return mux
}

// machinesOnly refuses callers that are not machine-to-machine
// applications with 403, answered by mw as it answers a missing permission.
func machinesOnly(mw *middleware.Middleware, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := authz.FromContext(r.Context()); !ok || !claims.IsMachine() {
			mw.Error(w, r, &authz.Error{Kind: authz.ErrInsufficientScope, Reason: "this route is for machine-to-machine applications"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func whoami(w http.ResponseWriter, r *http.Request) {
	claims, _ := authz.FromContext(r.Context()) // always there behind Authenticate
	serve.WriteJSON(w, http.StatusOK, map[string]any{
		"subject": claims.Subject,
		"client":  claims.ClientID,
		"machine": claims.IsMachine(),
	})
}

func syncData(w http.ResponseWriter, r *http.Request) {
	claims, _ := authz.FromContext(r.Context())
	// A real service would start the synchronization here.
	serve.WriteJSON(w, http.StatusOK, map[string]string{"status": "synced", "by": claims.ClientID})
}
