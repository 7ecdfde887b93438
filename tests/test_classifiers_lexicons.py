"""Lexicons: inflections and phrases match, negations and traps do not, every hit names its words."""

from __future__ import annotations

import pytest

from classifiers.crisis import CrisisDetector
from classifiers.hostility import HostilityClassifier, HostilityLexicon, training_institution
from classifiers.lexicon import Entry, PhraseLexicon, View
from classifiers.settings import TopicSettings
from classifiers.text import prepare
from classifiers.topics import TopicClassifier, TopicLexicon
from listener.settings import InstitutionSettings


def view(text: str) -> View:
    return View(prepare(text))


@pytest.fixture(scope="module")
def crisis() -> CrisisDetector:
    return CrisisDetector.load()


@pytest.fixture(scope="module")
def hostility() -> HostilityClassifier:
    return HostilityClassifier.load(training_institution(), use_model=False)


def test_phrases_match_inflections_and_elisions():
    lexicon = PhraseLexicon([Entry("embouteillage", "transport"), Entry("coupure d'eau", "eau")])
    found = lexicon.match(view("Embouteillages monstres et coupures de l'eau rue Pasteur"))
    assert [(m.entry.group, m.surface) for m in found] == [
        ("transport", "embouteillages"), ("eau", "coupures de l'eau")
    ]


def test_longest_phrase_wins_and_negation_is_reported():
    lexicon = PhraseLexicon([Entry("incendie", "a"), Entry("départ d'incendie", "b")])
    (match,) = lexicon.match(view("Départ d'incendie au gymnase"))
    assert match.entry.group == "b" and not match.negated
    (negated,) = lexicon.match(view("Pas d'incendie au gymnase"))
    assert negated.negated


def test_word_level_matching_avoids_stem_collisions():
    words = PhraseLexicon([Entry("pourris", "insulte")], on="words")
    assert words.match(view("Ces élus sont tous pourris"))
    assert not words.match(view("La mairie pourrait mieux faire"))


def test_topics_inflections_hashtags_and_accents():
    topics = TopicClassifier(TopicLexicon([
        TopicSettings(name="transport", terms=["embouteillage", "rocade", "bus"]),
        TopicSettings(name="travaux", terms=["travaux"]),
        TopicSettings(name="proprete", terms=["propreté", "poubelles"]),
    ]))
    labels = topics.classify_many([
        view("Embouteillages monstres sur la rocade"),
        view("#TravauxRueDeLaPaix et PROPRETÉ douteuse"),
    ])
    assert labels[0][0].name == "transport" and "embouteillages" in labels[0][0].terms
    assert {label.name for label in labels[1]} == {"travaux", "proprete"}
    assert all(label.terms for label in labels[1])


@pytest.mark.parametrize(
    ("text", "kind", "term"),
    [
        ("Incendie en cours rue Victor Hugo, les pompiers sont sur place", "incendie", "incendie"),
        ("Explosion dans un immeuble du centre-ville", "explosion", "explosion"),
        ("La rue de la Gare est inondée, l'eau monte vite", "inondation", "inondée"),
        ("Coupure d'eau dans tout le quartier nord", "coupure_eau", "coupure d'eau"),
        ("Il n'y a plus d'électricité à Rivebelle depuis une heure", "coupure_electricite", "plus d'électricité"),
        ("Fusillade devant la gare, des tirs entendus", "fusillade", "fusillade"),
        ("Évacuation de l'école Jean Jaurès en cours", "evacuation", "évacuation"),
        ("Effondrement d'un immeuble rue des Lilas", "effondrement", "effondrement"),
        ("Vigilance rouge orages sur le département", "alerte_meteo", "vigilance rouge"),
        ("Accident grave sur la rocade", "accident_grave", "accident grave"),
        ("#inondation rue Pasteur", "inondation", "#inondation"),
    ],
)
def test_real_crises_fire_with_their_words(crisis, text, kind, term):
    labels = crisis.detect(view(text))
    assert kind in [label.name for label in labels]
    label = next(label for label in labels if label.name == kind)
    assert term in label.terms and label.score >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Pas d'incendie à signaler, aucun blessé",
        "Si jamais il y a une inondation, la mairie est-elle prête ?",
        "En cas d'incendie, composez le 18",
        "Exercice d'évacuation à l'école ce matin",
        "Simulation d'attentat au lycée demain matin",
        "Alerte test des sirènes mercredi à midi",
        "Il y a 10 ans, l'explosion de l'usine chimique",
        "Commémoration de l'attentat place de la République",
        "Ce match est une explosion de joie",
        "Le feu d'artifice du 14 juillet était magnifique",
        "Je suis inondé de messages depuis ce matin",
        "Mort de rire cette vidéo",
        "Un peu de fumée au barbecue des voisins",
    ],
)
def test_crisis_traps_do_not_fire(crisis, text):
    assert crisis.detect(view(text)) == []


def _one(classifier: HostilityClassifier, text: str):
    return classifier.classify_many([view(text)])[0]


def test_hostility_towards_the_mayor_names_the_official(hostility):
    result = _one(hostility, "Madame la maire, démissionnez, vous êtes une incompétente !")
    assert result.hostile and result.targets == ["Claire Marchand"]
    assert "incompétente" in result.terms
    result = _one(hostility, "Benali menteur, il a tout caché")
    assert result.hostile and result.targets == ["Karim Benali"]


def test_hostility_towards_the_institution_and_its_accounts(hostility):
    result = _one(hostility, "@villederivebelle vous êtes des voleurs")
    assert result.hostile and result.targets == ["institution"]
    assert _one(hostility, "Bande d'incapables à la mairie, tous pourris").hostile


@pytest.mark.parametrize(
    "text",
    [
        "Quelle honte pour les supporters adverses",
        "Démission du club : l'entraîneur s'en va",
        "Ce n'est pas un scandale, la mairie a bien réagi",
        "Les travaux durent trop longtemps, la mairie pourrait mieux communiquer",
        "Madame la maire, quand la piscine rouvrira-t-elle ?",
        "Encore des magouilles à la mairie, scandale",
        "Claire Marchand DÉMISSION ! Supprimer la ligne 12 c'est abandonner les quartiers nord",
    ],
)
def test_civil_criticism_and_untargeted_anger_are_not_hostile(hostility, text):
    result = _one(hostility, text)
    assert not result.hostile and result.targets == []


def test_officials_come_from_the_config():
    institution = InstitutionSettings(name="Ville de Valbourg", officials=["Jeanne Dupuis"])
    classifier = HostilityClassifier(HostilityLexicon.load(institution))
    result = classifier.classify_many([view("Dupuis corrompue, quelle menteuse !")])[0]
    assert result.hostile and result.targets == ["Jeanne Dupuis"]


def test_extra_target_words_come_from_the_config():
    institution = InstitutionSettings(name="Ville de Valbourg")  # no officials
    plain = HostilityClassifier(HostilityLexicon.load(institution))
    extended = HostilityClassifier(HostilityLexicon.load(institution, extra_targets=["le syndicat des eaux"]))
    text = "Le syndicat des eaux, bande de connards"
    assert plain.classify_many([view(text)])[0].abusive and not plain.classify_many([view(text)])[0].hostile
    assert extended.classify_many([view(text)])[0].hostile
