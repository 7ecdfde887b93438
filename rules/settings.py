"""Settings for the rules engine, routing, crisis mode and posting policy.

Rules themselves stay plain dicts here: rules/loader.py validates each against its type's model so an
error can name the file, the rule and the key (pydantic alone could not name the rule).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field, field_validator, model_validator

from listener.settings_base import StrictModel
from rules.crisis_settings import CrisisSettings, PostingSettings
from rules.recipients import Recipients

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
_QUIET_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class GroupSettings(Recipients):
    """A recipient group: who is told, where (rules/recipients.py), and when they may be woken up."""

    label: str = ""
    # Below this severity the group is not told at all.
    min_severity: Severity = "info"
    # "22:00-07:30" in the institution's time zone; empty: no quiet hours.
    quiet_hours: str = ""
    # From this severity up, quiet hours do not defer the message.
    quiet_min_severity: Severity = "critical"
    # Minutes between two messages about the same incident to this group (severity increases excepted);
    # none: rules.incidents.budget_minutes.
    budget_minutes: int | None = Field(default=None, ge=0)
    # Group whose channels get a copy when a delivery to this group keeps failing (see
    # [alerts.worker] fallback_after_minutes); empty: the daemon's console/journal.
    fallback: str = ""

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_format(cls, value: str) -> str:
        value = value.strip()
        if value and not _QUIET_RE.match(value):
            raise ValueError("quiet_hours must look like 22:00-07:30")
        return value


class IncidentSettings(StrictModel):
    """How alerts that belong together become one incident, and how often people hear about it."""

    # Alerts join an open incident that changed within this many minutes (same crisis kind, topic,
    # distinctive hashtag, key or shared evidence).
    join_minutes: int = Field(default=120, ge=1)
    # Default budget: at most one message per incident and recipient group per this many minutes,
    # severity increases excepted (held changes go out with the next message).
    budget_minutes: int = Field(default=10, ge=0)
    # An update is worth a message when the incident's main figure reached this many times the figure
    # last sent (3: 12 -> 36 -> 108 mentions), or on a new facet or a higher severity.
    growth_factor: float = Field(default=3.0, gt=1)
    # A hashtag present in at least this share of the institution's mentions of the previous day
    # (#rivebelle for Rivebelle) says nothing about which incident an alert belongs to.
    common_tag_share: float = Field(default=0.15, gt=0, le=1)


class RulesSettings(StrictModel):
    enabled: bool = True
    # Rules written inline in config.toml ([[rules.rules]]); validated by rules/loader.py.
    rules: list[dict] = Field(default_factory=list)
    # Folder of *.toml rule files (relative to the config file); empty: none.
    rules_dir: str = ""
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    # Groups a rule notifies when it names none.
    default_routes: list[str] = Field(default_factory=lambda: ["cellule"])
    # Alerts of the same group key raised within this many seconds go out as one message.
    group_wait_seconds: int = Field(default=60, ge=0)
    # Same for critical alerts (0: sent at the end of the evaluation pass that raised them).
    critical_group_wait_seconds: int = Field(default=0, ge=0)
    # Default minutes during which a rule does not repeat itself for the same key.
    realert_minutes: int = Field(default=30, ge=0)
    # Open alerts with no new evidence for this long are resolved (a later match opens a new one).
    resolve_after_minutes: int = Field(default=180, ge=1)
    # Group told when a critical alert is not acknowledged in time; empty: no escalation.
    escalation_group: str = ""
    # Minutes without acknowledgement before each escalation level (level n at n × this).
    escalation_minutes: int = Field(default=15, ge=1)
    # Highest escalation level.
    escalation_max_level: int = Field(default=2, ge=0)
    # An open critical alert holds back lower-severity alerts of the same group key (inhibition).
    inhibit_lower_severity: bool = True
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    crisis: CrisisSettings = Field(default_factory=CrisisSettings)
    posting: PostingSettings = Field(default_factory=PostingSettings)

    @model_validator(mode="after")
    def _fallbacks_exist(self) -> RulesSettings:
        for name, group in self.groups.items():
            if group.fallback and group.fallback not in self.groups:
                raise ValueError(f"groups.{name}.fallback : groupe inconnu « {group.fallback} »")
            if group.fallback == name:
                raise ValueError(f"groups.{name}.fallback : un groupe ne peut pas être son propre secours")
        return self

    def rules_path(self, config_path: Path | None) -> Path | None:
        if not self.rules_dir:
            return None
        path = Path(self.rules_dir)
        if not path.is_absolute() and config_path is not None:
            path = config_path.parent / path
        return path


class InstitutionView(Protocol):
    @property
    def timezone(self) -> str: ...


class SettingsView(Protocol):
    """What rules/ reads of the whole configuration: its own section, the institution's time zone and where
    the config file is (rule files are relative to it).

    listener.settings.Settings (composed a floor above, from every area's section) fits it; rules/ never
    imports it.
    """

    @property
    def rules(self) -> RulesSettings: ...

    @property
    def institution(self) -> InstitutionView: ...

    @property
    def config_path(self) -> Path | None: ...


# What rules/ functions accept: the whole configuration, or (tests, backtests) just the rules section.
RulesConfig = SettingsView | RulesSettings
