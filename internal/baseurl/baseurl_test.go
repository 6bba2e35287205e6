package baseurl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz/internal/baseurl"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		base       string
		path, want bool
	}{
		{"https://api.example.com", false, true},
		{"http://127.0.0.1:8080", false, true},
		{"https://example.com/api", true, true},
		{"https://example.com/api", false, false},
		{"https://api.example.com/", true, false},
		{"api.example.com", true, false},
		{"ftp://api.example.com", true, false},
		{"https://u@api.example.com", true, false},
		{"https://api.example.com?x", true, false},
		{"https://api.example.com?", true, false},
		{"https://api.example.com#f", true, false},
		{"https://", true, false},
		{"mailto:x@example.com", true, false},
	} {
		assert.Equal(t, tc.want, baseurl.Valid(tc.base, tc.path), "%q path=%v", tc.base, tc.path)
	}
}
