"""Rule types, one class each; RULE_TYPES maps the `type` written in a rule to its class."""

from __future__ import annotations

from rules.types.base import EvalContext, Match, RuleOptions, RuleType
from rules.types.crisis_reports import CrisisReportsRule
from rules.types.hostility import HostilityRule
from rules.types.influencer import InfluencerRule
from rules.types.keyword import KeywordRule
from rules.types.negative_share import NegativeShareRule
from rules.types.new_term import NewTermRule
from rules.types.silence import SilenceRule
from rules.types.spike import SpikeRule
from rules.types.threat import ThreatRule
from rules.types.volume import VolumeRule

RULE_TYPES: dict[str, type[RuleType]] = {
    cls.type_name: cls
    for cls in (
        SpikeRule,
        VolumeRule,
        NegativeShareRule,
        HostilityRule,
        ThreatRule,
        KeywordRule,
        InfluencerRule,
        NewTermRule,
        SilenceRule,
        CrisisReportsRule,
    )
}

__all__ = ["RULE_TYPES", "EvalContext", "Match", "RuleOptions", "RuleType"]
