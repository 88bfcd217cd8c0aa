"""Random tokens handed to browsers; only their hashes are stored."""
import hashlib
import secrets


def new_token() -> str:
    """256 bits from the OS CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token) -> str:
    if not isinstance(token, str):
        token = ""
    return hashlib.sha256(token.encode()).hexdigest()
