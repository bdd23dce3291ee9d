"""The local certificate authority of the transparent HTTPS proxy: created with `trustme` at first
start, kept in a state directory and reused on later starts, so a client needs to trust the
emulator's CA bundle only once.

The directory holds `ca-private.pem` (the CA's private key and certificate, readable only by its
owner) and `ca.pem` (the CA certificate alone: the bundle clients are pointed at). Server
certificates for the providers' hosts are issued in memory at every start.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Iterable

import trustme

from ..core.clock import wall_time

__all__ = ["CertificateAuthority", "CAError", "default_ca_dir", "load_or_create_ca"]

PRIVATE_FILE = "ca-private.pem"
BUNDLE_FILE = "ca.pem"

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\r?\n?", re.DOTALL)


class CAError(Exception):
    """The CA directory cannot be read or written, or holds something that is not our CA."""


@dataclass(frozen=True)
class CertificateAuthority:
    ca: trustme.CA
    bundle_path: Path

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a certificate for `host`, issued by this CA."""
        # Certificate validity is about the real world's time, not the emulator's clock. A short
        # validity keeps clients that cap the lifetime of server certificates happy; a fresh one
        # is issued at every start.
        now = wall_time()
        leaf = self.ca.issue_cert(host, not_before=now - timedelta(days=1), not_after=now + timedelta(days=365))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def server_contexts(self, hosts: Iterable[str]) -> dict[str, ssl.SSLContext]:
        return {host: self.server_context(host) for host in hosts}


def default_ca_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "telco-emulator" / "ca"


def load_or_create_ca(directory: str | os.PathLike[str] | None = None) -> CertificateAuthority:
    """The CA kept in `directory` (default: `default_ca_dir()`), created there if it is absent."""
    folder = Path(directory).expanduser() if directory else default_ca_dir()
    private_path = folder / PRIVATE_FILE
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not private_path.exists():
            _create(private_path)
        ca = _load(private_path)
        bundle_path = folder / BUNDLE_FILE
        _write_if_changed(bundle_path, ca.cert_pem.bytes())
    except OSError as exc:
        raise CAError(f"cannot use the proxy CA directory {folder}: {exc.strerror or exc}") from None
    return CertificateAuthority(ca, bundle_path)


def _create(private_path: Path) -> None:
    ca = trustme.CA(organization_name="telco-emulator", organization_unit_name="local CA of the HTTPS proxy")
    content = ca.private_key_pem.bytes() + ca.cert_pem.bytes()
    handle, temporary = tempfile.mkstemp(dir=private_path.parent, prefix=".ca-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o600)
        # A hard link never replaces an existing file: of two emulators starting at once with
        # the same directory, one creates the CA and the other loads it.
        try:
            os.link(temporary, private_path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)


def _load(private_path: Path) -> trustme.CA:
    blocks = {match.group(1): match.group(0) for match in _PEM_BLOCK.finditer(private_path.read_bytes())}
    certificate = blocks.get(b"CERTIFICATE")
    key = next((block for label, block in blocks.items() if label.endswith(b"PRIVATE KEY")), None)
    if certificate is None or key is None:
        raise CAError(f"{private_path} does not hold a CA certificate and its private key; remove it to create a new CA")
    try:
        return trustme.CA.from_pem(certificate, key)
    except (ValueError, TypeError) as exc:
        raise CAError(f"{private_path} holds an unreadable CA ({exc}); remove it to create a new CA") from None


def _write_if_changed(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".bundle-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
