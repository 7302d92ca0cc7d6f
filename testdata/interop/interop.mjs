// interop.mjs signs and verifies SEP-12 callbacks with the Stellar
// JavaScript SDK (@stellar/stellar-base) and computes XGateway hashes with
// Node's crypto, for kyccb's TestInterop tests. It is an implementation
// written apart from kyccb: it follows PROTOCOLS.md, not kyccb's code.
//
// It reads one JSON request on stdin and writes one JSON reply on stdout,
// so that a test runs every case in a single node process:
//
//   {"sign":     [{"seed", "host", "t", "body_b64", "style"}],
//    "verify":   [{"address", "host", "header", "body_b64"}],
//    "hash":     [{"secret", "fields": ["..."]}],
//    "xgateway": [{"secret", "callback": {...}}]}
//
// Bodies travel as base64 so that every byte arrives as it is. Styles of
// the Signature header: "anchor-platform" ("t=.., s=..", standard base64),
// "polaris" (no space after the comma), "url-unpadded" (URL-safe base64
// without padding, s first).
import { createHash } from "node:crypto";
import { Keypair } from "@stellar/stellar-base";

// signedBytes is "<t>.<host>.<body>": the timestamp digits and the host as
// text, then the body's bytes untouched.
function signedBytes(t, host, body) {
  return Buffer.concat([Buffer.from(`${t}.${host}.`, "utf8"), body]);
}

function sign({ seed, host, t, body_b64, style }) {
  const kp = Keypair.fromSecret(seed);
  const sig = kp.sign(signedBytes(t, host, Buffer.from(body_b64, "base64")));
  let header;
  switch (style) {
    case "anchor-platform":
      header = `t=${t}, s=${sig.toString("base64")}`;
      break;
    case "polaris":
      header = `t=${t},s=${sig.toString("base64")}`;
      break;
    case "url-unpadded":
      header = `s=${sig.toString("base64url")}, t=${t}`;
      break;
    default:
      throw new Error(`unknown style ${style}`);
  }
  return { address: kp.publicKey(), header };
}

// parseHeader reads "t=<digits>, s=<base64>" the way a receiver following
// the spec would: pairs split on commas, whitespace trimmed.
function parseHeader(header) {
  const pairs = {};
  for (const pair of header.split(",")) {
    const i = pair.indexOf("=");
    if (i < 0) continue;
    pairs[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return pairs;
}

function verify({ address, host, header, body_b64 }) {
  const { t, s } = parseHeader(header);
  if (!/^[0-9]+$/.test(t ?? "") || !s) return { ok: false };
  const sig = Buffer.from(s, "base64");
  if (sig.length !== 64) return { ok: false };
  const kp = Keypair.fromPublicKey(address);
  return { ok: kp.verify(signedBytes(t, host, Buffer.from(body_b64, "base64")), sig) };
}

// xgatewayHash is XGateway's documented hash: SHA-512 over the fields and
// the secret joined with ".", in standard padded base64.
function xgatewayHash(secret, fields) {
  return createHash("sha512").update([...fields, secret].join("."), "utf8").digest("base64");
}

// hashedFields gives the fields XGateway hashes for each callback type, in
// the order of its integration guide.
function hashedFields(cb) {
  switch (cb.callbackType) {
    case "kyc":
      return [cb.customerId];
    case "transaction":
      return [cb.id, cb.customerId ?? "N/A", cb.amount, cb.currency];
    case "bank_account":
      return [cb.customerId, cb.currency];
    default:
      throw new Error(`unknown callbackType ${cb.callbackType}`);
  }
}

// xgateway returns the body XGateway sends: the callback with its hash.
function xgateway({ secret, callback }) {
  const body = { ...callback, hash: xgatewayHash(secret, hashedFields(callback)) };
  return { body_b64: Buffer.from(JSON.stringify(body), "utf8").toString("base64") };
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const reply = {
  sign: (req.sign ?? []).map(sign),
  verify: (req.verify ?? []).map(verify),
  hash: (req.hash ?? []).map(({ secret, fields }) => xgatewayHash(secret, fields)),
  xgateway: (req.xgateway ?? []).map(xgateway),
};
process.stdout.write(JSON.stringify(reply));
