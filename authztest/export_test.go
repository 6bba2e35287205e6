package authztest

import "github.com/MicahParks/jwkset"

// Thumbprint exposes thumbprint to the external test package.
func Thumbprint(m jwkset.JWKMarshal) (string, error) { return thumbprint(m) }
