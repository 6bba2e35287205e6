module github.com/seed31d61d31/authz/examples/dpop

go 1.25.0

require (
	github.com/MicahParks/jwkset v0.11.4
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/redis/go-redis/v9 v9.22.0
	github.com/seed31d61d31/authz v0.1.0
	github.com/seed31d61d31/authz/dpopredis v0.1.0
	github.com/stretchr/testify v1.12.1
)

require (
	filippo.io/bigmod v0.1.0 // indirect
	filippo.io/nistec v0.0.4 // indirect
	github.com/MicahParks/keyfunc/v3 v3.9.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.36.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace (
	github.com/seed31d61d31/authz => ../..
	github.com/seed31d61d31/authz/dpopredis => ../../dpopredis
)
