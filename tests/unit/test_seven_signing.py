"""seven.io webhook nonces: one per attempt, the same whichever process of a shared world makes it;
and which requests carry a signature to check."""

from starlette.requests import Request

from emulator.seven.request_signing import carries_signature
from emulator.seven.signing import NonceSource


def test_each_attempt_has_its_own_nonce_and_every_process_draws_the_same():
    here, there = NonceSource(46), NonceSource(46)
    first, second = here.for_attempt("w1", 1), here.for_attempt("w1", 2)
    assert first != second and here.for_attempt("w2", 1) not in (first, second)
    assert there.for_attempt("w1", 2) == second and there.for_attempt("w1", 1) == first  # in any order
    assert len(first) == 32 and first.isalnum()
    assert NonceSource(47).for_attempt("w1", 1) != first


def test_a_request_carries_a_signature_when_any_of_its_headers_came():
    def request(*names: bytes) -> Request:
        return Request({"type": "http", "headers": [(b"x-api-key", b"k"), *((name, b"v") for name in names)]})

    assert not carries_signature(request())
    for name in (b"x-signature", b"x-timestamp", b"x-nonce"):
        assert carries_signature(request(name))
