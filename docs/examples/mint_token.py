"""Mint a roomcast client token (HS256 JWT) in a Python backend, standard
library only. Usage (prints one token):
    AUTH_SECRET=... python3 mint_token.py <user-id> [display name]
(With PyJWT: jwt.encode(claims, secret, algorithm="HS256") does the same.)
"""
import base64, hashlib, hmac, json, os, sys, time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(claims: dict, secret: str) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


if __name__ == "__main__":
    user = sys.argv[1] if len(sys.argv) > 1 else "ann"
    name = sys.argv[2] if len(sys.argv) > 2 else user
    secret = os.environ.get("AUTH_SECRET", "")
    if len(secret) < 16:
        sys.exit("Set AUTH_SECRET (at least 16 characters)")
    print(mint_token({
        "sub": user,  # the member id
        "name": name,  # shown to others in presence
        "rooms": ["lobby", f"user:{user}", "team-*"],  # may join (absent: every room)
        "exp": int(time.time()) + 15 * 60,  # short-lived
    }, secret))
