package middleware_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

func TestStatusCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "nil", err: nil, want: http.StatusOK},
		{name: "not an authz error", err: errors.New("boom"), want: http.StatusInternalServerError},
		{name: "invalid request", err: &authz.Error{Kind: authz.ErrInvalidRequest}, want: http.StatusBadRequest},
		{name: "missing token", err: &authz.Error{Kind: authz.ErrMissingToken}, want: http.StatusUnauthorized},
		{name: "expired", err: &authz.Error{Kind: authz.ErrExpired}, want: http.StatusUnauthorized},
		{name: "audience", err: &authz.Error{Kind: authz.ErrAudience}, want: http.StatusUnauthorized},
		{name: "signature", err: &authz.Error{Kind: authz.ErrSignature}, want: http.StatusUnauthorized},
		{name: "insufficient scope", err: &authz.Error{Kind: authz.ErrInsufficientScope}, want: http.StatusForbidden},
		{name: "organization", err: &authz.Error{Kind: authz.ErrOrganization}, want: http.StatusForbidden},
		{name: "keys unavailable", err: &authz.Error{Kind: authz.ErrKeysUnavailable}, want: http.StatusServiceUnavailable},
		{name: "wrapped", err: errors.Join(errors.New("context"), &authz.Error{Kind: authz.ErrInsufficientScope}), want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, middleware.StatusCode(tt.err))
		})
	}
}
