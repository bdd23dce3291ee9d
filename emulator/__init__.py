"""telco-emulator: a local, stateful emulator of the 46elks and seven.io telephony APIs."""

__version__ = "0.1.0"
__all__ = ["__version__"]
