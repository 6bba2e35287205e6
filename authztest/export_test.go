package authztest

import (
	"github.com/MicahParks/jwkset"

	"github.com/seed31d61d31/authz/internal/thumbprint"
)

// Thumbprint exposes the thumbprint the issuer uses to the external test package.
func Thumbprint(m jwkset.JWKMarshal) (string, error) { return thumbprint.Of(m) }
