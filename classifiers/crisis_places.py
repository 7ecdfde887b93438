"""Where a crisis happens: a crisis clearly located abroad is not a crisis for a French town.

« Séisme au Japon », « #Iran : attentat », « fusillade à Chicago » are real crisis reports, and on an
ordinary day they are most of the crisis labels a city would get. A text is *elsewhere* when it names a
place abroad (classifiers/data/places_abroad_fr.txt: countries, capitals, big cities, as French texts
write them; built by classifiers/crisis_places_build.py) and none of the institution's own places.

Not a location of the event: a street or a building named after a place (« rue de Londres », « place
d'Italie », « restaurant le Liban ») and where people come from (« une famille originaire du Maroc »).
The institution's own area always counts as local: the words of its name (« Ville de Rivebelle » →
Rivebelle) and `[classifiers] crisis_local_places` (the commune, its neighbours, a département…).
Whether events abroad count at all is the institution's choice (`crisis_abroad`: a ministry with
interests abroad sets it to true).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from classifiers.lexicon import View, phrase_key
from listener.textfold import fold

DEFAULT_PLACES = Path(__file__).with_name("data") / "places_abroad_fr.txt"
# A place right after one of these (with or without "de") names a street, a building or an origin.
NOT_A_LOCATION = frozenset({
    "rue", "avenue", "av", "boulevard", "bd", "place", "quai", "impasse", "allee", "cours", "square", "pont",
    "gare", "porte", "jardin", "parc", "residence", "hotel", "restaurant", "cafe", "bar", "lycee", "college",
    "ecole", "stade", "salle", "marche", "route", "chemin", "passage", "villa", "cite", "pizzeria", "epicerie",
    "originaire", "originaires", "venu", "venus", "venue", "venues", "provenance", "retour", "rentre",
    "rentres", "rentree", "rentrees", "natif", "native", "natifs", "natives",
})
_DE = frozenset({"de", "d'", "du", "des", "la", "le", "l'", "les"})
# Words of an institution's name that are not a place (« Ville de Rivebelle » → Rivebelle).
_GENERIC_NAME_WORDS = frozenset({
    "ville", "mairie", "commune", "communes", "metropole", "prefecture", "sous-prefecture", "departement",
    "region", "conseil", "ministere", "agglomeration", "communaute", "hotel", "collectivite", "territoriale",
    "syndicat", "intercommunal", "etablissement", "public", "service", "services", "centre", "cabinet",
    "gouvernement", "secretariat", "etat", "assemblee", "republique", "grand", "grande",
})


def _keys(names: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    """First folded word → the words after it, longest first ("new" → ("york",), ("delhi",))."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for name in names:
        # As written, hyphens as spaces (« Val de Belle »), and joined like a hashtag (#ValDeBelle).
        joined = "".join(char for char in fold(name.lower()) if char.isalnum())
        for key in {phrase_key(name, on="words"), phrase_key(name.replace("-", " "), on="words"), (joined,)}:
            if key and key[0] and key[1:] not in index.get(key[0], []):
                index.setdefault(key[0], []).append(key[1:])
    for rests in index.values():
        rests.sort(key=len, reverse=True)
    return index


def name_places(name: str) -> list[str]:
    """The place words of an institution's name: its capitalised words that are not generic."""
    return [word for word in name.replace("'", " ").split()
            if word[:1].isupper() and fold(word.lower()) not in _GENERIC_NAME_WORDS]


class PlaceScope:
    """Tells whether a text locates its event abroad, away from the institution's own places."""

    def __init__(self, abroad: Iterable[str], local: Iterable[str] = ()) -> None:
        self._abroad = _keys(abroad)
        self._local = _keys(local)

    @classmethod
    def load(cls, path: Path | None = None, local: Iterable[str] = ()) -> PlaceScope:
        text = Path(path or DEFAULT_PLACES).read_text(encoding="utf-8")
        names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return cls(names, local)

    @staticmethod
    def _found(view: View, index: dict[str, list[tuple[str, ...]]]) -> list[tuple[int, int]]:
        """(content index, length) of every name found; a hashtag counts as its word (#Japon)."""
        words = [word[1:] if word[:1] == "#" else word for word in view.words]
        found = []
        for i, word in enumerate(words):
            for rest in index.get(word, ()):
                if tuple(words[i + 1 : i + 1 + len(rest)]) == rest:
                    found.append((i, len(rest) + 1))
                    break
        return found

    def _a_location(self, view: View, i: int) -> bool:
        """False for « rue de Londres », « originaire du Maroc »: the place is not where it happens."""
        folded = view.prepared.folded
        at = view.positions[i] - 1
        if at >= 0 and folded[at] in _DE:
            at -= 1
        return at < 0 or folded[at] not in NOT_A_LOCATION

    def abroad(self, view: View) -> list[str]:
        """The places abroad the text locates things in; [] when it names one of the local places."""
        if self._local and self._found(view, self._local):
            return []
        places = []
        for i, size in self._found(view, self._abroad):
            if self._a_location(view, i):
                tokens = view.prepared.tokens
                places.append(" ".join(tokens[view.positions[k]] for k in range(i, i + size)).lstrip("#"))
        return places
