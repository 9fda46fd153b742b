"""Crisis-language screening: local, rule-based and explainable (no network, no model).

Rules live in YAML word packs that programme staff can read and extend
(``flows/crisis/packs/*.yaml``, documented in ``docs/crisis-packs.md``). Every
result names the rule and category that matched, so a flag can be explained.

    >>> screen_for_crisis("I don't want to live anymore").as_dict()
    {'crisis': True, 'category': 'suicidal_ideation', 'rule': 'en.si.not_want_to_live'}
"""

from flows.crisis.packs import CATEGORIES, Pack, PackError, load_pack
from flows.crisis.screener import (
    SHIPPED_LANGUAGES,
    Screener,
    ScreeningResult,
    screen_for_crisis,
    shipped_pack_path,
)

__all__ = [
    "CATEGORIES",
    "SHIPPED_LANGUAGES",
    "Pack",
    "PackError",
    "Screener",
    "ScreeningResult",
    "load_pack",
    "screen_for_crisis",
    "shipped_pack_path",
]
