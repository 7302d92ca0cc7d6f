#!/usr/bin/env python3
"""Writes testdata/transactions.json: signed SEP-6, SEP-24 and SEP-31
transaction callbacks in the formats of the Stellar Anchor Platform and of
django-polaris, for kyccb's TestTransactionVectors.

The bodies are serialized as each sender does: the Anchor Platform with Gson
(compact JSON, times as ISO 8601 instants with milliseconds), django-polaris
with Python's json.dumps (", " and ": " separators, non-ASCII escaped, null
for every absent field, times as Django REST framework writes them). The
signatures are made by interop.mjs with the Stellar JavaScript SDK, in the
header style of each sender: the Anchor Platform signs over the callback
URL's host with its port and writes "t=.., s=.."; django-polaris signs over
urlparse(url).netloc and writes "t=..,s=..".

Run from the module's root, after `npm ci --prefix testdata/interop`:

    python3 testdata/interop/transaction_vectors.py
"""
import base64
import json
import subprocess
from urllib.parse import urlparse

AP_SEED = "SAX3AH622R2XT6DXWWSRIDCMMUCCMATBZ5U6XKJWDO7M2EJUBFC3AW5X"  # PROTOCOLS.md
POLARIS_SEED = "SBANR7RLX72AP6NTLQMGH7WBQL2VEGK47NJYI75T2BMXOM42NQHXZIRQ"
T = 1764669900  # 2025-12-02T10:05:00Z
AP_URL = "https://wallet.example.org:8443/callbacks/tx"
POLARIS_URL = "https://wallet.example.org:8000/callbacks/tx"


def ap_host(url):
    u = urlparse(url)
    return f"{u.hostname}:{u.port}" if u.port else u.hostname


def gson(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def polaris(obj):
    return json.dumps(obj).encode()


def polaris_tx(**fields):
    # Every field of polaris's TransactionSerializer, null unless given.
    names = ["id", "kind", "status", "status_eta", "more_info_url", "amount_in",
             "amount_in_asset", "amount_out", "amount_out_asset", "amount_fee",
             "amount_fee_asset", "fee_details", "quote_id", "started_at",
             "completed_at", "updated_at", "user_action_required_by",
             "stellar_transaction_id", "external_transaction_id", "message",
             "refunded", "refunds", "from", "to", "deposit_memo",
             "deposit_memo_type", "claimable_balance_id", "withdraw_anchor_account",
             "withdraw_memo", "withdraw_memo_type", "required_info_message",
             "required_info_updates"]
    tx = {n: None for n in names}
    tx["refunded"] = False
    tx.update(fields)
    return {"transaction": tx}


CASES = [
    # name, sender, url signed for, configured host, body, valid, reason, want
    dict(
        name="ap_sep24_deposit_completed",
        sender="anchor-platform", url=AP_URL,
        body=gson({"transaction": {
            "id": "a6b2ab36-0c0e-4b35-9c7a-1e0b2d8a4c10", "kind": "deposit", "status": "completed",
            "kyc_verified": True,
            "more_info_url": "https://anchor.example.com/sep24/transaction/more_info?token=abc",
            "amount_in": "100.00", "amount_in_asset": "iso4217:USD",
            "amount_out": "98.50",
            "amount_out_asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
            "amount_fee": "1.50", "amount_fee_asset": "iso4217:USD",
            "fee_details": {"total": "1.50", "asset": "iso4217:USD",
                            "details": [{"name": "Service fee", "amount": "1.00"},
                                        {"name": "ACH fee", "amount": "0.50", "description": "bank transfer"}]},
            "started_at": "2025-12-02T10:01:12.345Z", "updated_at": "2025-12-02T10:05:00.120Z",
            "completed_at": "2025-12-02T10:05:00.120Z",
            "stellar_transaction_id": "17a670bc424ff5ce3b386dbfaae9990b66a2a37b4fbe51547e8794962a3f9e6a",
            "external_transaction_id": "ACH-1238234",
            "from": "bank:123456789",
            "to": "GBITQ4YAFKD2372TNAMNHQ4JV5VS3BYKRK4QQR6FOLAR7XAHC3RVGVVJ",
            "deposit_memo": "12345", "deposit_memo_type": "id",
            "claimable_balance_id": "00000000929b20b72e5890ab51c24f1cc46fa01c4f318d8d33367d24dd614cfdf5491072"}}),
        valid=True,
        want={"id": "a6b2ab36-0c0e-4b35-9c7a-1e0b2d8a4c10", "kind": "deposit", "status": "completed",
              "kyc_verified": True,
              "more_info_url": "https://anchor.example.com/sep24/transaction/more_info?token=abc",
              "amount_in": "100.00", "amount_in_asset": "iso4217:USD", "amount_out": "98.50",
              "amount_out_asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
              "amount_fee": "1.50", "amount_fee_asset": "iso4217:USD",
              "fee_details": {"total": "1.50", "asset": "iso4217:USD",
                              "details": [{"name": "Service fee", "amount": "1.00"},
                                          {"name": "ACH fee", "amount": "0.50", "description": "bank transfer"}]},
              "started_at": "2025-12-02T10:01:12.345Z", "updated_at": "2025-12-02T10:05:00.12Z",
              "completed_at": "2025-12-02T10:05:00.12Z",
              "stellar_transaction_id": "17a670bc424ff5ce3b386dbfaae9990b66a2a37b4fbe51547e8794962a3f9e6a",
              "external_transaction_id": "ACH-1238234", "from": "bank:123456789",
              "to": "GBITQ4YAFKD2372TNAMNHQ4JV5VS3BYKRK4QQR6FOLAR7XAHC3RVGVVJ",
              "deposit_memo": "12345", "deposit_memo_type": "id",
              "claimable_balance_id": "00000000929b20b72e5890ab51c24f1cc46fa01c4f318d8d33367d24dd614cfdf5491072"},
    ),
    dict(
        name="ap_sep6_pending_customer_info_update",
        sender="anchor-platform", url=AP_URL,
        body=gson({"transaction": {
            "id": "b1f0c1d2-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "kind": "withdrawal-exchange",
            "status": "pending_customer_info_update", "status_eta": 3600,
            "amount_in": "100", "amount_in_asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
            "amount_out": "500", "amount_out_asset": "iso4217:BRL", "quote_id": "quote-77",
            "started_at": "2025-12-02T10:00:00Z", "updated_at": "2025-12-02T10:01:00Z",
            "user_action_required_by": "2025-12-03T10:01:00Z",
            "withdraw_anchor_account": "GBANAGOAXH5ONSBI2I6I5LHP2TCRHWMZIAMGUQH2TNKQNCOGJ7GC3ZOL",
            "withdraw_memo": "186384", "withdraw_memo_type": "id",
            "required_info_message": "bank account needed", "required_info_updates": ["dest", "dest_extra"],
            "required_customer_info_message": "KYC incomplete",
            "required_customer_info_updates": ["id_type", "id_number"],
            "instructions": {"organization.bank_number": {"value": "121122676", "description": "US bank routing number"}}}}),
        valid=True,
        want={"id": "b1f0c1d2-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "kind": "withdrawal-exchange",
              "status": "pending_customer_info_update", "status_eta": 3600,
              "amount_in": "100", "amount_in_asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
              "amount_out": "500", "amount_out_asset": "iso4217:BRL", "quote_id": "quote-77",
              "started_at": "2025-12-02T10:00:00Z", "updated_at": "2025-12-02T10:01:00Z",
              "user_action_required_by": "2025-12-03T10:01:00Z",
              "withdraw_anchor_account": "GBANAGOAXH5ONSBI2I6I5LHP2TCRHWMZIAMGUQH2TNKQNCOGJ7GC3ZOL",
              "withdraw_memo": "186384", "withdraw_memo_type": "id",
              "required_info_message": "bank account needed",
              "required_info_updates": {"dest": {"type": ""}, "dest_extra": {"type": ""}},
              "required_customer_info_message": "KYC incomplete",
              "required_customer_info_updates": ["id_type", "id_number"],
              "instructions": {"organization.bank_number": {"value": "121122676", "description": "US bank routing number"}}},
    ),
    dict(
        name="ap_sep31_receive_info_update",
        sender="anchor-platform", url=AP_URL,
        body=gson({"transaction": {
            "id": "c2d3e4f5-0000-4000-8000-000000000031", "kind": "receive",
            "status": "pending_transaction_info_update", "status_message": "receiver account rejected",
            "amount_in": "110", "amount_in_asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
            "amount_out": "100", "amount_out_asset": "iso4217:EUR",
            "fee_details": {"total": "10", "asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"},
            "stellar_account_id": "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
            "stellar_memo": "123456789", "stellar_memo_type": "id",
            "started_at": "2025-12-02T09:58:00.000Z", "updated_at": "2025-12-02T10:04:59.999Z",
            "refunds": {"amount_refunded": "10", "amount_fee": "1",
                        "payments": [{"id": "b9d0b2292c4e09e8eb22d036171491e87b8d2086bf8b265874c8d182cb9c9020", "amount": "10", "fee": "1"}]},
            "required_info_message": "The bank reported an incorrect account number",
            "required_info_updates": {"transaction": {"receiver_account_number": {"description": "The receiver's bank account number"}}},
            "sender_id": "d2bd1412-e2f6-4047-ad70-a1a2f133b25c", "receiver_id": "137938d4-43a7-4252-a452-842adcee474c"}}),
        valid=True,
        want={"id": "c2d3e4f5-0000-4000-8000-000000000031", "kind": "receive",
              "status": "pending_transaction_info_update", "status_message": "receiver account rejected",
              "amount_in": "110", "amount_in_asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
              "amount_out": "100", "amount_out_asset": "iso4217:EUR",
              "fee_details": {"total": "10", "asset": "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"},
              "stellar_account_id": "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
              "stellar_memo": "123456789", "stellar_memo_type": "id",
              "started_at": "2025-12-02T09:58:00Z", "updated_at": "2025-12-02T10:04:59.999Z",
              "refunds": {"amount_refunded": "10", "amount_fee": "1",
                          "payments": [{"id": "b9d0b2292c4e09e8eb22d036171491e87b8d2086bf8b265874c8d182cb9c9020", "amount": "10", "fee": "1"}]},
              "required_info_message": "The bank reported an incorrect account number",
              "required_info_updates": {"receiver_account_number": {"type": "", "description": "The receiver's bank account number"}},
              "sender_id": "d2bd1412-e2f6-4047-ad70-a1a2f133b25c", "receiver_id": "137938d4-43a7-4252-a452-842adcee474c"},
    ),
    dict(
        name="polaris_sep24_withdrawal_pending_user_transfer_start",
        sender="django-polaris", url=POLARIS_URL,
        body=polaris(polaris_tx(
            id="5fa1d2c3-8b7e-4f6a-9d0c-1b2a3c4d5e6f", kind="withdrawal", status="pending_user_transfer_start",
            more_info_url="https://testanchor.stellar.org/sep24/transaction/more_info?id=5fa1",
            amount_in="25.00", amount_out="24.00", amount_fee="1.00",
            started_at="2025-12-02T10:02:03.123456Z", updated_at="2025-12-02T10:04:30.654321Z",
            message="Envoyez le paiement \u00e0 l'ancre",
            withdraw_anchor_account="GBANAGOAXH5ONSBI2I6I5LHP2TCRHWMZIAMGUQH2TNKQNCOGJ7GC3ZOL",
            withdraw_memo="c2VjcmV0", withdraw_memo_type="hash")),
        valid=True,
        want={"id": "5fa1d2c3-8b7e-4f6a-9d0c-1b2a3c4d5e6f", "kind": "withdrawal", "status": "pending_user_transfer_start",
              "more_info_url": "https://testanchor.stellar.org/sep24/transaction/more_info?id=5fa1",
              "amount_in": "25.00", "amount_out": "24.00", "amount_fee": "1.00",
              "started_at": "2025-12-02T10:02:03.123456Z", "updated_at": "2025-12-02T10:04:30.654321Z",
              "message": "Envoyez le paiement \u00e0 l'ancre",
              "withdraw_anchor_account": "GBANAGOAXH5ONSBI2I6I5LHP2TCRHWMZIAMGUQH2TNKQNCOGJ7GC3ZOL",
              "withdraw_memo": "c2VjcmV0", "withdraw_memo_type": "hash"},
    ),
    dict(
        name="polaris_sep6_deposit_zone_offset",
        sender="django-polaris", url=POLARIS_URL,
        body=polaris(polaris_tx(
            id="77", kind="deposit", status="pending_anchor", status_eta=600,
            amount_in="50.0000000", started_at="2025-12-02 11:00:00.5+01:00",
            updated_at="2025-12-02T10:03:00", to="GBITQ4YAFKD2372TNAMNHQ4JV5VS3BYKRK4QQR6FOLAR7XAHC3RVGVVJ",
            required_info_updates={"transaction": {"dest": {"description": "your bank account number"}}})),
        valid=True,
        want={"id": "77", "kind": "deposit", "status": "pending_anchor", "status_eta": 600,
              "amount_in": "50.0000000", "started_at": "2025-12-02T10:00:00.5Z",
              "updated_at": "2025-12-02T10:03:00Z",
              "to": "GBITQ4YAFKD2372TNAMNHQ4JV5VS3BYKRK4QQR6FOLAR7XAHC3RVGVVJ",
              "required_info_updates": {"dest": {"type": "", "description": "your bank account number"}}},
    ),
    # Invalid: each made from a valid one by one change.
    dict(name="ap_tampered_status", sender="anchor-platform", url=AP_URL,
         body=gson({"transaction": {"id": "t-1", "kind": "deposit", "status": "pending_anchor",
                                    "updated_at": "2025-12-02T10:05:00Z"}}),
         tamper=(b'"pending_anchor"', b'"completed"'), valid=False, reason="signature"),
    dict(name="polaris_signed_for_other_host", sender="django-polaris",
         url="https://attacker.example.net:8000/callbacks/tx",
         body=polaris(polaris_tx(id="t-2", kind="deposit", status="completed")),
         valid=False, reason="signature"),
    dict(name="polaris_stale_121s", sender="django-polaris", url=POLARIS_URL,
         body=polaris(polaris_tx(id="t-3", kind="deposit", status="completed")),
         now_offset=121, valid=False, reason="timestamp"),
    dict(name="ap_customer_body", sender="anchor-platform", url=AP_URL,
         body=gson({"id": "d1ce2f48-3ff1-495d-9240-7a50d806cfed", "status": "ACCEPTED"}),
         valid=False, reason="body"),
    dict(name="ap_transaction_without_id", sender="anchor-platform", url=AP_URL,
         body=gson({"transaction": {"kind": "deposit", "status": "completed"}}),
         valid=False, reason="body"),
    dict(name="ap_time_in_unknown_format", sender="anchor-platform", url=AP_URL,
         body=gson({"transaction": {"id": "t-4", "status": "completed", "updated_at": "02/12/2025 10:05"}}),
         valid=False, reason="body"),
]


def main():
    signs = []
    for c in CASES:
        seed = AP_SEED if c["sender"] == "anchor-platform" else POLARIS_SEED
        host = ap_host(c["url"]) if c["sender"] == "anchor-platform" else urlparse(c["url"]).netloc
        style = "anchor-platform" if c["sender"] == "anchor-platform" else "polaris"
        signs.append({"seed": seed, "host": host, "t": str(T), "style": style,
                      "body_b64": base64.b64encode(c["body"]).decode()})
    out = subprocess.run(["node", "testdata/interop/interop.mjs"], input=json.dumps({"sign": signs}).encode(),
                         capture_output=True, check=True).stdout
    signed = json.loads(out)["sign"]
    vectors = []
    for c, s in zip(CASES, signed):
        body = c["body"]
        if "tamper" in c:
            body = body.replace(*c["tamper"])
        configured = ap_host(AP_URL) if c["sender"] == "anchor-platform" else urlparse(POLARIS_URL).netloc
        v = {"name": c["name"], "sender": c["sender"], "signing_key": s["address"],
             "host": configured, "now": T + c.get("now_offset", 30),
             "headers": {"Signature": s["header"]}, "body": body.decode(), "valid": c["valid"]}
        if c["valid"]:
            v["want"] = c["want"]
        else:
            v["reason"] = c["reason"]
        vectors.append(v)
    about = ("SEP-6, SEP-24 and SEP-31 transaction callbacks as the Anchor Platform and django-polaris "
             "send them, signed with the Stellar JavaScript SDK; made by "
             "testdata/interop/transaction_vectors.py. want is the transaction as kyccb.Transaction "
             "encodes it: times in RFC 3339 UTC, empty fields left out.")
    with open("testdata/transactions.json", "w") as f:
        json.dump({"about": about, "vectors": vectors}, f, indent=2, ensure_ascii=False)
        f.write("\n")


main()
