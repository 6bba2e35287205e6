package permission_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz/internal/permission"
)

func TestProblem(t *testing.T) {
	for _, tc := range []struct {
		name string
		perm string
		ok   bool
	}{
		{name: "ascii", perm: "read:documents", ok: true},
		{name: "non-ASCII", perm: "lire:données", ok: true},
		{name: "double quote", perm: `read"x`, ok: true},
		{name: "backslash", perm: `read\x`, ok: true},
		{name: "empty", perm: ""},
		{name: "space", perm: "read documents"},
		{name: "no-break space", perm: "read\u00a0documents"},
		{name: "tab", perm: "read\tdocuments"},
		{name: "control", perm: "read\x01"},
		{name: "C1 control", perm: "read\u0085"},
		{name: "invalid UTF-8", perm: "read\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.ok, permission.Valid(tc.perm))
			assert.Equal(t, tc.ok, permission.Problem(tc.perm) == "")
		})
	}
}
