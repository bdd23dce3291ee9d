"""The registry: the providers this emulator serves, in the order they are listed everywhere
(mounts, fixture sections, control API choices). The only place that names them; a third
provider is one more package with a `provider.py` and one more entry here."""

from __future__ import annotations

from .core.provider import Provider
from .elks.provider import PROVIDER as ELKS
from .seven.provider import PROVIDER as SEVEN

__all__ = ["PROVIDERS", "NAMES", "by_name"]

PROVIDERS: tuple[Provider, ...] = (ELKS, SEVEN)
NAMES: tuple[str, ...] = tuple(provider.name for provider in PROVIDERS)
_BY_NAME: dict[str, Provider] = {provider.name: provider for provider in PROVIDERS}


def by_name(name: str) -> Provider:
    """The provider called `name` (one of NAMES; KeyError for any other)."""
    return _BY_NAME[name]
