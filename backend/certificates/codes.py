"""Verification codes printed on service certificates.

A code is 80 random bits (``secrets``) written as 16 symbols of Crockford's base32 after a
``LL`` prefix, in groups of four: ``LL-7K3M-Q9TX-4HWD-2PZA``. The alphabet has no I, L, O or
U, so nothing on paper reads as two different symbols; people who type a code anyway get
Crockford's forgiving reading (case and dashes or spaces do not matter, O is read as 0, I
and L as 1). Eighty bits cannot be guessed, and the public check is rate-limited on top.

Codes are stored in the canonical form above (``normalize`` gives it), unique in the table.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "LL"
SYMBOLS = 16  # 16 × 5 bits = 80 bits
GROUP = 4
# What a reader may type for a symbol that is not in the alphabet (Crockford's decoding).
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", "- \t")


class MalformedCode(ValueError):
    """Not a verification code at all (wrong length or symbols)."""


def _canonical(symbols: str) -> str:
    groups = [symbols[i : i + GROUP] for i in range(0, SYMBOLS, GROUP)]
    return "-".join([PREFIX, *groups])


def new_code() -> str:
    """A fresh random code in canonical form."""
    return _canonical("".join(secrets.choice(ALPHABET) for _ in range(SYMBOLS)))


def normalize(typed: str) -> str:
    """The canonical form of a code as someone typed or scanned it; ``MalformedCode`` if
    it cannot be one. The ``LL`` prefix may be left out."""
    compact = (typed or "").strip().upper().translate(_SEPARATORS)
    if len(compact) == len(PREFIX) + SYMBOLS and compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    symbols = compact.translate(_ALIASES)
    if len(symbols) != SYMBOLS or any(symbol not in ALPHABET for symbol in symbols):
        raise MalformedCode(typed)
    return _canonical(symbols)


def deep_link(code: str) -> str:
    """What the certificate's QR code holds: the app opens it on the check screen, and any
    other scanner shows the code itself (it is the last part)."""
    return f"linli://certificate/{code}"
