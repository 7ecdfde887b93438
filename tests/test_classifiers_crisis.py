"""Crisis labels on the ways real French text says something that is *not* a crisis happening now:
past events, generic statements, figures of speech, stems that collide, one word family counted twice.
Each case has its twin that must still fire, so a rule that silenced everything would fail here."""

from __future__ import annotations

import pytest

from classifiers.crisis import CrisisDetector
from classifiers.lexicon import View
from classifiers.text import prepare


@pytest.fixture(scope="module")
def crisis() -> CrisisDetector:
    return CrisisDetector.load(this_year=2026)


def kinds(detector: CrisisDetector, text: str) -> list[str]:
    return [label.name for label in detector.detect(View(prepare(text)))]


@pytest.mark.parametrize(
    ("quiet", "fires", "kind"),
    [
        # A past year names a past event; a comparison with one does not.
        ("La canicule de 2003 avait fait des milliers de morts", "Canicule comme en 2003 : la ville ouvre "
         "ses salles rafraîchies", "canicule"),
        ("Les inondations de 1910 restent dans toutes les mémoires",
         "Pire crue depuis 1910 : la rivière est sortie de son lit", "inondation"),
        ("En 2015, les attentats avaient frappé la capitale", "Attentat en cours près de la gare", "attentat"),
        # Commemorations and anniversaries.
        ("Hommage aux pompiers morts dans l'incendie de l'entrepôt", "Incendie de l'entrepôt : les pompiers "
         "sur place", "incendie"),
        ("Un an après l'explosion, la rue se reconstruit", "Une explosion vient de souffler la rue",
         "explosion"),
    ],
)
def test_past_events_and_commemorations_are_not_crises(crisis, quiet, fires, kind):
    assert kinds(crisis, quiet) == []
    assert kind in kinds(crisis, fires)


def test_a_year_is_past_only_before_this_year():
    this_year = CrisisDetector.load(this_year=2026)
    assert kinds(this_year, "La tempête de 2026 a arraché les toits du centre") == ["tempete"]
    assert kinds(CrisisDetector.load(this_year=2027), "La tempête de 2026 a arraché les toits du centre") == []


@pytest.mark.parametrize(
    ("quiet", "fires", "kind"),
    [
        ("De plus en plus d'incendies de forêt chaque été", "Incendie de forêt au nord de la commune",
         "incendie"),
        ("La lutte contre les inondations passe par les bassins de rétention",
         "Les caves du quartier sont inondées", "inondation"),
    ],
)
def test_generic_statements_are_not_reports(crisis, quiet, fires, kind):
    assert kinds(crisis, quiet) == []
    assert kind in kinds(crisis, fires)


@pytest.mark.parametrize(
    ("quiet", "fires", "kind"),
    [
        # A trend or a projection is not a report; a forecast for tonight is an alert.
        ("Avec le réchauffement, les inondations seront plus fréquentes à l'avenir",
         "Inondations : l'eau monte encore rue du Port", "inondation"),
        ("Les canicules vont se multiplier d'ici 2050 selon le GIEC",
         "Canicule : la mairie ouvre des salles rafraîchies", "canicule"),
        ("Les tempêtes de grêle resteront toujours présentes dans la région",
         "Tempête cette nuit : les rafales seront violentes, restez chez vous", "tempete"),
        # A trend word far from the phrase, in another clause, does not silence a report.
        ("Les incendies de forêt seront plus nombreux cet été",
         "Incendie en cours rue Carnot, les pompiers sont de plus en plus nombreux sur place", "incendie"),
    ],
)
def test_trends_and_projections_are_not_reports(crisis, quiet, fires, kind):
    assert kinds(crisis, quiet) == []
    assert kind in kinds(crisis, fires)


@pytest.mark.parametrize(
    ("quiet", "fires", "kind"),
    [
        # A debate about terrorism names no attack; an attack the same words anchor in time still fires.
        ("L'islam n'est pas le terrorisme, mais tous les terroristes se disent croyants : attentats, islam…",
         "Attentat ce matin devant la gare : le terrorisme frappe encore", "attentat"),
        ("Ces attaques terroristes sont rarement qualifiées de terrorisme par les médias",
         "Attaques terroristes : le bilan s'alourdit, la lutte contre le terrorisme mobilisée", "attentat"),
        # A list of offences is a subject; one offence beside a report does not silence it.
        ("Harcèlement, piratage informatique, vandalisme : ce que la police traite chaque année",
         "Piratage informatique de la mairie : une arnaque aux faux virements, services en ligne coupés",
         "cyberattaque"),
    ],
)
def test_subjects_are_not_events(crisis, quiet, fires, kind):
    assert kinds(crisis, quiet) == []
    assert kind in kinds(crisis, fires)


def test_a_subject_word_does_not_silence_other_kinds(crisis):
    """The terrorism debate cue only concerns attacks and shootings: a fire beside it still counts."""
    assert kinds(crisis, "Incendie de l'entrepôt : la piste du terrorisme écartée") == ["incendie"]


@pytest.mark.parametrize(
    ("quiet", "fires", "kind"),
    [
        ("Après la course j'ai les jambes en feu", "L'entrepôt est en feu", "incendie"),
        ("Le tuyau d'évacuation de l'évier est bouché", "Évacuation de l'école en cours", "evacuation"),
        ("Alerte orange sur le prix des fournitures scolaires", "Alerte orange aux orages ce soir",
         "alerte_meteo"),
        ("Le bilan gaz à effet de serre des entreprises", "Forte odeur de gaz rue Pasteur", "fuite_gaz"),
    ],
)
def test_figures_of_speech_and_technical_words_are_not_crises(crisis, quiet, fires, kind):
    assert kinds(crisis, quiet) == []
    assert kind in kinds(crisis, fires)


def test_aftermath_words_inside_a_figure_of_speech_do_not_count(crisis):
    assert kinds(crisis, "Complètement ravagé mentalement ce mort de fatigue") == []
    assert kinds(crisis, "Un mort et un immeuble ravagé") == ["accident_grave"]


def test_stems_that_collide_with_other_words_match_whole_words(crisis):
    # "armée" and "arme" share a stem: an army is not a weapon.
    assert kinds(crisis, "Portes ouvertes de l'armée de l'air avec un tir de démonstration") == []
    assert kinds(crisis, "Des tirs et une arme retrouvée devant le lycée") == ["fusillade"]


def test_a_power_cut_phrase_needs_its_de(crisis):
    assert kinds(crisis, "C'est pas courant de voir autant de monde") == []
    assert kinds(crisis, "Toujours pas de courant dans le quartier") == ["coupure_electricite"]


def test_one_word_family_counts_once(crisis):
    # Two weak words of one family (hashtag and verb) are one signal, two different weak words are two.
    assert kinds(crisis, "#Pollution : la ville pollue encore") == []
    assert kinds(crisis, "#Pollution : odeur irrespirable au bord du canal") == ["pollution"]
    labels = crisis.detect(View(prepare("Piratage : les serveurs piratés, site inaccessible")))
    assert [label.name for label in labels] == ["cyberattaque"]
    assert "piratés" not in labels[0].terms  # « piratage » already stands for the family


@pytest.mark.parametrize(
    "text",
    [
        "Séisme au Japon : des milliers de sinistrés",
        "#Iran : attentat contre un défilé militaire",
        "Fusillade à New York, plusieurs blessés",
        "Inondations en Italie, la région de Venise évacuée",
        "#Philippines typhon : les secours débordés",
    ],
)
def test_a_crisis_located_abroad_is_not_a_crisis_for_a_town(crisis, text):
    assert kinds(crisis, text) == []
    assert kinds(CrisisDetector.load(abroad=True), text) != []  # a ministry with interests abroad sees it
    labels, places = crisis.locate(View(prepare(text)))
    assert labels and places  # found all the same, with where: the stack counts it apart


def test_a_crisis_abroad_is_counted_apart_with_its_place():
    """A town is not alerted on « séisme au Japon », but the label says what and where; a ministry that
    counts crises abroad gets it as a crisis, its place among the words."""
    from classifiers.settings import ClassifierSettings
    from classifiers.stack import ClassifierStack

    texts = ["Séisme au Japon : des milliers de sinistrés", "Incendie en cours rue Carnot, pompiers sur place",
             "Belle journée au marché"]
    town = ClassifierStack.load(ClassifierSettings()).classify_batch(texts)
    assert [c.crisis_kinds for c in town] == [[], ["incendie"], []]
    assert [c.crisis_abroad_kinds for c in town] == [["seisme"], [], []]
    assert "japon" in town[0].crisis_abroad[0].terms
    ministry = ClassifierStack.load(ClassifierSettings(crisis_abroad=True)).classify_batch(texts)
    assert [c.crisis_kinds for c in ministry] == [["seisme"], ["incendie"], []]
    assert "japon" in ministry[0].crisis[0].terms and ministry[0].crisis_abroad == []

    # Counted apart: a counter of its own, never a crisis:<kind> counter (which crisis rules read).
    from datetime import UTC, datetime

    from listener.counting import KeyCounter
    from listener.models import Mention

    at = datetime(2026, 11, 1, tzinfo=UTC)
    keys = [KeyCounter([]).keys_for(Mention(source="rss", external_id=str(i), text=text, created_at=at, labels=c))
            for i, (text, c) in enumerate(zip(texts, town, strict=True))]
    assert "crisis_abroad:all" in keys[0] and not any(key.startswith("crisis:") for key in keys[0])
    assert "crisis:incendie" in keys[1] and "crisis_abroad:all" not in keys[1]


@pytest.mark.parametrize(
    "text",
    [
        "Incendie rue de Londres, les pompiers sur place",  # a street named after a capital
        "Incendie d'appartement : une famille originaire du Maroc relogée",  # where people come from
        "Cyclone : La Réunion en vigilance, les rafales arrachent les toits",  # overseas France is France
        "Inondation du sous-sol de la mairie",
    ],
)
def test_places_that_do_not_locate_the_event_abroad(crisis, text):
    assert kinds(crisis, text) != []


def test_the_institutions_own_places_are_always_local():
    text = "Tempête : Rivebelle et la Belgique touchées, toits arrachés"
    assert kinds(CrisisDetector.load(), text) == []
    assert kinds(CrisisDetector.load(local_places=["Rivebelle"]), text) == ["tempete"]
    assert kinds(CrisisDetector.load(local_places=["Val-de-Belle"]), "#valdebelle crue au Luxembourg") == [
        "inondation"]


def test_the_place_words_of_an_institutions_name():
    from classifiers.crisis_places import name_places

    assert name_places("Ville de Rivebelle") == ["Rivebelle"]
    assert name_places("Préfecture des Bouches-du-Rhône") == ["Bouches-du-Rhône"]
    assert name_places("Mairie de Saint-Denis") == ["Saint-Denis"]
