// sep10.mjs plays SEP-10 with the Stellar JavaScript SDK
// (@stellar/stellar-sdk's WebAuth), for the interop tests of
// internal/localanchor and wallet/sep10: code kyccb did not write makes and
// reads the challenges.
//
// It reads one JSON request on stdin and writes one JSON reply on stdout:
//
//   {"build": {"server_seed", "account", "home_domain", "web_auth_domain",
//              "network_passphrase", "timeout"?, "memo"?}}
//     -> {"transaction": "<base64 XDR>"}: a challenge made by
//        WebAuth.buildChallengeTx.
//
//   {"authenticate": {"web_auth_endpoint", "server_key", "home_domain",
//                     "web_auth_domain", "network_passphrase", "account_seed"}}
//     -> {"token": "<JWT>"}: GET the challenge, check it with
//        WebAuth.readChallengeTx, sign it with the account's key and POST it
//        back, as a wallet does.
import { Keypair, WebAuth } from "@stellar/stellar-sdk";

function build({ server_seed, account, home_domain, web_auth_domain, network_passphrase, timeout, memo }) {
  const transaction = WebAuth.buildChallengeTx(
    Keypair.fromSecret(server_seed),
    account,
    home_domain,
    timeout ?? 300,
    network_passphrase,
    web_auth_domain,
    memo ?? null,
  );
  return { transaction };
}

async function authenticate({ web_auth_endpoint, server_key, home_domain, web_auth_domain, network_passphrase, account_seed }) {
  const kp = Keypair.fromSecret(account_seed);
  const url = new URL(web_auth_endpoint);
  url.searchParams.set("account", kp.publicKey());
  url.searchParams.set("home_domain", home_domain);
  const got = await fetch(url, { headers: { Accept: "application/json" } });
  if (!got.ok) throw new Error(`GET challenge: ${got.status} ${await got.text()}`);
  const challenge = await got.json();
  if (challenge.network_passphrase && challenge.network_passphrase !== network_passphrase) {
    throw new Error("the challenge is for another network");
  }
  // Throws unless the challenge is signed by server_key, within its time
  // bounds, for home_domain and web_auth_domain.
  const { tx, clientAccountID } = WebAuth.readChallengeTx(
    challenge.transaction,
    server_key,
    network_passphrase,
    home_domain,
    web_auth_domain,
  );
  if (clientAccountID !== kp.publicKey()) throw new Error("the challenge is for another account");
  tx.sign(kp);
  const posted = await fetch(web_auth_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ transaction: tx.toEnvelope().toXDR("base64") }),
  });
  if (!posted.ok) throw new Error(`POST challenge: ${posted.status} ${await posted.text()}`);
  const { token } = await posted.json();
  if (!token) throw new Error("no token in the reply");
  return { token };
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
let reply;
if (req.build) reply = build(req.build);
else if (req.authenticate) reply = await authenticate(req.authenticate);
else throw new Error("want build or authenticate");
process.stdout.write(JSON.stringify(reply));
