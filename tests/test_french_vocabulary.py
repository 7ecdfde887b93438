"""One French vocabulary (listener/french.py): figures, percentages and states read the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from alerts.render import fr_num
from listener.french import (
    CRISIS_BANNER_FR,
    CRISIS_STATE_FR,
    POST_STATE_FR,
    fr_change,
    fr_number,
    fr_percent,
    local_time,
    validation_message,
)
from listener.settings_base import StrictModel


def test_figures_are_written_the_french_way():
    assert fr_number(1234567) == "1\u202f234\u202f567"
    assert fr_number(1234.56, 1) == "1\u202f234,6"
    assert fr_number(48.0, 1) == "48"  # a whole figure never shows ",0"
    assert fr_number(None) == "—"
    assert [fr_number(v, "auto") for v in (38, 1.25, 0.125, 150.4)] == ["38", "1,2", "0,12", "150"]
    assert fr_percent(0.423) == "42 %" and fr_percent(None) == "—"
    assert fr_change(0.5) == "+50 %" and fr_change(-0.2) == "-20 %" and fr_change(0) == "0 %"


def test_alerts_show_store_figures_with_the_same_formatter_and_clean_the_rest():
    assert fr_num(1234.5) == fr_number(1234.5, "auto") == "1\u202f234"
    assert fr_num("12\x00 abc") == "12 abc"  # not a figure: shown as cleaned text


def test_times_are_on_the_institution_clock():
    paris = ZoneInfo("Europe/Paris")
    assert local_time("2026-11-17T08:05:00Z", paris) == "09:05"
    assert local_time(datetime(2026, 7, 1, 6, 0, tzinfo=UTC), paris, "%d/%m %H:%M") == "01/07 08:00"
    assert local_time(None, paris) == "—" and local_time("pas une date", paris) == "—"


def test_state_tables_cover_every_state():
    from rules.crisis_settings import STATES

    assert set(CRISIS_STATE_FR) == set(CRISIS_BANNER_FR) == set(STATES)
    assert CRISIS_BANNER_FR["crise"] == "CRISE" and CRISIS_STATE_FR["retour"] == "retour à la normale"
    assert {"scheduled", "held", "published", "failed", "cancelled"} <= set(POST_STATE_FR)


def test_validation_errors_are_translated_once_for_config_and_rules():
    class Section(StrictModel):
        retention_days: int = 90

    try:
        Section.model_validate({"retention_days": "trente"})
    except ValidationError as exc:
        assert validation_message(exc.errors()[0]).startswith("type invalide : un entier est attendu (")
    try:
        Section.model_validate({"retention_jours": 30})
    except ValidationError as exc:
        assert validation_message(exc.errors()[0]).startswith("clé inconnue (")
    assert validation_message({"type": "jamais_vu", "msg": "x"}) == "valeur invalide (x)"
