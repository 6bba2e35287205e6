package main

// The routes of the API and the permissions each requires. The middleware
// refuses a request whose token lacks them with 403 and an RFC 6750
// challenge naming them; a finer rule that depends on the request (here,
// ?include=drafts) is checked in the handler with authz.Check.

import (
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

// newHandler returns the API's routes, protected by mw.
func newHandler(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /documents", mw.Require("read:documents")(listDocuments(mw)))
	mux.Handle("POST /documents", mw.Require("write:documents")(http.HandlerFunc(createDocument)))
	// Either permission will do: delete:documents (editors) or admin:documents (admins).
	mux.Handle("DELETE /documents/{id}", mw.RequireAny("delete:documents", "admin:documents")(http.HandlerFunc(deleteDocument)))
	return mux
}

func listDocuments(mw *middleware.Middleware) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		docs := []string{"roadmap", "budget"}
		if r.URL.Query().Get("include") == "drafts" {
			// Business logic asks for more than the route requires; mw.Error
			// answers a refusal as the middleware does (403, RFC 6750 challenge).
			if err := authz.Check(r.Context(), "read:drafts"); err != nil {
				mw.Error(w, r, err)
				return
			}
			docs = append(docs, "draft: reorg")
		}
		serve.WriteJSON(w, http.StatusOK, map[string][]string{"documents": docs})
	}
}

func createDocument(w http.ResponseWriter, r *http.Request) {
	claims, _ := authz.FromContext(r.Context()) // always there behind Require
	serve.WriteJSON(w, http.StatusCreated, map[string]string{"id": "doc-3", "owner": claims.Subject})
}

func deleteDocument(w http.ResponseWriter, r *http.Request) {
	_ = r.PathValue("id") // a real service would delete it here
	w.WriteHeader(http.StatusNoContent)
}
