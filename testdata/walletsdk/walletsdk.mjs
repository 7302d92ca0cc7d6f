// walletsdk.mjs runs the official Stellar TypeScript wallet SDK
// (@stellar/typescript-wallet-sdk, pinned in package.json, unchanged)
// against a kyccb anchor, as a wallet team would, for the interop tests of
// internal/localanchor: code kyccb did not write is the client.
//
// It reads one JSON request on stdin and writes one JSON reply on stdout.
//
//   {"home_domain": "127.0.0.1:PORT", "account_seed": "S...", "steps": [...]}
//
// steps is "sep12" (sep1 -> sep10 -> sep12 add, get, update with a file,
// get, delete, get) or "sep6" (sep1 -> sep10 -> sep6 info, deposit with
// on_change_callback, getTransactionBy, sep12 getCustomer and add with the
// transaction_id), run in order. The reply has what each call returned,
// under its name; a call that throws ends the run with {"error", "step"}
// (and what came before), so that the Go test can say which step failed.
import walletSdk from "@stellar/typescript-wallet-sdk"; // a CommonJS module

const { Wallet, StellarConfiguration, SigningKeypair } = walletSdk;

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const out = {};
let step = "";
async function run(name, f) {
  step = name;
  out[name] = await f();
  return out[name];
}

try {
  const wallet = new Wallet({ stellarConfiguration: StellarConfiguration.TestNet() });
  // allowHttp: the local anchor serves plain http on loopback.
  const anchor = wallet.anchor({ homeDomain: req.home_domain, allowHttp: true });
  const info = await run("sep1", () => anchor.sep1());
  out.sep1 = { orgName: info.documentation?.orgName, webAuthEndpoint: info.webAuthEndpoint, kycServer: info.kycServer, transferServer: info.transferServer };
  const accountKp = SigningKeypair.fromSecret(req.account_seed);
  const sep10 = await anchor.sep10();
  const authToken = await run("sep10", () => sep10.authenticate({ accountKp }));
  out.sep10 = { account: authToken.account, token: authToken.token };
  const sep12 = await anchor.sep12(authToken);

  for (const s of req.steps) {
    if (s === "sep12") {
      const added = await run("add", () => sep12.add({ sep9Info: { first_name: "Ada", last_name: "Lovelace" } }));
      await run("get", () => sep12.getCustomer({ id: added.id }));
      await run("update", () =>
        sep12.update({
          id: added.id,
          sep9Info: { email_address: "ada@example.org" },
          sep9BinaryInfo: { photo_id_front: Buffer.from("\x89PNG fake image") },
        }),
      );
      await run("get_updated", () => sep12.getCustomer({ id: added.id }));
      await run("delete", async () => {
        await sep12.delete();
        return "deleted";
      });
      await run("get_deleted", async () => {
        try {
          await sep12.getCustomer({ id: added.id });
          return "still there";
        } catch (e) {
          return e?.response?.status ?? String(e);
        }
      });
    } else if (s === "sep6") {
      const sep6 = anchor.sep6();
      await run("sep6_info", () => sep6.info());
      const dep = await run("deposit", () =>
        sep6.deposit({
          authToken,
          params: { asset_code: "USDC", account: authToken.account, amount: "10", on_change_callback: req.on_change_callback },
        }),
      );
      await run("transaction", () => sep6.getTransactionBy({ authToken, id: dep.id }));
      await run("customer_for_transaction", () => sep12.getCustomer({ transactionId: dep.id }));
      await run("put_for_transaction", () =>
        sep12.add({ sep9Info: { first_name: "Ada", last_name: "Lovelace", email_address: "ada@example.org" }, transactionId: dep.id }),
      );
      await run("transaction_after_kyc", () => sep6.getTransactionBy({ authToken, id: dep.id }));
      await run("transactions", () => sep6.getTransactionsForAsset({ authToken, assetCode: "USDC" }));
    } else {
      throw new Error(`unknown step ${s}`);
    }
  }
  step = "";
} catch (e) {
  out.error = String(e?.message ?? e);
  if (e?.response) out.error += ` (${e.response.status} ${JSON.stringify(e.response.data)})`;
  out.step = step;
}
process.stdout.write(JSON.stringify(out));
