// Package sdkcheck has no code, only the tests that check
// [github.com/kyccb/kyccb/internal/strkey] against go-stellar-sdk's strkey,
// on known keys and by fuzzing.
//
// They live apart from the package they test because go mod tidy, in a
// module that imports kyccb, loads the tests of every package kyccb
// imports: there, a test importing go-stellar-sdk would put it, go-xdr and
// pkg/errors into every receiver's go.sum, though no receiver links them.
package sdkcheck
