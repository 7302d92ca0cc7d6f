package send

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kyccb/kyccb"
	"github.com/kyccb/kyccb/internal/wire"
)

// withHash returns body with its hash field set as XGateway sets it for
// secret, its keys in sorted order.
func withHash(secret string, body []byte) ([]byte, error) {
	fields, err := hashedFields(body)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", kyccb.ErrMalformedBody)
	}
	obj["hash"], _ = json.Marshal(wire.XGatewayHash(secret, fields...))
	return json.Marshal(obj)
}

// hashedFields returns the fields XGateway hashes, before the secret, for
// body's callbackType, read with the verifier's own strict parser so that
// the sender and the receiver cannot disagree. The error matches
// [kyccb.ErrMalformedBody] (not one JSON object every parser reads alike,
// or a hashed field not in XGateway's form, such as an amount that is not a
// decimal number) or [kyccb.ErrUnknownCallbackType], and never quotes the
// body.
func hashedFields(body []byte) ([]string, error) {
	x, err := wire.ParseXGateway(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", kyccb.ErrMalformedBody, err)
	}
	fields, err := x.HashedFields()
	switch {
	case errors.Is(err, wire.ErrUnknownCallbackType):
		return nil, kyccb.ErrUnknownCallbackType
	case err != nil:
		return nil, fmt.Errorf("%w: %w", kyccb.ErrMalformedBody, err)
	}
	return fields, nil
}
