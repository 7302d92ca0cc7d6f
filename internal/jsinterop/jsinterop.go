// Package jsinterop runs the scripts of testdata/interop, which exchange
// SEP-10 challenges with the Stellar JavaScript SDK, and of
// testdata/walletsdk, which run the Stellar TypeScript wallet SDK, for the
// interop tests of kyccb's packages. It is for tests only.
//
// Without node or the SDK installed, Run skips the test, unless
// KYCCB_REQUIRE_INTEROP=1 (set by .ci/run), which makes it fail instead.
package jsinterop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Dir returns the directory of the interop scripts, testdata/interop at the
// module's root, or skips t.
func Dir(t testing.TB) string {
	t.Helper()
	return dirOf(t, "interop", "stellar-sdk")
}

// WalletSDKDir returns the directory of the wallet SDK's scripts,
// testdata/walletsdk at the module's root, or skips t.
func WalletSDKDir(t testing.TB) string {
	t.Helper()
	return dirOf(t, "walletsdk", "typescript-wallet-sdk")
}

func dirOf(t testing.TB, name, pkg string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "testdata", name)
	if _, err := exec.LookPath("node"); err != nil {
		Skip(t, "node is not in PATH: install Node.js 20 or newer")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@stellar", pkg, "package.json")); err != nil {
		Skip(t, "@stellar/"+pkg+" is not installed: run `npm ci --prefix testdata/"+name+"` at the module's root")
	}
	return dir
}

// Run runs the script (such as "sep10.mjs") of the interop directory with
// in as JSON on its standard input, and decodes its standard output into
// out. The script has a minute at most.
func Run(t testing.TB, script string, in, out any) {
	t.Helper()
	run(t, Dir(t), script, in, out)
}

// RunWalletSDK is [Run] for the scripts of testdata/walletsdk.
func RunWalletSDK(t testing.TB, script string, in, out any) {
	t.Helper()
	run(t, WalletSDKDir(t), script, in, out)
}

func run(t testing.TB, dir, script string, in, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, script))
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("%s: reply: %v\n%s", script, err, stdout)
	}
}

// Skip skips t with why, or fails it when KYCCB_REQUIRE_INTEROP=1.
func Skip(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("KYCCB_REQUIRE_INTEROP") == "1" {
		t.Fatalf("interop test cannot run, and KYCCB_REQUIRE_INTEROP=1: %s", why)
	}
	t.Skipf("skipping the interop test with the Stellar JavaScript SDK: %s", why)
}

// moduleRoot returns the nearest directory, from the working directory up,
// that holds a go.mod: tests run in their package's directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("jsinterop: no go.mod above the working directory")
		}
		dir = parent
	}
}
