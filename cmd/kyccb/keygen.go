package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stellar/go-stellar-sdk/keypair"
)

const keygenUsage = `
Usage: kyccb keygen [--json]

Prints a fresh random Stellar key pair to play the anchor in tests: the seed
(S...) signs callbacks (kyccb send --seed), the address (G...) is the signing
key a receiver trusts (kyccb listen --signing-key). Keep real anchor seeds
out of shells and scripts.

Examples:
  kyccb keygen
  kyccb keygen --json | jq -r .address
`

func runKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", keygenUsage, stderr)
	asJSON := fs.Bool("json", false, `print {"seed": "S...", "address": "G..."}`)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	kp, err := keypair.Random()
	if err != nil {
		return err
	}
	if *asJSON {
		return (&jsonLines{w: stdout}).write(struct {
			Seed    string `json:"seed"`
			Address string `json:"address"`
		}{kp.Seed(), kp.Address()})
	}
	st := newStyle(stdout)
	writeFields(stdout, st, "", []field{{label: "seed", value: kp.Seed()}, {label: "address", value: kp.Address()}})
	fmt.Fprintln(stdout, st.dim("\nsign with: kyccb send --seed "+kp.Seed()+" ...\ntrust with: kyccb listen --signing-key "+kp.Address()+" ..."))
	return nil
}
