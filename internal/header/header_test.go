package header_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz/internal/header"
)

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"X-Organization-Id": true, "x_org.id~1": true, "!#$%&'*+-.^_`|~": true,
		"": false, "X Org": false, "X:Org": false, "X-Örg": false, "X\x00": false, `X"`: false,
	} {
		assert.Equal(t, ok, header.ValidName(name), "%q", name)
	}
}
