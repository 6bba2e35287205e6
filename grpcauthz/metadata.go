package grpcauthz

// authorizationKey is the metadata key of the credentials, as gRPC's
// per-RPC credentials (oauth.TokenSource, ...) send them.
const authorizationKey = "authorization"
