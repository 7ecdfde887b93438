"""Settings for the spike, new-term, negative-shift, silence and trending detectors.

Defaults are chosen from first principles (false-alarm rates, minimum volumes), not tuned on labels:
the same defaults drive the daemon and `vigie spikes`.
"""

from __future__ import annotations

from pydantic import Field

from listener.settings_base import StrictModel


class SpikeSettings(StrictModel):
    """Volume spikes on counter keys: seasonal baseline + negative-binomial upper tail."""

    # Sums over these windows (minutes) are tested; short ones catch floods, longer ones slow surges.
    windows_minutes: list[int] = Field(default_factory=lambda: [5, 15], min_length=1)
    # -log10(p) needed to open an episode (p <= 1e-7). Real mention counts are heavier-tailed than the
    # negative binomial, so nominal p-values are optimistic: on NAB tweet volumes every threshold from
    # 6.5 to 12 scores within 4 points (classifiers/detection/spikes.py); above 7 minute-bucket surges of a few
    # mentions a minute are caught minutes later, so 7 is the low, fast end of that plateau.
    score_threshold: float = Field(default=7.0, gt=0)
    # -log10(p) from which an episode is at least a warning, then critical.
    warning_score: float = Field(default=9.0, gt=0)
    critical_score: float = Field(default=15.0, gt=0)
    # Observed/expected ratio needed for critical (a big but ordinary wave stays a warning).
    critical_ratio: float = Field(default=3.0, ge=1)
    # Minimum observed count in the window: 3 → 9 mentions is noise, not a signal.
    min_count: int = Field(default=10, ge=1)
    # Minimum observed/expected ratio in the window.
    min_ratio: float = Field(default=1.5, ge=1)
    # No spike is reported while a key has less history than this (minutes).
    warmup_minutes: int = Field(default=180, ge=0)
    # Half-life of the recent-level average (cold start and drift), minutes.
    level_half_life_minutes: float = Field(default=120.0, gt=0)
    # Half-life of the "busier than usual today" correction of the seasonal profile, minutes.
    ratio_half_life_minutes: float = Field(default=1440.0, gt=0)
    # Memory of the hour-of-week profile, in weeks.
    season_weeks: float = Field(default=4.0, gt=0)
    # Half-life of the per-series overdispersion estimate, minutes.
    dispersion_half_life_minutes: float = Field(default=10080.0, gt=0)
    # Overdispersion assumed before a series has taught its own (variance = mu + phi * mu^2).
    prior_dispersion: float = Field(default=0.05, ge=0)
    # Counts above expected + this many standard deviations are clipped before updating baselines.
    clip_sigmas: float = Field(default=3.0, gt=0)
    # Per-series calibration: a burst alerts only if fewer than `calibration_events` earlier bursts of
    # the key were at least as strong (history weighted with a half-life in days; 0 = off). Real
    # mention series have heavier tails than any count model; this bounds alerts per key per week.
    calibration_days: float = Field(default=7.0, ge=0)
    calibration_events: float = Field(default=2.0, gt=0)
    # Rarity as a return period instead (0 = use calibration_events): a burst alerts only if bursts at
    # least as strong came less often than once per this many days in the key's (decayed) history.
    calibration_return_days: float = Field(default=0.0, ge=0)
    # Score under which an episode is quiet; quiet this long (minutes) ends it.
    end_score: float = Field(default=2.0, ge=0)
    end_quiet_minutes: int = Field(default=30, ge=1)
    # Baselines do not learn from an open episode; after this long (minutes) it ends anyway and the
    # counter learns its new level.
    max_episode_minutes: int = Field(default=720, ge=1)
    # An ongoing episode is re-signalled when its severity rises, or at most this often (minutes).
    update_every_minutes: int = Field(default=60, ge=1)
    # No new episode on the same key this long after one ended (minutes).
    cooldown_minutes: int = Field(default=60, ge=0)
    # No new episode on the same key this long after the previous one started, stronger or not (0 = off).
    refractory_minutes: int = Field(default=0, ge=0)


class NewTermSettings(StrictModel):
    """A hashtag or phrase never or rarely seen before that suddenly gathers mentions."""

    # Sliding window (minutes) in which mentions and authors are counted.
    window_minutes: int = Field(default=60, ge=1)
    # Mentions needed in the window.
    min_mentions: int = Field(default=8, ge=1)
    # Distinct authors needed in the window (one account repeating itself is not news).
    min_authors: int = Field(default=4, ge=1)
    # At most this many mentions before the window for the term to count as new.
    max_prior_mentions: int = Field(default=2, ge=0)
    # Minutes of history needed before anything can be called new.
    warmup_minutes: int = Field(default=360, ge=0)
    # Days of history read from the store when the daemon starts.
    history_days: int = Field(default=14, ge=0)
    # Also follow two-word phrases (not only hashtags). A phrase must contain a word that is itself new,
    # needs twice the mentions and authors of a hashtag, and at most `max_phrases` open per window
    # (a crisis brings dozens of new phrases: the first ones tell the story, the rest is noise).
    phrases: bool = True
    # Two-word phrases open at most at once per window (see `phrases`).
    max_phrases: int = Field(default=2, ge=0)


class ShiftSettings(StrictModel):
    """Share of negative or hostile mentions well above its baseline (binomial test)."""

    # Window (minutes) over which the share is measured.
    window_minutes: int = Field(default=60, ge=1)
    # Mentions needed in the window before the share means anything.
    min_volume: int = Field(default=30, ge=1)
    # Negative share must exceed its baseline by at least this (absolute, 0–1).
    min_delta: float = Field(default=0.15, ge=0, le=1)
    # Hostile share must exceed its baseline by at least this (hostility is rarer than negativity).
    min_delta_hostile: float = Field(default=0.07, ge=0, le=1)
    # -log10(p) of the binomial test needed.
    score_threshold: float = Field(default=5.0, gt=0)
    # Half-life of the baseline share, minutes.
    baseline_half_life_minutes: float = Field(default=10080.0, gt=0)
    # Baseline share before a topic has history, and its weight in mentions.
    prior_share: float = Field(default=0.3, ge=0, le=1)
    # Same for the hostile share.
    prior_hostile_share: float = Field(default=0.03, ge=0, le=1)
    # Weight of those prior shares, in mentions.
    prior_volume: float = Field(default=200.0, ge=0)


class SilenceSettings(StrictModel):
    """A source, or a usually busy key, going quiet."""

    # -log10 P(no mention at all over the silent period) needed.
    score_threshold: float = Field(default=6.0, gt=0)
    # Silent for at least this long (minutes).
    min_silent_minutes: int = Field(default=15, ge=1)
    # Keys watched besides every source:* key (e.g. "all").
    keys: list[str] = Field(default_factory=lambda: ["all"])


class TrendingSettings(StrictModel):
    """Significant terms of the last day against the background (log-likelihood ratio)."""

    # Mentions of a term needed in the recent period.
    min_volume: int = Field(default=5, ge=1)
    # Log-likelihood ratio (G²) needed: 10.83 is p < 0.001 for one degree of freedom.
    min_llr: float = Field(default=10.83, ge=0)
    # At most this many groups returned.
    max_groups: int = Field(default=10, ge=1)
    # Background mentions read at most (the most recent ones).
    max_background_mentions: int = Field(default=100_000, ge=1000)


class DetectorSettings(StrictModel):
    # How often the detection and rules pass runs (seconds of the daemon's clock).
    interval_seconds: int = Field(default=60, ge=60)
    # Run the detectors in the daemon at all.
    enabled: bool = True
    spikes: SpikeSettings = Field(default_factory=SpikeSettings)
    new_terms: NewTermSettings = Field(default_factory=NewTermSettings)
    negative_shift: ShiftSettings = Field(default_factory=ShiftSettings)
    silence: SilenceSettings = Field(default_factory=SilenceSettings)
    trending: TrendingSettings = Field(default_factory=TrendingSettings)
