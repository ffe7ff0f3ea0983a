#!/usr/bin/env python3
"""What an identity platform does with ChemTrace Registry, end to end. See docs/integration.md.

    pip install cwt pyjwt cryptography cbor2
    python docs/examples/integration.py --url URL --label LABEL_URL [--token JWT]

1. Fetch the registry's JWKS (cache it; refetch when a token names an unknown kid).
2. Offline: verify the label's signed token with the JWKS alone (COSE_Sign1, Ed25519),
   with python-cwt, an independent COSE library, not the registry's code.
3. Online: POST /api/v1/verify for the live status; check `signed_result` (a JWS) with
   the same JWKS.
4. On behalf of a person: call the API with the platform's own OIDC token as the Bearer.

It imports nothing from the registry. Exit status 0 when every step held.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.request

import cbor2
import jwt
from cwt import COSE, COSEKey

OKP, ED25519, EDDSA = 1, 6, -8
CONTAINER_CLAIM = -65537
# The JOSE "typ" of signed_result: application/vnd.chemtrace.verification+jwt.
SIGNED_RESULT_TYPE = "vnd.chemtrace.verification+jwt"


def http(method: str, url: str, body: dict | None = None, token: str | None = None):
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def offline(label_url: str, jwks: dict) -> dict:
    """The claims of the label's token, verified with the JWKS only (no network)."""
    token = label_url.rsplit("/v/", 1)[-1]
    message = base64.b32decode(token + "=" * (-len(token) % 8))
    protected = cbor2.loads(cbor2.loads(message).value[0])
    kid = protected[4]
    jwk = next(k for k in jwks["keys"] if b64url(k["kid"]) == kid)
    key = COSEKey.new({1: OKP, -1: ED25519, -2: b64url(jwk["x"]), 2: kid, 3: EDDSA})
    claims = cbor2.loads(COSE.new().decode(message, key))
    if jwk["status"] == "compromised":
        # Its labels cannot be told from forgeries offline; only the registry can tell.
        raise SystemExit(f"key compromised since {jwk['compromised_since']}: verify online")
    return {
        "issuer": claims[1],
        "batch": claims[2],
        "issued_at": claims[6],
        "container": claims.get(CONTAINER_CLAIM),
        "key_status": jwk["status"],
    }


def online(base: str, label_url: str, jwks: dict) -> dict:
    status, answer = http("POST", f"{base}/api/v1/verify", {"token": label_url})
    if status != 200:
        raise SystemExit(f"verify answered {status}: {answer}")
    signed = answer["signed_result"]
    header = jwt.get_unverified_header(signed)
    # Explicitly typed (RFC 8725 3.11): a verification record, not just any JWT.
    if header.get("typ", "").lower() != SIGNED_RESULT_TYPE:
        raise SystemExit(f"signed_result is typed {header.get('typ')!r}, not {SIGNED_RESULT_TYPE}")
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(signed, jwt.PyJWK(jwk).key, algorithms=["EdDSA"])
    if claims != {k: v for k, v in answer.items() if k != "signed_result"}:
        raise SystemExit("signed_result does not match the answer")
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the registry's base URL")
    parser.add_argument("--label", required=True, help="a label's URL (what its QR code holds)")
    parser.add_argument("--token", help="an OIDC token from a trusted identity platform")
    args = parser.parse_args(argv)
    base = args.url.rstrip("/")

    status, jwks = http("GET", f"{base}/.well-known/jwks.json")
    print(f"1. JWKS: {len(jwks['keys'])} keys ({', '.join(k['status'] for k in jwks['keys'])})")

    claims = offline(args.label, jwks)
    print(
        f"2. offline: genuine label of batch {claims['batch']} issued by {claims['issuer']} "
        f"at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(claims['issued_at']))}, "
        f"signed by a {claims['key_status']} key"
    )

    answer = online(base, args.label, jwks)
    batch = answer["batch"] or {}
    holder = batch.get("holder") or {}
    print(
        f"3. online: verified={answer['verified']} status={batch.get('status')} "
        f"substance={batch.get('substance_name')} holder={holder.get('name')} "
        f"({holder.get('enterprise_code')}); signed_result checked with the JWKS"
    )

    if args.token:
        status, page = http("GET", f"{base}/api/v1/events?limit=5", token=args.token)
        if status != 200:
            print(f"4. on behalf of the person: refused {status} {page.get('code')}")
            return 1
        print(f"4. on behalf of the person: {len(page['items'])} events visible to them")
    return 0 if answer["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
