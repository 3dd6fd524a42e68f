"""ISO 4217 and ISO 3166 code sets, and each currency's minor units."""

from __future__ import annotations

import pycountry

CURRENCIES: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies)
COUNTRIES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)

# ISO 4217 currencies whose minor unit is not 2 (pycountry does not carry minor units).
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
# Funds, metals and testing codes have no minor unit.
_NONE = "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX"
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
    **dict.fromkeys(_NONE.split(), 0),
}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)
