module github.com/kyccb/kyccb/redisstore

go 1.25.0

replace github.com/kyccb/kyccb => ../

require (
	github.com/kyccb/kyccb v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.22.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
