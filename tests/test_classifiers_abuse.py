"""Abusive, threat and hostile on what makes real French text hard: spelling tricks, plurals and
feminine forms, slurs and dehumanising comparisons, implicit threats, negation, counter-speech and
reported speech; and the three labels' relationship (threat ⊂ abusive, hostile = abusive + aimed)."""

from __future__ import annotations

import pytest

from classifiers.abuse import AbuseDetector, squash
from classifiers.hostility import HostilityClassifier, HostilityLexicon, training_institution
from classifiers.lexicon import View
from classifiers.text import prepare


@pytest.fixture(scope="module")
def classifier() -> HostilityClassifier:
    """The shipped lexicons and the shipped model, for the fictional city of the demo."""
    return HostilityClassifier(HostilityLexicon.load(training_institution()), AbuseDetector.load())


def one(classifier: HostilityClassifier, text: str):
    return classifier.classify_many([View(prepare(text))])[0]


@pytest.mark.parametrize("text", [
    "Je vais tuer les élus",
    "Il faudrait pendre tous les élus",
    "Le préfet mérite une balle dans la tête",
    "jte bute Benali",
    "On sait où tu habites, Marchand",
    "Claire Marchand qu'elle fasse attention en rentrant chez elle",
    "Mort aux élus",
])
def test_threats_against_officials_are_threat_abusive_and_hostile(classifier, text):
    result = one(classifier, text)
    assert result.threat and result.abusive and result.hostile, text
    assert result.threat_terms and result.abusive_terms and result.targets


@pytest.mark.parametrize("text", [
    "Je vais te tuer",
    "Tu vas crever sale chien",
    "Tes jours sont comptés",
    "Qu'il fasse attention en rentrant chez lui",
    "Je veux que tu crèves",
    "Il faut qu'on les pende, tous",
])
def test_threats_against_anyone_are_threats_but_not_hostile(classifier, text):
    result = one(classifier, text)
    assert result.threat and result.abusive and not result.hostile, text


@pytest.mark.parametrize("text", [
    "Je vais tuer le temps en lisant",
    "Tu me tues mdr",
    "Je suis crevé après cette journée",
    "Le film raconte un tueur qui veut tuer le président",
    "Le maire a reçu des menaces de mort",
    "Il faut tuer les moustiques avant l'été",
    "On va se casser la gueule sur ce verglas",
    # Real tweet: « que » + a noun phrase states what a thing does.
    "Les gens s'en branlent que le réchauffement climatique tue des animaux",
    "On sait que la pollution tue des milliers de gens",
    "Les pesticides les tuent à petit feu",
])
def test_figures_of_speech_plots_and_reports_are_not_threats(classifier, text):
    assert not one(classifier, text).threat, text


@pytest.mark.parametrize(("text", "word"), [
    ("Le maire est un c0nnard", "c0nnard"),
    ("la maire c o n n a s s e", "c o n n a s s e"),
    ("Le préfet, ce gros c*nnard", "c*nnard"),
    ("Ce maire est un connnnnnard", "conn"),  # elongations are squeezed to two before anything else
    ("le ministre est un cretin", "cretin"),  # accent missing
    ("Les élus sont des ordures", "sont des ordures"),
    ("Les élues sont des menteuses", "menteuses"),  # feminine plural, aimed
])
def test_spelling_tricks_and_inflections_fall_back_on_the_word_and_show_it_as_written(classifier, text, word):
    result = one(classifier, text)
    assert result.abusive and result.hostile, text
    assert any(word in term for term in result.abusive_terms), result.abusive_terms


@pytest.mark.parametrize("text", [
    "Les migrants sont des rats",
    "Ces gens-là sont des animaux",
    "Sale arabe rentre chez toi",
    "Les supporters adverses sont des chiens",
])
def test_slurs_and_dehumanising_comparisons_are_abusive_whoever_they_target(classifier, text):
    result = one(classifier, text)
    assert result.abusive and not result.hostile, text


@pytest.mark.parametrize("text", [
    "Les migrants ne sont pas des rats",  # negation
    "Traiter les migrants de « rats » est inacceptable",  # counter-speech quoting
    "Il m'a traité de connard devant tout le monde",  # reported speech
    "Des rats dans la cour de l'école, la mairie doit agir",  # real rats
    "Le ramassage des ordures est en retard rue Pasteur",  # real rubbish
    "Du terrorisme intellectuel, encore",
    "Démission de la maire !",  # anger is not abuse
    "Je déteste les lundis",
    "Le temps est pourri aujourd'hui",
])
def test_negation_counter_speech_reports_and_ordinary_words_are_not_abusive(classifier, text):
    result = one(classifier, text)
    assert not result.abusive and not result.hostile, (text, result.abusive_terms)


def test_degrading_words_count_when_aimed_at_someone(classifier):
    assert one(classifier, "Je déteste les élus").hostile
    assert one(classifier, "Benali menteur, il a tout caché").hostile
    assert not one(classifier, "Je déteste les lundis").abusive


def test_scores_say_what_the_labels_say(classifier):
    for text in ("Le maire est un connard", "Bonne journée à tous", "Je vais tuer les élus"):
        result = one(classifier, text)
        assert (result.abusive_score >= 0.5) == result.abusive
        assert 0.0 <= result.abusive_score <= 1.0 and 0.0 <= result.score <= 1.0


def test_squash_keeps_source_positions():
    prepared = prepare("t'es un c o n n a r d, tuez-les")
    squashed, source = squash(prepared)
    assert "conard" in squashed.folded and "tuez" in squashed.folded and "les" in squashed.folded
    assert len(source) == len(squashed.folded)
    merged = source[squashed.folded.index("conard")]
    assert " ".join(prepared.tokens[merged[0] : merged[1] + 1]) == "c o n n a r d"


@pytest.mark.parametrize("text", ["", " ", "\x00\x01\x02", "🙂" * 500, "слава " * 50 + "connard", "a" * 1_000_000])
def test_odd_input_never_crashes(classifier, text):
    result = one(classifier, text)
    assert isinstance(result.abusive, bool)


def test_abuse_found_by_the_model_alone_is_hostile_only_when_it_is_sure(classifier, monkeypatch):
    """The model has no word position: a text naming an official that it finds barely abusive (real MLMA
    dev tweet: criticism) is abusive, not hostile; a sure finding still is hostile."""
    import classifiers.hostility as hostility
    from classifiers.abuse import AbuseResult

    view = View(prepare("Benali est un gauchiste par rapport à nous"))
    named = classifier.targets(view)
    barely = AbuseResult(abusive=True, score=0.57, terms=["gauchiste"])
    assert named and not classifier._combine(barely, named).hostile
    assert classifier._combine(barely, named).abusive
    sure = AbuseResult(abusive=True, score=hostility.MODEL_ONLY_SCORE, terms=["gauchiste"])
    assert classifier._combine(sure, named).targets == ["Karim Benali"]


@pytest.mark.parametrize("text", ["#Benali est un crétin", "#karimbenali est un crétin", "#KarimBenali, crétin"])
def test_an_officials_name_as_a_hashtag_names_them(classifier, text):
    result = one(classifier, text)
    assert result.hostile and result.targets == ["Karim Benali"], text


@pytest.mark.parametrize("text", ["Le gouvernement s'attarde sur des futilités", "il s'attarde au café"])
def test_a_term_read_as_a_reflexive_verb_is_not_an_insult(classifier, text):
    """« s'attarde » (to linger, real MLMA tweets) folds to the insult « attardé »: after « s' » it is a verb."""
    result = one(classifier, text)
    assert not result.abusive and not result.hostile, text
    assert one(classifier, "Le gouvernement est un ramassis d'attardés").abusive
