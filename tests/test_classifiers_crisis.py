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
