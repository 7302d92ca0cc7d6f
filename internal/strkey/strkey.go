// Package strkey encodes and decodes the two kinds of Stellar strkey kyccb
// uses: account IDs ("G...") and secret seeds ("S..."). Its API is the part
// of go-stellar-sdk's strkey package that kyccb calls, so that switching
// between the two is an import line.
//
// It exists because go-stellar-sdk's strkey imports go-xdr (for muxed
// accounts and signed payloads, which kyccb never decodes), and with it
// pkg/errors, into every binary that verifies a callback. Its tests check
// it against go-stellar-sdk's package, on known keys and by fuzzing.
//
// It is stricter in one way: a strkey with a CR or LF inside is refused,
// where encoding/base32 (and so go-stellar-sdk) skips them.
package strkey

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
)

// VersionByte is a strkey's first byte, which says what it encodes.
type VersionByte byte

// The version bytes kyccb decodes.
const (
	VersionByteAccountID VersionByte = 6 << 3  // "G...": an ed25519 public key
	VersionByteSeed      VersionByte = 18 << 3 // "S...": an ed25519 seed
)

// payloadSize is the size of what both kinds encode: 32 bytes.
const payloadSize = 32

// encodedSize is the length of both kinds: 1 version byte, 32 bytes, a
// 2-byte checksum, in unpadded base32.
var encodedSize = encoding.EncodedLen(1 + payloadSize + 2)

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Why a strkey does not decode. None of the texts repeats the input.
var (
	ErrInvalidVersionByte = errors.New("invalid version byte")
	ErrLength             = errors.New("strkey has the wrong length")
	ErrEncoding           = errors.New("strkey is not canonical base32")
	ErrChecksum           = errors.New("invalid checksum")
)

// Version returns the version byte of src, without checking the rest.
func Version(src string) (VersionByte, error) {
	raw, err := decode(src)
	if err != nil {
		return 0, err
	}
	return VersionByte(raw[0]), nil
}

// Decode returns the 32 bytes src encodes, after checking that it is a
// strkey of version expected with a valid checksum.
func Decode(expected VersionByte, src string) ([]byte, error) {
	if expected != VersionByteAccountID && expected != VersionByteSeed {
		return nil, ErrInvalidVersionByte
	}
	raw, err := decode(src)
	if err != nil {
		return nil, err
	}
	if VersionByte(raw[0]) != expected {
		return nil, ErrInvalidVersionByte
	}
	body, sum := raw[:len(raw)-2], raw[len(raw)-2:]
	if crc16(body) != binary.LittleEndian.Uint16(sum) {
		return nil, ErrChecksum
	}
	return body[1:], nil
}

// Encode returns the strkey of version for src, which must be 32 bytes.
func Encode(version VersionByte, src []byte) (string, error) {
	if version != VersionByteAccountID && version != VersionByteSeed {
		return "", ErrInvalidVersionByte
	}
	if len(src) != payloadSize {
		return "", ErrLength
	}
	raw := make([]byte, 0, 1+payloadSize+2)
	raw = append(raw, byte(version))
	raw = append(raw, src...)
	raw = binary.LittleEndian.AppendUint16(raw, crc16(raw))
	return encoding.EncodeToString(raw), nil
}

// decode decodes src, which must be exactly as long as a G or S strkey.
// Its 56 characters carry 280 bits, the 35 bytes exactly: no unused bits,
// so one key has one spelling (go-stellar-sdk checks unused bits for other
// lengths). Other lengths are refused here, so Version, unlike
// go-stellar-sdk's, fails for strkeys of other kinds (M..., P...).
func decode(src string) ([]byte, error) {
	if len(src) != encodedSize {
		return nil, ErrLength
	}
	for i := 0; i < len(src); i++ {
		if c := src[i]; !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return nil, ErrEncoding // the decoder would skip CR and LF
		}
	}
	raw, err := encoding.DecodeString(src)
	if err != nil {
		return nil, ErrEncoding
	}
	return raw, nil
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the
// checksum of strkeys.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
