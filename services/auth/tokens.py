"""Random tokens handed to browsers and codes handed to people; only their hashes are stored."""
import hashlib
import secrets

# No look-alike characters (0/o, 1/l/i): these codes are typed over from an e-mail or a sheet of paper.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


def new_token() -> str:
    """256 bits from the OS CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token) -> str:
    if not isinstance(token, str):
        token = ""
    return hashlib.sha256(token.encode()).hexdigest()


def readable_code() -> str:
    """Four groups of four readable characters, about 79 bits: e.g. 'k7qm-t3xa-9pwd-hv2e'."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(4))
