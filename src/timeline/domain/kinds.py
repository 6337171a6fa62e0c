"""The taxonomy of assertion kinds, aligned with ACLED and CAMEO.

Each kind names its ACLED event type and sub-event type (or None where ACLED
has no such event, as for diplomacy) and its CAMEO code where one fits, so
exports line up with the datasets researchers already use.
"""

from __future__ import annotations

from typing import NamedTuple


class KindInfo(NamedTuple):
    acled_event_type: str | None
    acled_sub_event_type: str | None
    cameo: str | None
    label: str


KINDS: dict[str, KindInfo] = {
    # ACLED: Battles
    "armed_clash": KindInfo("Battles", "Armed clash", "190", "Armed clash"),
    "territory_change": KindInfo(
        "Battles", "Government regains territory", "193", "Change of territorial control"
    ),
    # ACLED: Explosions/Remote violence
    "shelling": KindInfo(
        "Explosions/Remote violence", "Shelling/artillery/missile attack", "194", "Shelling"
    ),
    "missile_strike": KindInfo(
        "Explosions/Remote violence", "Shelling/artillery/missile attack", "195", "Missile strike"
    ),
    "air_strike": KindInfo("Explosions/Remote violence", "Air/drone strike", "195", "Air strike"),
    "drone_strike": KindInfo(
        "Explosions/Remote violence", "Air/drone strike", "195", "Drone strike"
    ),
    # ACLED: Violence against civilians
    "attack_on_civilians": KindInfo("Violence against civilians", "Attack", "180", "Attack"),
    # ACLED: Strategic developments
    "ceasefire_violation": KindInfo(
        "Strategic developments", "Other", "196", "Ceasefire violation"
    ),
    "casualties": KindInfo(None, None, None, "Casualty figures"),
    "displacement": KindInfo("Strategic developments", "Other", "0233", "Displacement"),
    "damage": KindInfo(
        "Strategic developments", "Looting/property destruction", "1823", "Damage to property"
    ),
    # Diplomacy: ACLED records agreements under Strategic developments.
    "talks": KindInfo("Strategic developments", "Agreement", "046", "Talks"),
    "ceasefire": KindInfo("Strategic developments", "Agreement", "0871", "Ceasefire"),
    "agreement": KindInfo("Strategic developments", "Agreement", "057", "Agreement"),
    "statement": KindInfo(None, None, "010", "Statement"),
    "accusation": KindInfo(None, None, "112", "Accusation"),
    "demand": KindInfo(None, None, "100", "Demand"),
    "threat": KindInfo(None, None, "130", "Threat"),
}


def is_kind(kind: str) -> bool:
    """True when `kind` is in the taxonomy."""
    return kind in KINDS
