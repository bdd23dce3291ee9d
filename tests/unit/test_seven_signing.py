"""seven.io webhook nonces: one per attempt, the same whichever process of a shared world makes it."""

from emulator.seven.signing import NonceSource


def test_each_attempt_has_its_own_nonce_and_every_process_draws_the_same():
    here, there = NonceSource(46), NonceSource(46)
    first, second = here.for_attempt("w1", 1), here.for_attempt("w1", 2)
    assert first != second and here.for_attempt("w2", 1) not in (first, second)
    assert there.for_attempt("w1", 2) == second and there.for_attempt("w1", 1) == first  # in any order
    assert len(first) == 32 and first.isalnum()
    assert NonceSource(47).for_attempt("w1", 1) != first
