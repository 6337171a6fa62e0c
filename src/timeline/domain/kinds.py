"""The taxonomy of assertion kinds, aligned with ACLED and CAMEO.

Each kind names its ACLED event type and sub-event type (or None where ACLED
has no such event, as for diplomacy) and its CAMEO code where one fits, so
exports line up with the datasets researchers already use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple


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
    # Every other ACLED sub-event type, so a dataset's rows have a kind (transfer/acled.py).
    "territory_taken": KindInfo(
        "Battles",
        "Non-state actor overtakes territory",
        "193",
        "Territory taken by a non-state actor",
    ),
    "chemical_weapon": KindInfo(
        "Explosions/Remote violence", "Chemical weapon", "2041", "Chemical weapon"
    ),
    "suicide_bomb": KindInfo("Explosions/Remote violence", "Suicide bomb", "1831", "Suicide bomb"),
    "remote_explosive": KindInfo(
        "Explosions/Remote violence", "Remote explosive/landmine/IED", "183", "Explosive device"
    ),
    "grenade": KindInfo("Explosions/Remote violence", "Grenade", "183", "Grenade"),
    "sexual_violence": KindInfo(
        "Violence against civilians", "Sexual violence", "1821", "Sexual violence"
    ),
    "abduction": KindInfo(
        "Violence against civilians", "Abduction/forced disappearance", "181", "Abduction"
    ),
    "peaceful_protest": KindInfo("Protests", "Peaceful protest", "141", "Peaceful protest"),
    "protest_with_intervention": KindInfo(
        "Protests", "Protest with intervention", "141", "Protest with intervention"
    ),
    "excessive_force_against_protesters": KindInfo(
        "Protests", "Excessive force against protesters", "175", "Excessive force on protesters"
    ),
    "violent_demonstration": KindInfo("Riots", "Violent demonstration", "145", "Riot"),
    "mob_violence": KindInfo("Riots", "Mob violence", "145", "Mob violence"),
    "arrests": KindInfo("Strategic developments", "Arrests", "173", "Arrests"),
    "group_change": KindInfo(
        "Strategic developments", "Change to group/activity", None, "Change to a group's activity"
    ),
    "weapons_disrupted": KindInfo(
        "Strategic developments", "Disrupted weapons use", None, "Weapons use disrupted"
    ),
    "base_established": KindInfo(
        "Strategic developments", "Headquarters or base established", None, "Base established"
    ),
    "territory_transferred": KindInfo(
        "Strategic developments", "Non-violent transfer of territory", None, "Territory handed over"
    ),
    "strategic_development": KindInfo(
        "Strategic developments", "Other", None, "Strategic development"
    ),
}


# The kinds as a type, for the API's bodies and its OpenAPI document: made from
# KINDS, so a kind added there is accepted and documented with nothing else to
# change; in this table's order, which is the order the API lists them in. (Type
# checkers see a plain str: the domain checks kinds itself.)
if TYPE_CHECKING:
    Kind = str
else:
    Kind = Literal[tuple(KINDS)]
