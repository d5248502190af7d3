"""How a bound is built from a derived part and a configured part, and said in words."""

from __future__ import annotations

import functools

from pydantic import BaseModel

from cwparity.results import Origin, Tolerance


def configured_origin(section: BaseModel, key: str) -> Origin:
    """``configured`` when the user's file set ``key``, else ``default``."""
    return Origin.CONFIGURED if key in section.model_fields_set else Origin.DEFAULT


def combined(
    derived: float,
    derived_why: str,
    slack: float,
    slack_origin: Origin,
    unit: str,
    slack_name: str = "slack",
) -> Tolerance:
    """A bound that is a derived part plus a chosen slack; the origin says which dominates."""
    origin = Origin.DERIVED if derived > 0 else slack_origin
    detail = f"derived {derived:g} ({derived_why}) + {slack_name} {slack:g} ({slack_origin.value})"
    return Tolerance(bound=derived + slack, unit=unit, origin=origin, detail=detail)


@functools.lru_cache(maxsize=65536)
def period_label(moment) -> str:
    """A period's start as it appears in check ids; cached: every route shares the grid."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
