"""Ed25519 signatures in the minisign file formats, so the stock `minisign` tool verifies ours.

Formats (as minisign documents them):
- public key: an untrusted comment line, then base64 of "Ed" + key id (8 bytes) + public key (32);
- secret key: an untrusted comment line, then base64 of "Ed" + kdf "\\0\\0" (not encrypted) +
  "B2" + salt (32) + opslimit (8) + memlimit (8) + key id (8) + secret key (64) + BLAKE2b-256
  checksum (32) of "Ed" + key id + secret key;
- signature: an untrusted comment line, base64 of "ED" + key id + Ed25519(BLAKE2b-512(file)),
  a "trusted comment:" line, and base64 of Ed25519(signature + trusted comment).

Only the prehashed "ED" variant is produced. The trusted comment is covered by the global
signature, which is why release name, version and date go there: a rollback is detectable.
The secret key is not encrypted: keep it on the connected side, in a secrets store.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from generator.errors import CatalogError

_PUBLIC_HEADER = b"Ed"
_SIGNATURE_HEADER = b"ED"
_UNENCRYPTED = b"\0\0"
_CHECKSUM_ALG = b"B2"


class SignatureError(CatalogError):
    """Raised by key and signature parsing and by verification: bad files, wrong key, forged data."""


@dataclass(frozen=True)
class PublicKey:
    """A minisign public key."""

    key_id: bytes
    key: Ed25519PublicKey

    @property
    def key_id_hex(self) -> str:
        """The key id as minisign prints it (upper-case hex, little-endian number)."""
        return self.key_id[::-1].hex().upper()


@dataclass(frozen=True)
class SecretKey:
    """A minisign secret key (unencrypted)."""

    key_id: bytes
    key: Ed25519PrivateKey


@dataclass(frozen=True)
class Signature:
    """A parsed detached signature file."""

    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes


def generate_keypair(prefix: Path) -> tuple[Path, Path]:
    """Write PREFIX.key (mode 0600) and PREFIX.pub; refuse to overwrite either."""
    secret_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if not secret_path.parent.is_dir():
        raise SignatureError(f"{secret_path.parent} is not a folder: create it first, or choose another --out")
    for path in (secret_path, public_path):
        if path.exists():
            raise SignatureError(f"{path} already exists: refusing to overwrite a key (choose another --out)")
    key = Ed25519PrivateKey.generate()
    key_id = secrets.token_bytes(8)
    raw_secret = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw_public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    keynum = key_id + raw_secret + raw_public  # minisign keeps seed + public key as the 64-byte secret
    checksum = hashlib.blake2b(_PUBLIC_HEADER + keynum, digest_size=32).digest()
    blob = _PUBLIC_HEADER + _UNENCRYPTED + _CHECKSUM_ALG + bytes(32) + bytes(8) + bytes(8) + keynum + checksum
    key_id_hex = key_id[::-1].hex().upper()
    secret_text = f"untrusted comment: mcp-catalog secret key {key_id_hex}\n{base64.b64encode(blob).decode()}\n"
    descriptor = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret_text)
    public_blob = _PUBLIC_HEADER + key_id + raw_public
    public_path.write_text(
        f"untrusted comment: minisign public key {key_id_hex}\n{base64.b64encode(public_blob).decode()}\n"
    )
    return secret_path, public_path


def read_public_key(path: Path) -> PublicKey:
    """Parse a minisign public key file."""
    blob = _second_line_base64(path, "public key")
    if len(blob) != 42 or blob[:2] != _PUBLIC_HEADER:
        raise SignatureError(f"{path}: not a minisign Ed25519 public key")
    return PublicKey(blob[2:10], Ed25519PublicKey.from_public_bytes(blob[10:42]))


def read_secret_key(path: Path) -> SecretKey:
    """Parse an unencrypted minisign secret key file and check its checksum."""
    blob = _second_line_base64(path, "secret key")
    if len(blob) != 158 or blob[:2] != _PUBLIC_HEADER or blob[4:6] != _CHECKSUM_ALG:
        raise SignatureError(f"{path}: not a minisign Ed25519 secret key")
    if blob[2:4] != _UNENCRYPTED:
        raise SignatureError(f"{path}: the key is password-protected; create one with `mcp-catalog keygen`")
    keynum, checksum = blob[54:126], blob[126:158]
    # minisign itself (0.11, `minisign -G -W`) leaves an unencrypted key's checksum zero: the key
    # pair's own consistency is checked below whatever the checksum says.
    if checksum != bytes(32) and hashlib.blake2b(_PUBLIC_HEADER + keynum, digest_size=32).digest() != checksum:
        raise SignatureError(f"{path}: checksum mismatch: the key file is damaged")
    key = Ed25519PrivateKey.from_private_bytes(keynum[8:40])
    if key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) != keynum[40:72]:
        raise SignatureError(f"{path}: its secret and public halves do not belong together: the key file is damaged")
    return SecretKey(keynum[:8], key)


def sign(data: bytes, key: SecretKey, trusted_comment: str, untrusted_comment: str = "signature from mcp-catalog") -> str:
    """A detached signature file's text for `data`."""
    return sign_prehashed(prehash(data), key, trusted_comment, untrusted_comment)


def sign_prehashed(digest: hashlib._Hash, key: SecretKey, trusted_comment: str,
                   untrusted_comment: str = "signature from mcp-catalog") -> str:
    """`sign` for data hashed with `prehash` as it was written: a file of any size is signed without holding it."""
    if "\n" in trusted_comment or "\n" in untrusted_comment:
        raise SignatureError("signature comments must be one line")
    signature = key.key.sign(digest.digest())
    global_signature = key.key.sign(signature + trusted_comment.encode())
    return (
        f"untrusted comment: {untrusted_comment}\n"
        f"{base64.b64encode(_SIGNATURE_HEADER + key.key_id + signature).decode()}\n"
        f"trusted comment: {trusted_comment}\n"
        f"{base64.b64encode(global_signature).decode()}\n"
    )


def parse_signature(text: str, where: str) -> Signature:
    """Parse a detached signature file's text."""
    lines = text.splitlines()
    if len(lines) < 4 or not lines[2].startswith("trusted comment: "):
        raise SignatureError(f"{where}: not a minisign signature file")
    try:
        blob = base64.b64decode(lines[1], validate=True)
        global_signature = base64.b64decode(lines[3], validate=True)
    except ValueError:
        raise SignatureError(f"{where}: signature is not valid base64") from None
    if len(blob) != 74 or blob[:2] != _SIGNATURE_HEADER or len(global_signature) != 64:
        raise SignatureError(f"{where}: unsupported signature (only prehashed Ed25519 'ED' signatures)")
    return Signature(blob[2:10], blob[10:74], lines[2][len("trusted comment: ") :], global_signature)


def verify(data: bytes, signature: Signature, key: PublicKey, where: str) -> str:
    """Check `signature` over `data` with `key`; return the verified trusted comment."""
    return verify_prehashed(prehash(data), signature, key, where)


def prehash(data: bytes = b"") -> hashlib._Hash:
    """The BLAKE2b-512 an "ED" signature signs: update it chunk by chunk to check a file of any size
    without holding it (`verify_prehashed`)."""
    return hashlib.blake2b(data, digest_size=64)


def verify_prehashed(digest: hashlib._Hash, signature: Signature, key: PublicKey, where: str) -> str:
    """`verify` for data already hashed with `prehash`."""
    if signature.key_id != key.key_id:
        raise SignatureError(
            f"{where}: signed by key {signature.key_id[::-1].hex().upper()}, not by the given key {key.key_id_hex}"
        )
    try:
        key.key.verify(signature.signature, digest.digest())
        key.key.verify(signature.global_signature, signature.signature + signature.trusted_comment.encode())
    except InvalidSignature:
        raise SignatureError(f"{where}: signature does not match: the file or its trusted comment was changed") from None
    return signature.trusted_comment


def _second_line_base64(path: Path, what: str) -> bytes:
    try:
        lines = path.read_text().splitlines()
        return base64.b64decode(lines[1], validate=True)
    except (OSError, IndexError, ValueError, UnicodeDecodeError):
        raise SignatureError(f"{path}: cannot read a minisign {what} from it") from None
