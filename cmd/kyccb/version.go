package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

const versionUsage = `
Usage: kyccb version
       kyccb --version

Prints the version of kyccb as the Go toolchain recorded it in the binary:
the module version (a release such as v1.2.0 for go install ...@v1.2.0, a
pseudo-version or "(devel)" for a build from a clone), then the commit,
its time and whether the tree had uncommitted changes, when recorded, and
the Go version it was built with. Quote it in bug reports.

Examples:
  kyccb version
  kyccb --version
`

// readBuildInfo is debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", versionUsage, stderr)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	info, ok := readBuildInfo()
	if !ok {
		fmt.Fprintln(stdout, "kyccb (unknown: built without module information)")
		return nil
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	fmt.Fprintln(stdout, "kyccb "+termSafe(version))
	var fields []field
	for _, s := range []struct{ key, label string }{{"vcs.revision", "commit"}, {"vcs.time", "time"}, {"vcs.modified", "modified"}} {
		for _, setting := range info.Settings {
			if setting.Key == s.key && setting.Value != "" {
				fields = append(fields, field{label: s.label, value: setting.Value})
			}
		}
	}
	if info.GoVersion != "" {
		fields = append(fields, field{label: "go", value: info.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH})
	}
	writeFields(stdout, style{}, "  ", fields)
	return nil
}
