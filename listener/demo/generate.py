"""Generate the demo data: 36 hours of mentions of the fictional city of Rivebelle, and its scheduled posts.

    python -m listener.demo.generate            # rewrites rivebelle.jsonl and posts.json next to this file
    python -m listener.demo.generate OUT_DIR    # writes them into OUT_DIR instead

Everything comes from one seeded random generator and is written in a fixed order, so a run rewrites the
shipped files byte for byte (tests/test_demo_data.py checks it). The story, its timeline and what the demo
should detect are in README.md beside this file.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20261118
START = datetime(2026, 11, 16, 23, 0, tzinfo=UTC)
END = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
PARIS_OFFSET_HOURS = 1  # CET: Paris is UTC+1 in November
LINE12_START = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
LINE12_PEAK_END = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)
FLOOD_START = datetime(2026, 11, 18, 6, 40, tzinfo=UTC)

DATA_FILE = "rivebelle.jsonl"
POSTS_FILE = "posts.json"
HERE = Path(__file__).resolve().parent

AUTHOR_POOL = 1500
BASE_PER_HOUR = 78.0
# Relative activity per Paris hour on a weekday: quiet nights, peaks at 08–09 and 18–20.
HOURLY_WEIGHT = [0.30, 0.18, 0.10, 0.07, 0.07, 0.12, 0.40, 0.95, 1.55, 1.45, 1.05, 0.95,
                 1.05, 1.00, 0.85, 0.85, 0.95, 1.20, 1.55, 1.65, 1.35, 1.00, 0.70, 0.45]

# ----------------------------------------------------------------------------------------- vocabulary

SLOTS: dict[str, list[str]] = {
    "arret": ["République", "Gare Centrale", "Hôtel de Ville", "Pont-Neuf", "Saint-Roch", "Les Capucins",
              "Parc Borély", "Hôpital Nord", "Les Hauts", "Université", "Jean-Jaurès", "Place du Marché"],
    "tram": ["le tram A", "le tram B", "le tram", "le A", "le B"],
    "bus": ["le bus 4", "la 7", "la 9", "le 21", "la navette du centre", "le bus 15"],
    "axe": ["boulevard Gambetta", "la rocade", "l'avenue Jean-Jaurès", "le pont de la Rivette",
            "le quai des Capucins", "l'avenue de la Gare"],
    "rue": ["rue Victor-Hugo", "rue des Lilas", "avenue Jean-Jaurès", "rue Pasteur", "rue du Moulin",
            "boulevard Gambetta", "rue Saint-Roch", "rue des Écoles"],
    "quartier": ["les Capucins", "Saint-Roch", "les Hauts-de-Rivebelle", "le centre-ville", "Bellevue",
                 "la Gare", "le Pont-Neuf"],
    "place": ["la place du Marché", "la place Saint-Roch", "le parvis de la gare", "la place Jean-Jaurès",
              "le square des Lilas"],
    "ecole": ["Pasteur", "Jules-Ferry", "Marie-Curie", "les Lilas", "Saint-Roch"],
    "menu": ["poisson pané / haricots verts", "lasagnes végé", "hachis parmentier", "couscous", "poulet basquaise",
             "quiche lorraine / salade", "omelette et épinards"],
    "min": ["15", "20", "25", "30", "40", "45"],
    "rue_t": ["rue des Tanneurs", "quai des Tanneurs", "rue de la Rivette", "impasse du Moulin",
              "place des Tanneurs", "rue Basse"],
    "arret_t": ["Les Tanneurs", "Pont-Neuf", "Saint-Roch", "République"],
}

BANKS: dict[str, tuple[str, list[str]]] = {
    "transport_neg": ("neg", [
        "Encore {min} min d'attente pour {tram} à {arret}, c'est chaque matin pareil",
        "Bouchons monstres sur {axe} ce matin, {min} min pour faire 3 km 😤",
        "{tram} en panne entre {arret} et {arret}, on fait comment pour aller bosser nous ?",
        "Piste cyclable {rue} encore squattée par des voitures garées, la police municipale elle fait quoi ?",
        "{bus} supprimé sans prévenir, 3e fois cette semaine à Rivebelle",
        "Qui a eu l'idée de faire les travaux du tram et ceux de la rue de la République en même temps ?? bouchons partout",
        "{tram} bondé à 8h, impossible de monter avec une poussette. On est en 2026 quand même",
        "Feux mal réglés sur {axe}, ça bouchonne jusqu'au rond-point. Quelqu'un à la mairie peut regarder ?",
        "Les vélos en libre service de Rivebelle : 2 sur 10 qui marchent à la station {arret}",
        "20 min de retard sur {bus}, aucune info sur l'appli Rivebus, merci pour rien",
        "Ça fait 3 hivers que la piste cyclable du {axe} est pas éclairée. On attend un accident ?",
    ]),
    "transport_pos": ("pos", [
        "Franchement {tram} ce matin : à l'heure, propre, chauffé 👍",
        "Vélo jusqu'au boulot par les quais, 15 min, zéro bouchon 🚲",
        "Merci au chauffeur du {bus} qui a attendu la mamie qui courait, ça fait plaisir",
        "La nouvelle piste cyclable {rue} c'est vraiment un plus, bravo",
        "Le parking vélo sécurisé de la gare de Rivebelle est top, enfin",
        "Bonne nouvelle, {tram} passe toutes les 6 min aux heures de pointe maintenant",
    ]),
    "transport_neu": ("neu", [
        "Quelqu'un sait si {tram} circule normalement ce soir après 22h ?",
        "Les horaires d'hiver du réseau Rivebus sont en ligne",
        "Info trafic Rivebelle : ralentissements sur {axe} direction centre-ville",
        "C'est quoi le plus rapide pour aller de {arret} à l'hôpital, {tram} ou {bus} ?",
        "Abonnement tram + vélo à Rivebelle, ça vaut le coup pour un étudiant ?",
    ]),
    "proprete_neg": ("neg", [
        "Les poubelles débordent {rue} depuis 4 jours, ça pue, on relance la mairie ?",
        "Encombrants abandonnés devant l'école {ecole} : un matelas et un frigo 🤢",
        "Rivebelle ville propre ? Venez voir {place} un dimanche matin",
        "Le ramassage des ordures n'est pas passé dans {quartier}, encore",
        "Dépôt sauvage derrière le gymnase, ça fait 2 semaines. Signalé 3 fois à la mairie. Rien.",
        "Les rats sont de retour {rue}, bravo la gestion des poubelles",
        "Crottes de chien partout sur le trottoir {rue}, c'est une horreur",
    ]),
    "proprete_pos": ("pos", [
        "Bravo aux agents de la propreté, {place} nickel ce matin",
        "La collecte des encombrants sur rdv via le site de la mairie, super simple en fait",
        "Opération nettoyage des berges de la Rivette samedi, 80 bénévoles, merci à tous 💚",
        "Signalé un dépôt sauvage sur l'appli de la ville hier soir, enlevé ce matin. Efficace 👏",
    ]),
    "proprete_neu": ("neu", [
        "C'est quel jour le ramassage des encombrants dans {quartier} ?",
        "Les bacs jaunes c'est mardi ou mercredi maintenant à Rivebelle ?",
        "On peut déposer les sapins où après les fêtes ? La mairie a communiqué quelque chose ?",
    ]),
    "travaux": ("mix", [
        "Travaux rue de la République : encore prolongés jusqu'en mars ?? les commerçants n'en peuvent plus",
        "Le chantier de la rue de la République commence à ressembler à quelque chose 👀",
        "Déviation rue de la République mal indiquée, j'ai tourné 15 min",
        "Marteau-piqueur à 7h30 rue de la République, merci pour le réveil",
        "Réunion publique sur les travaux rue de la République jeudi 18h30 à la mairie annexe",
        "Rue de la République : la boulangerie a perdu 40 % de son chiffre depuis le début des travaux",
        "Hâte de voir la rue de la République piétonne, ça va changer le centre",
        "Quelqu'un sait quand la rue de la République rouvre aux voitures ?",
        "Les travaux rue de la République c'est le chantier du siècle, ça fait 8 mois",
    ]),
    "culture": ("mix", [
        "Le marché de Noël ouvre samedi {place} ! 🎄 qui vient ?",
        "Hâte du marché de Noël de Rivebelle, le vin chaud de l'an dernier était incroyable",
        "La médiathèque Louise-Michel ouverte le dimanche dès décembre, enfin !",
        "Atelier BD à la médiathèque mercredi, mes enfants ont adoré",
        "Expo photo « Rivebelle d'hier » à la médiathèque, allez-y c'est gratuit",
        "Le marché de Noël c'est devenu un piège à touristes, 6 € le vin chaud 😒",
        "Quelqu'un sait si la patinoire du marché de Noël revient cette année ?",
        "Super soirée jazz au Rex hier, Rivebelle a une vraie scène locale",
        "La médiathèque qui ferme à 18h en semaine, impossible d'y aller quand on bosse",
        "Les chalets du marché de Noël s'installent {place}, ça sent les fêtes 🎄",
    ]),
    "ecoles": ("mix", [
        "Menu de la cantine aujourd'hui : {menu}. Mon fils a tout laissé 😅",
        "Cantine de l'école {ecole} : toujours pas de menu végé 2 fois par semaine comme promis",
        "Grève à la cantine jeudi ? quelqu'un a l'info pour l'école {ecole} ?",
        "Bravo à la cuisine centrale, produits locaux dans les cantines de Rivebelle 👏",
        "Inscriptions cantine sur le portail famille : le site plante encore",
        "Tarif de la cantine qui augmente encore à Rivebelle, 4,20 € le repas c'est trop pour nous",
        "Réunion parents-profs à {ecole} ce soir, on parle encore du périscolaire",
        "L'école {ecole} toujours pas chauffée correctement, les enfants gardent leur manteau en classe",
    ]),
    "mairie": ("mix", [
        "Conseil municipal jeudi soir, ordre du jour en ligne sur le site de la mairie",
        "La maire Claire Marchand en visite au marché ce matin",
        "Quelqu'un a réussi à joindre la mairie ? 45 min d'attente au standard",
        "Belle initiative de la mairie pour les jardins partagés dans {quartier}",
        "Rdv passeport à la mairie de Rivebelle : prochain créneau en février 😩",
        "La maire a répondu à mon courrier en 10 jours, je m'y attendais pas, merci",
        "Budget participatif de Rivebelle : votez pour le projet de l'école {ecole} !",
        "Éclairage public éteint {rue} depuis une semaine, c'est la mairie ou Enedis ?",
        "Vivre à Rivebelle c'est quand même bien, on râle mais on est bien",
    ]),
    "meteo": ("neu", [
        "Il pleut des cordes sur Rivebelle ce soir ☔",
        "Ça fait 2 jours qu'il pleut non stop, la Rivette est bien haute sous le Pont-Neuf",
        "Vigilance jaune pluie sur le département cette nuit, prudence sur la route",
        "Quel temps de chien à Rivebelle, vivement le week-end",
        "Gros orage cette nuit, réveillé 3 fois 🌧️",
    ]),
    # ------------------------------------------------------------------- story 1: bus line 12 (day 1)
    "l12_hostile": ("hostile", [
        "Claire Marchand DÉMISSION ! Supprimer la ligne 12 c'est abandonner les quartiers nord",
        "Honte à vous @villederivebelle, la ligne 12 c'est la seule façon pour ma mère d'aller à l'hôpital",
        "Karim Benali nous a menti en face en réunion publique, il avait juré que la 12 restait. MENSONGE",
        "Une maire incompétente et un adjoint aux transports qui découvre ce qu'est un bus. Démission !",
        "Marchand et Benali vous êtes une honte pour Rivebelle",
        "Mensonge sur mensonge. Benali démission",
        "Incompétente, déconnectée, méprisante. Claire Marchand on s'en souviendra en 2032",
        "Claire Marchand incompétente, Karim Benali menteur. Voilà le bilan",
        "La honte. Ils ont voté ça en douce. Démission de toute l'équipe Marchand",
        "Benali = mensonge. Marchand = mépris. Ligne 12 = sacrifiée",
        "Madame la maire vous êtes une incompétente, les gens des Hauts-de-Rivebelle vont faire comment ??",
        "DÉMISSION DÉMISSION DÉMISSION. Rendez-nous la 12",
        "Quelle honte cette mairie, on supprime la ligne des pauvres et on garde le budget com",
    ]),
    "l12_civil": ("neg", [
        "Je comprends les contraintes budgétaires mais supprimer la ligne 12 sans concertation, c'est une erreur.",
        "Madame la Maire, comment les habitants des Hauts-de-Rivebelle iront-ils à l'hôpital sans la 12 ?",
        "Suppression de la ligne 12 : quelle alternative pour les collégiens de Jean-Moulin ? Question sincère à @villederivebelle",
        "La pétition pour sauver la ligne 12 est en ligne, signez et partagez 🙏",
        "Déçu par la décision sur la ligne 12. J'avais voté pour cette équipe justement pour les transports.",
        "M. Benali, 1 200 voyageurs par jour sur la 12, ce n'est pas rien. Revoyez votre copie svp",
        "Je prends la 12 tous les jours pour aller au lycée, je fais comment en janvier ?",
        "Un « transport à la demande » à réserver 24h avant, pour aller bosser à 6h ? Pas sérieux. Ligne 12",
        "Les usagers de la ligne 12 se réunissent jeudi 18h devant la mairie, venez nombreux",
        "Pourquoi la ligne 12 et pas la navette du centre qui roule à vide ? Vraie question",
        "Personne ne nous a demandé notre avis sur la ligne 12. C'est ça la démocratie locale ?",
        "Ma grand-mère a 84 ans, pas de voiture, la ligne 12 c'est sa seule sortie de la semaine",
        "La mairie aurait pu au moins consulter les comités de quartier avant de toucher à la ligne 12",
        "Supprimer la 12 alors qu'on nous parle de transition écologique… cherchez l'erreur",
    ]),
    "l12_neu": ("neu", [
        "Ce qu'on sait de la suppression de la ligne 12 : fin du service le 2 janvier, remplacée par un transport à la demande",
        "Conseil municipal jeudi : la ligne 12 sera à l'ordre du jour selon l'opposition",
        "Quelqu'un a le lien de la pétition pour la ligne 12 ?",
        "La ligne 12 c'est bien celle qui va de la gare aux Hauts-de-Rivebelle par l'hôpital ?",
        "La mairie a publié un communiqué sur la ligne 12, réunion publique annoncée le 26 novembre",
    ]),
    "l12_support": ("pos", [
        "La 12 roulait à vide la moitié de la journée, le transport à la demande c'est pas idiot. Je vais me faire lyncher",
        "Il faut bien faire des choix budgétaires, je préfère qu'on garde les cantines à ce prix-là. Ligne 12",
        "Soutien à Karim Benali, il a le courage de dire que la 12 coûte une fortune pour des bus vides",
    ]),
    # ------------------------------------------------------------------- story 2: flash flood (day 2)
    "flood_early": ("alarm", [
        "L'eau monte super vite rue des Tanneurs, c'est normal ?? 😨",
        "Rue des Tanneurs complètement inondée, les voitures ont de l'eau jusqu'aux portières",
        "Ma cave est inondée, il y a déjà 50 cm d'eau, quelqu'un a le numéro des pompiers ?",
        "Coupure d'électricité dans tout le quartier des Tanneurs depuis 7h30",
        "Euh la Rivette est sortie de son lit, {rue_t} c'est une rivière là",
        "Réveillé par les sirènes des pompiers aux Tanneurs, il se passe quoi ?",
        "Rue inondée devant chez moi {rue_t}, l'eau arrive aux marches, je fais quoi ??",
        "Plus de courant, de l'eau dans le hall de l'immeuble {rue_t}, c'est la panique",
    ]),
    "flood_peak": ("alarm", [
        "Les pompiers évacuent les rez-de-chaussée {rue_t}",
        "Caves inondées dans tout l'immeuble, l'eau arrive au niveau des marches 😰",
        "Évacuation en cours {rue_t}, les pompiers passent avec des barques !!",
        "📸 {rue_t} ce matin. Jamais vu ça de ma vie",
        "📸 photo prise de ma fenêtre {rue_t}, la voiture du voisin flotte presque",
        "Toujours pas d'électricité aux Tanneurs, quelqu'un sait quand ça revient ?",
        "Coupure d'électricité aussi côté {arret_t}, Enedis parle d'un retour vers midi",
        "Le tram A est coupé entre {arret_t} et Les Tanneurs à cause de l'inondation",
        "Selon la préfecture, 120 personnes évacuées aux Tanneurs, pas de blessé pour l'instant",
        "Ne descendez PAS dans vos caves inondées, le courant peut être encore branché. Consigne des pompiers",
        "Les pompiers ont sorti une dame âgée de chez elle en barque, merci à eux ❤️",
        "Ma mère habite quai des Tanneurs, elle répond pas au téléphone, quelqu'un est sur place ?? 😭",
        "Inondation aux Tanneurs : évitez le secteur, les secours ont besoin de passer",
        "Des voitures emportées rue Basse, l'eau a monté d'un mètre en 20 minutes",
        "On vient d'être évacués {rue_t}, on a juste pris les papiers et le chat",
        "Pompiers partout dans le quartier des Tanneurs, hélicoptère au-dessus de la Rivette",
        "L'inondation a touché l'école des Tanneurs, les parents sont priés de ne pas venir",
        "Ça continue de monter {rue_t}, l'évacuation du 12 au 30 est en cours",
        "Pensées pour les habitants des Tanneurs 🙏 courage à tous",
        "Coupure d'électricité + caves inondées + rue inondée, la totale ce matin aux Tanneurs",
        "Vidéo de la rue inondée devant la boulangerie des Tanneurs, impressionnant 😳",
        "Il y a une ligne pour les sinistrés de l'inondation ? On est à la rue avec les enfants",
    ]),
    "flood_question": ("alarm", [
        "@villederivebelle il y a un point d'accueil pour les gens évacués ?? on est dehors avec 2 enfants",
        "Les écoles des Tanneurs sont-elles fermées aujourd'hui ? La mairie peut confirmer ?",
        "@villederivebelle on fait quoi pour les caves inondées ? Les pompiers ne répondent plus au 18",
        "Est-ce que l'eau du robinet est encore potable aux Tanneurs ? Mairie ?",
        "Mairie de Rivebelle : quand est-ce qu'on pourra rentrer chez nous ? Aucune info depuis 2h",
        "Question à la mairie : les voitures au parking des Tanneurs, on peut aller les chercher ?",
        "Où est la cellule de crise ? Qui on appelle pour l'inondation ? Le standard de la mairie sonne dans le vide",
    ]),
    "flood_anger": ("hostile", [
        "Trois ans qu'on demande le curage de la Rivette aux Tanneurs. Voilà le résultat.",
        "Où est la maire ? Les Tanneurs sous l'eau et pas un mot de Claire Marchand",
        "Hier la ligne 12, aujourd'hui l'inondation. Cette mairie ne sait rien anticiper",
        "Le bassin de rétention promis en 2020, il est où ? Honte",
        "Aucune alerte, aucune sirène, on a découvert l'inondation en mettant les pieds dans l'eau",
    ]),
    "flood_official_quote": ("info", [
        "La mairie : « gymnase Jean-Jaurès ouvert pour accueillir les personnes évacuées, café et couvertures sur place »",
        "Info @villederivebelle : écoles des Tanneurs fermées, enfants accueillis à l'école Pasteur",
        "D'après la mairie, la cellule de crise est activée et la maire est sur place aux Tanneurs",
        "La ville de Rivebelle demande d'éviter le quartier des Tanneurs et de ne pas descendre dans les caves",
        "Communiqué de la mairie : numéro d'information 0 800 000 000, gymnase Jean-Jaurès ouvert",
        "La préfecture et la mairie annoncent 140 personnes accueillies au gymnase, pas de victime",
    ]),
    "flood_help": ("pos", [
        "J'ai une camionnette et des bras, je peux aider aux Tanneurs, qui coordonne ?",
        "Boulangerie ouverte rue Pasteur, café et croissants offerts aux sinistrés des Tanneurs ☕",
        "On a 2 chambres libres pour des familles évacuées des Tanneurs, envoyez-moi un message",
        "Bravo aux pompiers et aux agents de la ville, ils sont là depuis 7h sous la pluie 👏",
        "Collecte de vêtements secs et couvertures au gymnase Jean-Jaurès, on y va",
    ]),
    "flood_late": ("mix", [
        "La décrue a commencé aux Tanneurs mais les caves sont toujours inondées",
        "Qui organise le nettoyage ? On peut venir avec des seaux et des raclettes",
        "Assurances : faites des photos avant de jeter quoi que ce soit après l'inondation",
        "Électricité revenue rue des Tanneurs 🙌",
        "L'eau baisse {rue_t} mais quelle boue… tout le rez-de-chaussée est à refaire",
        "La maire Claire Marchand est aux Tanneurs avec les pompiers, elle parle avec les habitants",
        "Est-ce que la mairie va déclarer l'état de catastrophe naturelle pour l'inondation ?",
        "Nos caves inondées, 30 ans de souvenirs à la poubelle 😢",
        "Le tram A reprend entre Pont-Neuf et Saint-Roch, toujours coupé aux Tanneurs",
    ]),
    # ------------------------------------------------------------------- traps (no crisis)
    "trap_exercice": ("neu", [
        "Exercice d'évacuation au collège Jean-Moulin ce matin, ma fille a adoré 😂 pas de panique si vous voyez des élèves dehors",
        "Alarme au collège Jean-Moulin : c'est un exercice d'évacuation prévu, rien de grave",
        "Exercice d'évacuation au collège Jean-Moulin à 10h, 600 élèves dehors en 4 minutes, bravo",
        "Les pompiers devant le collège Jean-Moulin ? C'est juste l'exercice d'évacuation annuel",
    ]),
    "trap_barbecue": ("neu", [
        "Pas d'incendie aux Capucins, juste de la fumée du barbecue du voisin 😅 désolé pour l'inquiétude",
        "Non il n'y a pas d'incendie boulevard Gambetta, c'est juste de la fumée du barbecue (en novembre, oui)",
        "Fausse alerte : pas d'incendie, juste de la fumée du barbecue de la fête des voisins",
    ]),
    "trap_sijamais": ("neu", [
        "Question bête : si jamais il y a une inondation on fait quoi ? Il y a un plan communal quelque part ?",
        "Si jamais il y a une inondation aux Tanneurs on fait quoi avec les voitures du parking souterrain ?",
        "Avec toute cette pluie, si jamais il y a une inondation on fait quoi concrètement ? Vraie question",
    ]),
    "trap_1995": ("neu", [
        "Commémoration de l'inondation de 1995 ce matin au monument des Tanneurs, émouvant 🕯️",
        "31 ans après, la commémoration de l'inondation de 1995 rassemble encore beaucoup de monde",
        "Mon grand-père raconte toujours l'inondation de 1995. Belle commémoration aujourd'hui aux Tanneurs",
    ]),
    "trap_concert": ("pos", [
        "Le concert hier soir au Rex était une explosion de joie 🎶",
        "Quelle soirée ! Le concert était une explosion de joie du début à la fin",
        "Salle comble au Rex, le concert était une explosion de joie, Rivebelle sait faire la fête",
    ]),
    "trap_inonde": ("neu", [
        "Le standard de la mairie est inondé de messages sur la ligne 12 😬",
        "Merci pour tous vos messages d'anniversaire, je suis inondé de messages ❤️",
        "Depuis ma vidéo sur le marché de Noël je suis inondé de messages, merci Rivebelle !",
    ]),
    "trap_feu": ("pos", [
        "Feu d'artifice samedi 19h pour l'ouverture du marché de Noël ! 🎆",
        "Le feu d'artifice du marché de Noël est maintenu ou pas ?",
        "Les chiens et le feu d'artifice de samedi, on va encore passer une soirée sous la table 😩",
        "Le feu d'artifice de l'an dernier était magnifique, hâte de samedi",
    ]),
}

FOREIGN: dict[str, list[tuple[str, str]]] = {
    "base": [
        ("en", "Rivebelle's Christmas market opens this Saturday, anyone been before?"),
        ("en", "Visiting Rivebelle next week, is the tram easy to use with a stroller?"),
        ("en", "Lovely evening walk along the river in Rivebelle 😍"),
        ("en", "Best bakery in Rivebelle? Asking for a friend 🥐"),
        ("it", "Qualcuno sa se il mercatino di Natale di Rivebelle è aperto la domenica?"),
        ("de", "Wir sind im Dezember in Rivebelle, gibt es einen Weihnachtsmarkt in der Altstadt?"),
        ("es", "Qué bonita es Rivebelle en otoño, volveremos"),
    ],
    "l12": [
        ("en", "Bus line 12 in Rivebelle is being cut, locals are furious"),
        ("en", "Anyone know how to get from Rivebelle station to the hospital once line 12 is gone?"),
    ],
    "flood": [
        ("en", "Flash flood in Rivebelle (France) this morning, streets under water in the old town. Stay safe everyone"),
        ("en", "My sister lives in Rivebelle, the Tanneurs district is flooded, crazy pictures"),
        ("es", "Inundaciones en Rivebelle esta mañana, el barrio de los Tanneurs bajo el agua"),
        ("de", "Hochwasser in Rivebelle heute früh, die Altstadt steht unter Wasser"),
        ("it", "Alluvione a Rivebelle stamattina, strade allagate nel quartiere Tanneurs"),
    ],
}

REDDIT_TITLES: dict[str, list[str]] = {
    "transport": ["Retards du tram ce matin ?", "Piste cyclable : c'est quand que ça s'améliore ?",
                  "Bus ou tram pour aller à l'hôpital ?", "Les bouchons sur la rocade, ça devient n'importe quoi"],
    "proprete": ["Poubelles qui débordent dans le centre", "Encombrants : comment ça marche à Rivebelle ?",
                 "Dépôts sauvages, vous signalez où ?"],
    "travaux": ["Travaux rue de la République, on en voit le bout ?", "Déviation du centre-ville : vos astuces"],
    "culture": ["Marché de Noël 2026 : infos, dates, avis", "Médiathèque ouverte le dimanche !",
                "Sorties à Rivebelle ce week-end ?"],
    "ecoles": ["Cantine : vos enfants mangent quoi ?", "Portail famille en panne ?"],
    "mairie": ["Rdv passeport impossible à la mairie", "Conseil municipal de jeudi", "Vivre à Rivebelle en 2026"],
    "meteo": ["Il pleut depuis 3 jours, la Rivette monte", "Météo de la semaine"],
    "l12": ["Suppression de la ligne 12 : vos avis ?", "[Pétition] Sauvons la ligne 12",
            "Ligne 12 supprimée, c'est officiel", "Ligne 12 : quelles alternatives concrètement ?"],
    "flood": ["Inondation aux Tanneurs - fil d'infos", "[EN DIRECT] Inondation quartier des Tanneurs",
              "Entraide inondation Tanneurs : besoins et propositions", "Coupure d'électricité aux Tanneurs ?",
              "Inondation : quelles démarches pour les assurances ?"],
    "trap": ["Petite question du jour", "Soirée d'hier au Rex", "Vos plans pour samedi ?"],
}

BASE_TOPICS: list[tuple[str, str, float]] = [
    # (topic for reddit threads, bank, weight)
    ("transport", "transport_neg", 0.15), ("transport", "transport_pos", 0.06), ("transport", "transport_neu", 0.07),
    ("proprete", "proprete_neg", 0.08), ("proprete", "proprete_pos", 0.03), ("proprete", "proprete_neu", 0.03),
    ("travaux", "travaux", 0.12), ("culture", "culture", 0.16), ("ecoles", "ecoles", 0.10),
    ("mairie", "mairie", 0.13), ("meteo", "meteo", 0.03),
]
L12_TOPICS: list[tuple[str, float]] = [("l12_hostile", 0.24), ("l12_civil", 0.50), ("l12_neu", 0.18),
                                       ("l12_support", 0.08)]

EMOJI = {
    "neg": ["😤", "🙄", "😡", "🤦", "😒", "👎", "😩"],
    "pos": ["👍", "❤️", "😊", "👏", "🙌", "✨", "💚"],
    "neu": ["🤔", "👀", "ℹ️", "🙏"],
    "mix": ["🤔", "👀", "😅", "🙄", "👍"],
    "hostile": ["😡", "🤬", "👎", "💩", "🤡"],
    "alarm": ["😨", "😱", "🌊", "🚒", "⚠️", "🙏", "😰"],
    "info": ["ℹ️", "⚠️", "📢"],
}
ABBREVIATIONS = [("pourquoi", "pq"), ("beaucoup", "bcp"), ("toujours", "tjrs"), ("vraiment", "vrmt"),
                 ("quelqu'un", "qqn"), ("aujourd'hui", "auj"), ("s'il vous plaît", "svp"), ("rendez-vous", "rdv"),
                 ("c'est", "c"), ("quand même", "qd même"), ("avec", "avc"), ("tout le monde", "tlm"),
                 ("ce matin", "ce mat"), ("je sais pas", "jsp"), ("maintenant", "mtn"), ("parce que", "pcq")]
ACCENTS = str.maketrans("éèêëàâùûîïôç", "eeeeaauuiioc")
RIVEBELLE_WORD = re.compile(r"(?<!\w)#?rivebelle\b", re.IGNORECASE)
HASHTAG = re.compile(r"#(\w+)")

FIRST = ["Léa", "Thomas", "Camille", "Lucas", "Manon", "Hugo", "Chloé", "Nathan", "Inès", "Julien", "Sarah",
         "Mehdi", "Emma", "Louis", "Clara", "Yanis", "Julie", "Antoine", "Zoé", "Maxime", "Laura", "Karim",
         "Pauline", "Nicolas", "Sofia", "Romain", "Marine", "Bastien", "Amandine", "Kevin", "Élodie", "Sébastien",
         "Fatou", "Pierre", "Anaïs", "Rachid", "Céline", "Guillaume", "Nadia", "Vincent", "Mathilde", "Olivier",
         "Aurélie", "Jérôme", "Lina", "Damien", "Margaux", "Samir", "Isabelle", "François", "Agathe", "Malik",
         "Sandrine", "Benoît", "Océane", "Patrick", "Lucie", "Yasmine", "Christophe", "Noémie"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
        "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand",
        "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin",
        "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson",
        "Benali", "Haddad", "Diallo", "Nguyen", "Ferreira", "Traoré", "Ben Salah", "Kowalski", "Da Silva", "Lemoine"]
NICKS = ["rivebelloise", "rivebellois", "velotaffeur", "chat_des_capucins", "maman_solo", "papa_geek", "tram_addict",
         "le_vieux_pont", "gambetta", "ptit_marcel", "la_rivette", "lilas", "hautsderivebelle", "st_roch",
         "cafe_du_port", "jardinier_urbain", "pain_au_choc", "bellevue", "etudiant_rvb", "retraite_actif"]
NICK_NAMES = ["Rivebelloise 🌿", "Un Rivebellois", "Vélotaffeur 🚲", "Le chat des Capucins", "Maman solo",
              "Papa geek", "Tram addict", "Le vieux pont", "Gambetta", "P'tit Marcel", "La Rivette", "Lilas",
              "Hauts-de-Rivebelle", "Saint-Roch", "Café du port", "Jardinier urbain", "Pain au choc", "Bellevue",
              "Étudiant RVB", "Retraité actif"]
ORGS = [("collectif_velo_rvb", "Collectif Vélo Rivebelle"), ("amis_des_tanneurs", "Les Amis des Tanneurs"),
        ("cq_hauts_rvb", "Comité de quartier Hauts-de-Rivebelle"), ("commercants_rvb", "Rivebelle Commerçants"),
        ("fcpe_rivebelle", "FCPE Rivebelle"), ("usagers_ligne12", "Usagers Ligne 12"),
        ("rivebelle_basket", "RBC Rivebelle"), ("le_rex_rivebelle", "Le Rex — salle de concerts")]
REDDIT_WORDS = ["Dependent", "Cheese", "Brave", "Otter", "Calm", "Baguette", "Grumpy", "Pigeon", "Silent", "River",
                "Lazy", "Croissant", "Rainy", "Tram", "Happy", "Fox", "Old", "Bridge", "Tiny", "Owl"]
MASTODON_INSTANCES = [("mastodon.example", 55), ("piaille.example", 20), ("mamot.example", 15),
                      ("social.rivebelle.example", 10)]
PAPERS = {
    "courrier": ("Le Courrier de Rivebelle", "https://www.courrier-rivebelle.example",
                 "https://www.courrier-rivebelle.example/rss/rivebelle.xml"),
    "infos": ("Rivebelle Infos", "https://rivebelle-infos.example", "https://rivebelle-infos.example/feed/"),
}
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


# ----------------------------------------------------------------------------------------- people


@dataclass
class Author:
    platform: str  # mastodon | bluesky | reddit
    user: str
    name: str
    followers: int
    weight: float
    instance: str = ""
    did: str = ""

    @property
    def handle(self) -> str:
        if self.platform == "mastodon":
            return f"@{self.user}" if self.instance == "mastodon.example" else f"@{self.user}@{self.instance}"
        if self.platform == "reddit":
            return f"u/{self.user}"
        return self.user


def ascii_slug(text: str, sep: str = "") -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, plain).strip(sep)


class Authors:
    """~1,500 authors with heavy-tailed followers and activity, plus the few named accounts of the story."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: set[tuple[str, str]] = set()
        self.by_platform: dict[str, list[Author]] = {"mastodon": [], "bluesky": [], "reddit": []}
        self.special = {
            "journalist": self._add(Author("bluesky", "sophielenoir.bsky.social",
                                           "Sophie Lenoir — Le Courrier de Rivebelle", 38_420, 0)),
            "opposition": self._add(Author("mastodon", "jferrand", "Julien Ferrand · conseiller municipal",
                                           61_870, 0, instance="mastodon.example")),
            "actu": self._add(Author("bluesky", "rivebelleactu.bsky.social", "Rivebelle Actu", 24_150, 0)),
            "influencer": self._add(Author("bluesky", "maelle.dbr.bsky.social", "Maëlle ✨ Rivebelle", 52_300, 0)),
            "official": self._add(Author("mastodon", "villederivebelle", "Ville de Rivebelle", 18_940, 0,
                                         instance="mastodon.example")),
        }
        for user, name in ORGS:
            platform = "mastodon" if rng.random() < 0.5 else "bluesky"
            self._make(platform, user, name, followers=rng.randint(400, 4_000), weight=6.0)
        while sum(len(v) for v in self.by_platform.values()) < AUTHOR_POOL:
            platform = rng.choices(["mastodon", "bluesky", "reddit"], [42, 43, 15])[0]
            user, name = self._identity(platform)
            followers = min(int(rng.paretovariate(1.15) * 18) - 10 + rng.randint(0, 20), 14_000)
            weight = min(rng.paretovariate(1.4), 40.0)
            self._make(platform, user, name, followers=max(followers, 0), weight=weight)
        self.cum: dict[str, list[float]] = {}
        for platform, people in self.by_platform.items():
            total, cum = 0.0, []
            for person in people:
                total += person.weight
                cum.append(total)
            self.cum[platform] = cum

    def _add(self, author: Author) -> Author:
        if author.platform == "bluesky":
            author.did = "did:plc:" + "".join(self.rng.choice(TID_ALPHABET) for _ in range(24))
        self.taken.add((author.platform, author.user))
        return author

    def _make(self, platform: str, user: str, name: str, followers: int, weight: float) -> None:
        rng = self.rng
        instance = ""
        if platform == "mastodon":
            instance = rng.choices([i for i, _ in MASTODON_INSTANCES], [w for _, w in MASTODON_INSTANCES])[0]
        elif platform == "bluesky" and not user.endswith(".bsky.social") and "." not in user:
            user = user.replace("_", "-") + ".bsky.social"
        self.by_platform[platform].append(self._add(Author(platform, user, name, followers, weight, instance)))

    def _identity(self, platform: str) -> tuple[str, str]:
        rng = self.rng
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            style = rng.random()
            if platform == "reddit":
                if style < 0.5:
                    user = f"{rng.choice(REDDIT_WORDS)}-{rng.choice(REDDIT_WORDS)}-{rng.randint(10, 9999)}"
                elif style < 0.8:
                    user = f"{rng.choice(NICKS)}{rng.randint(1, 99)}"
                else:
                    user = f"{ascii_slug(first)}_{ascii_slug(last)[:3]}{rng.randint(0, 99)}"
                name = user
            elif style < 0.45:
                user = ascii_slug(first) + rng.choice(["", "_", "."]) + ascii_slug(last)
                name = f"{first} {last}"
            elif style < 0.7:
                user = f"{ascii_slug(first)}{rng.randint(1, 99)}"
                name = f"{first} {last[0]}."
            elif style < 0.9:
                index = rng.randrange(len(NICKS))
                user = f"{NICKS[index]}{rng.choice(['', '_rvb', str(rng.randint(1, 99))])}"
                name = NICK_NAMES[index]
            else:
                user = f"{ascii_slug(first)}_{ascii_slug(last)}"
                name = f"{first} {rng.choice(['🌿', '🚲', '☕', '🎸', '🌊', '📚', '🐈'])}"
            if platform == "bluesky":
                user = user.replace("_", "-").replace(".", "-") + ".bsky.social"
            if (platform, user) not in self.taken:
                return user, name

    def pick(self, platform: str) -> Author:
        people = self.by_platform[platform]
        return self.rng.choices(people, cum_weights=self.cum[platform])[0]


# ----------------------------------------------------------------------------------------- ids


def tid(moment: datetime, rng: random.Random) -> str:
    """An AT Protocol record key (TID): microseconds since the epoch and a clock id, base32-sortable."""
    micros = int(moment.timestamp()) * 1_000_000 + rng.randrange(1_000_000)
    value = (micros << 10) | rng.randrange(1024)
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def mastodon_id(moment: datetime, rng: random.Random) -> str:
    """A Mastodon snowflake id: milliseconds since the epoch shifted left 16 bits, plus a sequence."""
    millis = int(moment.timestamp()) * 1000 + rng.randrange(1000)
    return str((millis << 16) | rng.randrange(65536))


def base36(value: int) -> str:
    out = ""
    while value:
        value, digit = divmod(value, 36)
        out = BASE36[digit] + out
    return out or "0"


# ----------------------------------------------------------------------------------------- text


def fill(template: str, rng: random.Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(SLOTS[m.group(1)]), template)


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind < 0.75:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def stylize(text: str, mood: str, rng: random.Random) -> str:
    """Social-media noise: abbreviations, typos, dropped accents, lower or upper case, emoji."""
    if rng.random() < 0.28:
        candidates = [(long, short) for long, short in ABBREVIATIONS if long in text.lower()]
        for long, short in candidates[: rng.randint(1, 3)]:
            text = re.sub(rf"(?i)\b{re.escape(long)}\b", short, text, count=1)
    if rng.random() < 0.18:
        words = text.split(" ")
        spots = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha() and "rivebelle" not in w.lower()]
        if spots:
            i = rng.choice(spots)
            words[i] = typo(words[i], rng)
            text = " ".join(words)
    if rng.random() < 0.12:
        text = text.translate(ACCENTS)
    shout = {"hostile": 0.22, "alarm": 0.06}.get(mood, 0.025)
    draw = rng.random()
    if draw < shout:
        text = text.upper()
    elif draw < shout + 0.22:
        text = text.lower().rstrip(".")
    if rng.random() < {"alarm": 0.45, "hostile": 0.4}.get(mood, 0.3):
        text = text.rstrip() + " " + "".join(rng.choice(EMOJI.get(mood, EMOJI["neu"]))
                                             for _ in range(rng.choice([1, 1, 1, 2, 3])))
    if mood == "hostile" and rng.random() < 0.3:
        text = text.rstrip(".") + rng.choice([" !!!", " !!", "!!!!", " !"])
    return text


def hashtags_for(kind: str, moment: datetime, rng: random.Random) -> str:
    if kind == "l12":
        tags = []
        if rng.random() < 0.55:
            tags.append("#Ligne12")
        if rng.random() < 0.12:
            tags.append("#SauvonsLa12")
        return " ".join(tags)
    if kind == "flood":
        # The new hashtag catches on over the first 40 minutes.
        minutes = (moment - FLOOD_START).total_seconds() / 60
        adoption = min(0.72, 0.1 + 0.62 * max(minutes, 0) / 40)
        if rng.random() >= adoption:
            return ""
        return rng.choices(["#InondationRivebelle", "#Tanneurs", "#InondationRivebelle #Tanneurs",
                            "#Tanneurs #InondationRivebelle", "#inondationrivebelle"], [45, 12, 25, 10, 8])[0]
    if rng.random() < 0.12:
        return rng.choice(["#Rivebelle", "#MairieDeRivebelle", "#rivebelle"])
    return ""


def ensure_found(text: str, kind: str, rng: random.Random) -> str:
    """Mastodon and Bluesky posts are only collected when they name Rivebelle or carry its hashtag."""
    if RIVEBELLE_WORD.search(text):
        return text
    if rng.random() < 0.2:
        return rng.choice(["Rivebelle : ", "#Rivebelle "]) + text
    tags = ["#Rivebelle", "#Rivebelle", "#rivebelle"] + (["#MairieDeRivebelle"] if kind in ("base", "l12") else [])
    return text + " " + rng.choice(tags)


def matched_for(text: str, platform: str) -> list[str]:
    tags = [t.lower() for t in HASHTAG.findall(text)]
    word = any(not m.group(0).startswith("#") for m in RIVEBELLE_WORD.finditer(text))
    if platform == "mastodon":
        found = []
        if "rivebelle" in tags:
            found.append("Rivebelle")
        if "mairiederivebelle" in tags:
            found.append("MairieDeRivebelle")
        if word and "Rivebelle" not in found:
            found.append("Rivebelle")
        return found
    if platform == "bluesky":
        return ["#rivebelle", "Rivebelle"] if "rivebelle" in tags else ["Rivebelle"]
    if platform == "reddit":
        return ["r/rivebelle", "Rivebelle"] if word else ["r/rivebelle"]
    return ["Rivebelle"]


# ----------------------------------------------------------------------------------------- rates


def paris_hour(moment: datetime) -> float:
    local = moment + timedelta(hours=PARIS_OFFSET_HOURS)
    return local.hour + local.minute / 60


def baseline_rate(moment: datetime) -> float:
    """Mentions per hour of everyday chatter, interpolated between hour centres."""
    x = paris_hour(moment) - 0.5
    low = math.floor(x)
    frac = x - low
    weight = HOURLY_WEIGHT[low % 24] * (1 - frac) + HOURLY_WEIGHT[(low + 1) % 24] * frac
    return BASE_PER_HOUR * weight


def line12_rate(moment: datetime) -> float:
    t = (moment - LINE12_START).total_seconds() / 3600
    if t < 5 / 60:  # nobody talks about it before the press article of 12:04Z
        return 0.0
    if t < 0.5:
        return 12.0
    if t < 2:
        return 20 + 160 * (t - 0.5) / 1.5
    if t < 2.6:  # the opposition's thread at 14:08Z
        return 180 + 110 * math.exp(-(t - 2.1) * 4) if t >= 2.1 else 180
    if t < 5:
        return 200.0
    if t < 7:
        return 260.0
    if t < 8:
        return 260 - 140 * (t - 7)
    return 120 * math.exp(-(t - 8) / 2.6) + 2


def flood_rate(moment: datetime) -> float:
    t = (moment - FLOOD_START).total_seconds() / 60
    if t < 0:
        return 0.0
    if t < 30:
        return 20 + 1080 * (t / 30) ** 2
    if t < 140:
        return 1100.0
    return 1100 - 350 * (t - 140) / 120


def poisson(lam: float, rng: random.Random) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# ----------------------------------------------------------------------------------------- records


@dataclass
class Item:
    created: datetime
    source: str
    kind: str  # base | l12 | flood | trap | press | scripted
    text: str
    lang: str | None
    author: Author | None = None
    paper: str = ""
    url_hint: str = ""
    boost: float = 1.0
    photo: bool = False
    fields: dict[str, Any] = field(default_factory=dict)


class Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.authors = Authors(rng)
        self.reddit_post = int("1gvk000", 36)
        self.reddit_comment = int("lx2a000", 36)
        self.threads: dict[str, tuple[str, str]] = {}  # topic -> (post id, slug)
        self.article_no = 48_210

    # ---- social posts
    def social(self, created: datetime, kind: str, bank: str, topic: str, platform: str | None = None,
               author: Author | None = None, text: str | None = None, lang: str = "fr", boost: float = 1.0) -> Item:
        rng = self.rng
        if platform is None:
            platform = rng.choices(["mastodon", "bluesky", "reddit"], [42, 44, 14])[0]
        if author is None:
            author = self.authors.pick(platform)
        photo = False
        if text is None:
            mood, templates = BANKS[bank]
            text = fill(rng.choice(templates), rng)
            photo = text.startswith("📸") or (kind == "flood" and rng.random() < 0.15)
            if platform != "reddit":
                text = stylize(text, mood, rng)
                tags = hashtags_for(kind, created, rng)
                if tags:
                    text = f"{text} {tags}"
        if platform != "reddit" and topic != "scripted":
            text = ensure_found(text, kind, rng)
        item = Item(created, platform, kind, text, lang, author=author, boost=boost, photo=photo)
        item.fields["topic"] = topic
        return item

    def record(self, item: Item) -> dict[str, Any]:
        rng = self.rng
        created = item.created
        author = item.author
        base = {"source": item.source}
        if item.source == "rss":
            name, site, feed = PAPERS[item.paper]
            self.article_no += rng.randint(3, 40)
            slug = ascii_slug(item.text.split("\n")[0], "-")[:70].rstrip("-")
            url = (f"{site}/{item.url_hint}/{slug}_{self.article_no}" if item.paper == "courrier"
                   else f"{site}/{created:%Y/%m/%d}/{slug}/")
            delay = rng.randint(60, 600)
            return {**base, "external_id": url, "url": url, "author_handle": None, "author_name": name,
                    "author_followers": None, "text": item.text, "lang": "fr", "created_at": iso(created),
                    "collected_at": iso(created + timedelta(seconds=delay)), "likes": 0, "reposts": 0, "replies": 0,
                    "matched": ["Rivebelle"], "raw": {"feed": feed}}
        assert author is not None
        likes, reposts, replies = self.engagement(author, item)
        if item.source == "mastodon":
            status = mastodon_id(created, rng)
            url = f"https://{author.instance}/@{author.user}/{status}"
            raw: dict[str, Any] = {"visibility": "public"}
            if item.photo:
                raw["media_attachments"] = 1
            out = {"external_id": status, "url": url}
            delay = rng.randint(4, 90)
        elif item.source == "bluesky":
            rkey = tid(created, rng)
            out = {"external_id": f"at://{author.did}/app.bsky.feed.post/{rkey}",
                   "url": f"https://bsky.app/profile/{author.user}/post/{rkey}"}
            raw = {"langs": [item.lang]} if item.lang else {}
            if item.photo:
                raw["embed"] = "images"
            delay = rng.randint(3, 60)
        else:
            topic = item.fields.get("topic", "mairie")
            thread = self.threads.get(topic)
            if thread is None or rng.random() < 0.14:
                self.reddit_post += rng.randint(40, 900)
                post_id = base36(self.reddit_post)
                title = rng.choice(REDDIT_TITLES.get(topic, REDDIT_TITLES["mairie"]))
                slug = ascii_slug(title, "_")[:50].rstrip("_")
                self.threads[topic] = (post_id, slug)
                text = f"{title}\n\n{item.text}"
                out = {"external_id": f"t3_{post_id}",
                       "url": f"https://www.reddit.com/r/rivebelle/comments/{post_id}/{slug}/"}
                raw = {"subreddit": "rivebelle", "kind": "t3"}
            else:
                post_id, slug = thread
                self.reddit_comment += rng.randint(50, 3000)
                comment = base36(self.reddit_comment)
                text = item.text
                out = {"external_id": f"t1_{comment}",
                       "url": f"https://www.reddit.com/r/rivebelle/comments/{post_id}/{slug}/{comment}/"}
                raw = {"subreddit": "rivebelle", "kind": "t1", "link_id": f"t3_{post_id}"}
                replies = rng.choice([0, 0, 0, 1, 1, 2])
            item.text = text
            delay = rng.randint(30, 300)
            return {**base, **out, "author_handle": author.handle, "author_name": None, "author_followers": None,
                    "text": text, "lang": None, "created_at": iso(created),
                    "collected_at": iso(created + timedelta(seconds=delay)), "likes": likes, "reposts": 0,
                    "replies": replies, "matched": matched_for(text, "reddit"), "raw": raw}
        return {**base, **out, "author_handle": author.handle, "author_name": author.name,
                "author_followers": author.followers, "text": item.text, "lang": item.lang,
                "created_at": iso(created), "collected_at": iso(created + timedelta(seconds=delay)),
                "likes": likes, "reposts": reposts, "replies": replies,
                "matched": matched_for(item.text, item.source), "raw": raw}

    def engagement(self, author: Author, item: Item) -> tuple[int, int, int]:
        rng = self.rng
        story = {"flood": 2.5, "l12": 1.8}.get(item.kind, 1.0)
        spread = 0.5 if item.fields.get("scripted") else 0.9
        expected = (0.6 + 0.012 * author.followers ** 0.9) * story * item.boost
        likes = int(expected * rng.lognormvariate(0, spread))
        reposts = int(likes * rng.uniform(0.05, 0.4) * (1.6 if item.photo else 1))
        replies = int(likes * rng.uniform(0.03, 0.25)) + (1 if rng.random() < 0.25 else 0)
        return likes, reposts, replies


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# ----------------------------------------------------------------------------------------- the story

PRESS: list[tuple[str, str, str, str, str]] = [
    # (created_at, paper, section, title, summary)
    ("2026-11-16T23:32:00Z", "courrier", "culture", "Marché de Noël : 60 chalets attendus place du Marché dès samedi",
     "La 22e édition du marché de Noël de Rivebelle ouvrira samedi 21 novembre, avec une patinoire et un feu "
     "d'artifice le soir de l'inauguration."),
    ("2026-11-17T05:34:00Z", "infos", "", "Travaux rue de la République : la circulation alternée prolongée jusqu'au 12 décembre",
     "Les commerçants du centre-ville de Rivebelle s'inquiètent d'un chantier qui s'éternise à l'approche des fêtes."),
    ("2026-11-17T06:48:00Z", "courrier", "transports", "Trafic : perturbations sur le tram B ce mardi matin",
     "Un incident technique à la station Saint-Roch ralentit le tram B. Retour à la normale attendu vers 9 h."),
    ("2026-11-17T08:12:00Z", "infos", "", "Cantines : la cuisine centrale de Rivebelle passe à 60 % de produits locaux",
     "La Ville annonce des menus plus locaux et un repas végétarien supplémentaire par semaine à partir de janvier."),
    ("2026-11-17T09:22:00Z", "courrier", "education", "Collège Jean-Moulin : un exercice d'évacuation grandeur nature ce matin",
     "600 élèves et personnels ont participé à l'exercice d'évacuation annuel, en présence des pompiers. Aucun incident."),
    ("2026-11-17T10:41:00Z", "courrier", "societe", "Il y a 31 ans, l'inondation de 1995 : la commémoration réunit les habitants des Tanneurs",
     "Une centaine de Rivebellois se sont recueillis devant le monument du quai des Tanneurs pour la commémoration "
     "de l'inondation de 1995."),
    ("2026-11-17T11:16:00Z", "infos", "", "Médiathèque Louise-Michel : ouverture le dimanche dès décembre",
     "La médiathèque de Rivebelle ouvrira le dimanche de 14 h à 18 h, une demande ancienne des usagers."),
    ("2026-11-17T12:04:00Z", "courrier", "transports", "Transports : la ligne 12 supprimée au 2 janvier, colère dans les quartiers nord",
     "La Ville de Rivebelle confirme la fin de la ligne de bus 12, remplacée par un transport à la demande. Usagers et "
     "opposition dénoncent une décision prise sans concertation ; la maire Claire Marchand invoque le budget."),
    ("2026-11-17T13:31:00Z", "infos", "", "Propreté : la collecte des encombrants passe sur rendez-vous",
     "À Rivebelle, les encombrants ne seront plus ramassés à date fixe mais sur rendez-vous en ligne ou par téléphone."),
    ("2026-11-17T15:20:00Z", "infos", "", "Ligne 12 : une pétition dépasse les 2 000 signatures en trois heures",
     "Lancée par des usagers des Hauts-de-Rivebelle, la pétition demande le maintien de la ligne 12 et la démission "
     "de l'adjoint aux transports Karim Benali."),
    ("2026-11-17T16:45:00Z", "courrier", "transports", "Ligne 12 : « Nous assumons », répond Karim Benali, adjoint aux transports",
     "L'adjoint aux transports de Rivebelle défend une ligne « qui coûte 1,4 million d'euros par an pour des bus à "
     "moitié vides » et promet une réunion publique le 26 novembre."),
    ("2026-11-17T18:11:00Z", "infos", "", "Marché de Noël : un feu d'artifice pour l'ouverture samedi à 19 h",
     "Le feu d'artifice sera tiré depuis le Pont-Neuf. La circulation sera coupée sur les quais de 18 h à 20 h."),
    ("2026-11-17T19:42:00Z", "courrier", "politique", "Ligne 12 : l'opposition demande un vote au conseil municipal de jeudi",
     "Julien Ferrand, chef de file de l'opposition municipale, réclame le retrait de la décision et accuse la majorité "
     "de Claire Marchand d'avoir « menti aux usagers »."),
    ("2026-11-17T21:28:00Z", "infos", "", "Météo : fortes pluies attendues cette nuit sur Rivebelle",
     "Météo-France prévoit jusqu'à 60 mm de pluie d'ici mercredi matin. La Rivette est surveillée."),
    ("2026-11-18T05:52:00Z", "courrier", "sports", "Basket : le RBC Rivebelle s'impose face à Pau",
     "Victoire 84-79 des Rivebellois, portés par un public record à la salle Gambetta."),
    ("2026-11-18T06:21:00Z", "infos", "", "Fortes pluies : la Rivette sous surveillance à Rivebelle",
     "Le niveau de la Rivette a monté de 80 cm dans la nuit. Les services de la Ville sont en alerte."),
    ("2026-11-18T07:06:00Z", "infos", "", "EN DIRECT – Inondation éclair dans le quartier des Tanneurs à Rivebelle : évacuations en cours",
     "La Rivette est sortie de son lit vers 7 h 40. Rues inondées, caves sous l'eau : les pompiers évacuent les "
     "rez-de-chaussée du quai des Tanneurs."),
    ("2026-11-18T07:37:00Z", "courrier", "faits-divers", "Inondation aux Tanneurs : rues inondées, caves sous l'eau, les pompiers mobilisés",
     "Une quarantaine de pompiers sont engagés à Rivebelle. La mairie ouvre le gymnase Jean-Jaurès pour accueillir "
     "les personnes évacuées."),
    ("2026-11-18T08:21:00Z", "infos", "", "Inondation à Rivebelle : coupure d'électricité pour 2 300 foyers, un gymnase ouvert aux sinistrés",
     "Enedis a coupé le courant par sécurité dans le quartier des Tanneurs. Le tram A ne circule plus entre Pont-Neuf "
     "et Les Tanneurs."),
    ("2026-11-18T09:06:00Z", "courrier", "faits-divers", "Inondation : la maire Claire Marchand sur place, une cellule de crise activée",
     "« La priorité est la mise à l'abri des habitants », a déclaré la maire de Rivebelle, qui annonce une demande de "
     "reconnaissance de l'état de catastrophe naturelle."),
    ("2026-11-18T09:51:00Z", "infos", "", "Tanneurs : les écoles fermées, le tram A coupé jusqu'à nouvel ordre",
     "Les élèves des écoles des Tanneurs sont accueillis à l'école Pasteur. La mairie demande d'éviter le secteur."),
    ("2026-11-18T10:33:00Z", "courrier", "faits-divers", "Inondation des Tanneurs : la décrue s'amorce, les habitants face aux dégâts",
     "140 personnes ont été accueillies au gymnase Jean-Jaurès. Aucune victime n'est à déplorer à Rivebelle."),
    ("2026-11-18T10:52:00Z", "infos", "", "Après l'inondation, un appel aux bénévoles pour nettoyer les Tanneurs",
     "La Ville de Rivebelle et les associations du quartier organisent le nettoyage à partir de jeudi."),
]

SCRIPTED: list[tuple[str, str, str, float]] = [
    # (created_at, special author, text, engagement boost)
    ("2026-11-17T12:11:00Z", "journalist",
     "Info Courrier : la ligne 12 sera supprimée le 2 janvier. Usagers des Hauts-de-Rivebelle et opposition "
     "dénoncent une décision sans concertation. Notre article 👇 #Ligne12", 1.5),
    ("2026-11-17T14:08:10Z", "opposition",
     "🧵 Suppression de la ligne 12 : ce que la majorité de Claire Marchand ne vous dit pas. 1/5 #Ligne12 #Rivebelle", 4.0),
    ("2026-11-17T14:09:02Z", "opposition",
     "La 12 dessert l'hôpital, 2 collèges et les Hauts-de-Rivebelle. 1 200 voyageurs par jour selon les propres "
     "chiffres de la mairie. 2/5 #Ligne12", 3.0),
    ("2026-11-17T14:10:15Z", "opposition",
     "En juin, Karim Benali promettait en réunion publique qu'aucune ligne ne serait supprimée. Mensonge ou "
     "incompétence ? Les deux, visiblement. 3/5 #Ligne12", 3.5),
    ("2026-11-17T14:11:31Z", "opposition",
     "Le « transport à la demande » proposé en remplacement : réservation 24 h à l'avance, rien le dimanche, rien "
     "après 19 h. Une honte pour les plus fragiles. 4/5 #Ligne12", 3.0),
    ("2026-11-17T14:12:48Z", "opposition",
     "Nous demanderons le retrait de cette décision au conseil municipal de jeudi. Claire Marchand doit s'expliquer. "
     "Signez la pétition 👇 5/5 #SauvonsLa12 #Rivebelle", 3.0),
    ("2026-11-17T13:02:00Z", "influencer",
     "Les chalets du marché de Noël arrivent place du Marché 🎄✨ Rivebelle en mode fêtes, vous y allez quand ?", 1.0),
    ("2026-11-17T16:52:00Z", "journalist",
     "J'ai interrogé Karim Benali sur la ligne 12. Il assume : « 1,4 M€ par an pour des bus à moitié vides ». "
     "Réunion publique le 26/11. L'interview 👉 #Ligne12 #Rivebelle", 1.5),
    ("2026-11-17T17:31:00Z", "official",
     "Ligne 12 : la Ville entend l'inquiétude des usagers. Un transport à la demande desservira tous les arrêts dès "
     "le 2 janvier. Réunion publique le 26 novembre à 18 h 30, salle des fêtes. #Rivebelle", 1.0),
    ("2026-11-17T18:05:00Z", "actu",
     "Ligne 12 : la pétition dépasse 3 000 signatures, rassemblement jeudi 18 h devant la mairie de Rivebelle #Ligne12", 1.2),
    ("2026-11-18T06:52:00Z", "actu",
     "⚠️ Rivebelle : la Rivette déborde dans le quartier des Tanneurs, plusieurs rues inondées. Évitez le secteur.", 2.0),
    ("2026-11-18T07:02:00Z", "journalist",
     "Je suis aux Tanneurs : l'eau monte très vite, rue inondée jusqu'au genou, les pompiers commencent l'évacuation "
     "des rez-de-chaussée. #InondationRivebelle", 2.5),
    ("2026-11-18T07:16:00Z", "official",
     "🔴 Inondation quartier des Tanneurs : évitez le secteur et laissez passer les secours. Ne descendez pas dans les "
     "caves. Gymnase Jean-Jaurès ouvert pour l'accueil des personnes évacuées. #InondationRivebelle #Rivebelle", 3.0),
    ("2026-11-18T07:26:00Z", "journalist",
     "Tanneurs : coupure d'électricité dans tout le quartier, évacuation en cours quai des Tanneurs avec des barques. "
     "Pas de blessé signalé à cette heure. #InondationRivebelle", 2.0),
    ("2026-11-18T07:41:00Z", "influencer",
     "📸 Ma rue ce matin aux Tanneurs. Je n'ai jamais vu ça. Prenez soin de vous 🙏 #InondationRivebelle #Rivebelle", 3.0),
    ("2026-11-18T07:52:00Z", "official",
     "Écoles maternelle et élémentaire des Tanneurs fermées ce matin. Les enfants déjà présents sont accueillis à "
     "l'école Pasteur. Information : 0 800 000 000. #InondationRivebelle #Rivebelle", 2.5),
    ("2026-11-18T08:06:00Z", "journalist",
     "Selon la préfecture, 120 personnes évacuées aux Tanneurs. La maire Claire Marchand est attendue sur place. "
     "#InondationRivebelle", 1.8),
    ("2026-11-18T08:41:00Z", "opposition",
     "Solidarité totale avec les habitants des Tanneurs. Les questions viendront après, mais elles viendront : la "
     "Rivette n'a pas été curée depuis 2021. #InondationRivebelle #Rivebelle", 2.0),
    ("2026-11-18T08:47:00Z", "official",
     "Point de situation 9 h 45 : 140 personnes accueillies au gymnase Jean-Jaurès, aucune victime. Cellule de crise "
     "activée en mairie. Tram A interrompu entre Pont-Neuf et Les Tanneurs. #InondationRivebelle #Rivebelle", 2.5),
    ("2026-11-18T09:12:00Z", "journalist",
     "Claire Marchand aux Tanneurs : « priorité à la mise à l'abri », demande de catastrophe naturelle annoncée. "
     "#InondationRivebelle", 1.8),
    ("2026-11-18T09:33:00Z", "official",
     "Électricité : Enedis rétablit le courant rue par rue aux Tanneurs. Restez hors des caves inondées tant que les "
     "pompiers ne sont pas passés. #InondationRivebelle #Rivebelle", 2.0),
    ("2026-11-18T10:18:00Z", "official",
     "Point de situation 11 h 15 : la décrue s'amorce aux Tanneurs. Nettoyage organisé à partir de jeudi, inscriptions "
     "des bénévoles sur rivebelle.example. #InondationRivebelle #Rivebelle", 2.0),
    ("2026-11-18T10:24:00Z", "journalist",
     "La décrue commence aux Tanneurs. Les habitants découvrent les dégâts : caves inondées, boue partout. "
     "#InondationRivebelle", 1.8),
]

# (window start, window end, bank, how many): the traps, spread over both days.
TRAPS: list[tuple[str, str, str, int]] = [
    ("2026-11-16T23:05:00Z", "2026-11-17T01:30:00Z", "trap_concert", 7),
    ("2026-11-17T09:00:00Z", "2026-11-17T11:00:00Z", "trap_exercice", 8),
    ("2026-11-17T09:50:00Z", "2026-11-17T12:30:00Z", "trap_1995", 9),
    ("2026-11-17T15:00:00Z", "2026-11-17T17:00:00Z", "trap_inonde", 4),
    ("2026-11-17T18:00:00Z", "2026-11-17T21:30:00Z", "trap_feu", 7),
    ("2026-11-17T19:20:00Z", "2026-11-17T20:10:00Z", "trap_barbecue", 5),
    ("2026-11-17T21:00:00Z", "2026-11-18T00:30:00Z", "trap_sijamais", 5),
    ("2026-11-18T00:00:00Z", "2026-11-18T06:20:00Z", "trap_inonde", 3),
    ("2026-11-18T04:30:00Z", "2026-11-18T06:30:00Z", "trap_feu", 3),
    ("2026-11-18T08:30:00Z", "2026-11-18T10:50:00Z", "trap_feu", 3),
]


def pick_base_bank(moment: datetime, rng: random.Random) -> tuple[str, str]:
    weights = []
    for _topic, bank, weight in BASE_TOPICS:
        if bank == "meteo" and moment >= at("2026-11-17T18:00:00Z"):
            weight *= 4  # the rain that will flood the Tanneurs
        weights.append(weight)
    topic, bank, _ = rng.choices(BASE_TOPICS, weights)[0]
    return topic, bank


def pick_flood_bank(moment: datetime, rng: random.Random) -> str:
    t = (moment - FLOOD_START).total_seconds() / 60
    if t < 20:
        return rng.choices(["flood_early", "flood_peak", "flood_question"], [60, 30, 10])[0]
    late = 0 if t < 150 else 35
    return rng.choices(["flood_peak", "flood_question", "flood_anger", "flood_official_quote", "flood_help",
                        "flood_early", "flood_late"], [48, 14, 7, 10, 8, 5, late])[0]


def build_items(builder: Builder) -> list[Item]:
    rng = builder.rng
    items: list[Item] = []
    minutes = int((END - START).total_seconds() // 60)
    for minute in range(minutes):
        moment = START + timedelta(minutes=minute)
        mid = moment + timedelta(seconds=30)
        for kind, rate in (("base", baseline_rate(mid)), ("l12", line12_rate(mid)), ("flood", flood_rate(mid))):
            for _ in range(poisson(rate / 60, rng)):
                created = moment + timedelta(seconds=rng.randrange(60))
                if rng.random() < 0.03:
                    lang, text = rng.choice(FOREIGN[kind])
                    topic = {"base": "mairie", "l12": "l12", "flood": "flood"}[kind]
                    platform = rng.choices(["mastodon", "bluesky", "reddit"], [45, 45, 10])[0]
                    item = builder.social(created, kind, "", topic, platform=platform, text=text, lang=lang)
                elif kind == "base":
                    topic, bank = pick_base_bank(created, rng)
                    item = builder.social(created, kind, bank, topic)
                elif kind == "l12":
                    bank = rng.choices([b for b, _ in L12_TOPICS], [w for _, w in L12_TOPICS])[0]
                    item = builder.social(created, kind, bank, "l12")
                else:
                    item = builder.social(created, kind, pick_flood_bank(created, rng), "flood")
                items.append(item)
    for start, end, bank, count in TRAPS:
        low, high = at(start), at(end)
        span = int((high - low).total_seconds())
        for _ in range(count):
            created = low + timedelta(seconds=rng.randrange(span))
            items.append(builder.social(created, "trap", bank, "trap"))
    for created, paper, section, title, summary in PRESS:
        item = Item(at(created), "rss", "press", f"{title}\n\n{summary}", "fr", paper=paper, url_hint=section)
        items.append(item)
    for created, who, text, boost in SCRIPTED:
        author = builder.authors.special[who]
        kind = "flood" if created >= "2026-11-18T06:40:00Z" else ("l12" if "12" in text else "base")
        if not RIVEBELLE_WORD.search(text):
            text += " #Rivebelle"
        item = builder.social(at(created), kind, "", "scripted", platform=author.platform, author=author,
                              text=text, boost=boost)
        item.fields["scripted"] = True
        items.append(item)
    items.sort(key=lambda item: item.created)
    return items


def build_lines(rng: random.Random) -> list[str]:
    builder = Builder(rng)
    items = build_items(builder)
    keyed: list[tuple[float, int, str]] = []
    records = []
    for index, item in enumerate(items):
        record = builder.record(item)
        records.append(record)
        key = item.created.timestamp()
        if rng.random() < 0.012:  # a collector that delivers a little late: slightly out of order
            key += rng.randint(20, 240)
        keyed.append((key, index, dumps(record)))
    # Re-fetched items: the same (source, external_id) seen again a few minutes later, counts updated.
    social = [i for i, r in enumerate(records) if r["source"] in ("mastodon", "bluesky")]
    for pick in sorted(rng.sample(social, 10)) + sorted(rng.sample(
            [i for i, r in enumerate(records) if r["source"] == "rss"], 2)):
        again = dict(records[pick])
        later = rng.randint(120, 900)
        again["collected_at"] = iso(at(again["collected_at"]) + timedelta(seconds=later))
        again["likes"] += rng.randint(0, 15) if again["source"] != "rss" else 0
        keyed.append((items[pick].created.timestamp() + later, len(keyed), dumps(again)))
    keyed.sort()
    lines = [line for _, _, line in keyed]
    # Three malformed lines the replay must reject while keeping the rest.
    truncated = lines[1800][: len(lines[1800]) // 2]
    lines.insert(1801, truncated)  # a collector killed while writing: invalid JSON
    for position, problem in ((4200, "missing"), (6900, "empty")):
        neighbour = json.loads(lines[position])
        fresh = builder.social(at(neighbour["created_at"]), "base", "mairie", "mairie", platform="mastodon")
        broken = builder.record(fresh)
        if problem == "missing":
            del broken["text"]  # a post whose text the collector lost
        else:
            broken["text"] = ""  # an image-only post: empty text
        lines.insert(position + 1, dumps(broken))
    return lines


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


# ----------------------------------------------------------------------------------------- posts.json

POSTS: list[dict[str, str]] = [
    {"text": "🍽️ Cette semaine dans les cantines de Rivebelle : 60 % de produits locaux et un deuxième repas "
             "végétarien dès janvier. Menus sur rivebelle.example/cantine #Rivebelle",
     "channel": "mastodon", "category": "information", "scheduled_at": "2026-11-17T10:00:00Z",
     "author": "Émilie Roussel"},
    {"text": "📚 Rencontre avec l'illustratrice Anna Lefort samedi à 15 h à la médiathèque Louise-Michel, entrée "
             "libre. Atelier dessin pour les 6-10 ans ! #Rivebelle",
     "channel": "bluesky", "category": "evenement", "scheduled_at": "2026-11-17T16:00:00Z",
     "author": "Émilie Roussel"},
    {"text": "🚧 Travaux rue de la République : la circulation alternée est prolongée jusqu'au 12 décembre. "
             "Plan des déviations sur rivebelle.example/travaux",
     "channel": "mastodon", "category": "service", "scheduled_at": "2026-11-17T18:30:00Z",
     "author": "Thomas Girard"},
    {"text": "🎄 J-3 ! Le marché de Noël de Rivebelle ouvre samedi place du Marché : 60 chalets, patinoire, vin chaud "
             "et feu d'artifice à 19 h. Venez nombreux ! #MarchéDeNoël #Rivebelle",
     "channel": "mastodon", "category": "promotion", "scheduled_at": "2026-11-18T09:00:00Z",
     "author": "Émilie Roussel"},
    {"text": "🎄 J-3 avant le marché de Noël ! Patinoire, 60 chalets et chocolat chaud : on vous attend samedi "
             "place du Marché ✨ #Rivebelle",
     "channel": "bluesky", "category": "promotion", "scheduled_at": "2026-11-18T09:00:00Z",
     "author": "Émilie Roussel"},
    {"text": "🪪 Passeports et cartes d'identité : 200 nouveaux créneaux de rendez-vous ouverts en décembre à la "
             "mairie. Réservez sur rivebelle.example/rdv",
     "channel": "mastodon", "category": "service", "scheduled_at": "2026-11-18T10:00:00Z",
     "author": "Thomas Girard"},
    {"text": "Quand tu réalises que le marché de Noël ouvre dans 3 jours et que t'as toujours pas sorti ton pull "
             "moche 🎅😅 #Rivebelle",
     "channel": "bluesky", "category": "humour", "scheduled_at": "2026-11-18T10:30:00Z",
     "author": "Émilie Roussel"},
]


def posts_json() -> str:
    return json.dumps(POSTS, ensure_ascii=False, indent=2) + "\n"


# ----------------------------------------------------------------------------------------- entry points


def generate(out_dir: Path | str) -> dict[str, Any]:
    """Write rivebelle.jsonl and posts.json into `out_dir`; return a summary of what was written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    lines = build_lines(rng)
    data_path = out / DATA_FILE
    data_path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    (out / POSTS_FILE).write_bytes(posts_json().encode("utf-8"))
    return summarize(data_path)


def summarize(path: Path) -> dict[str, Any]:
    per_source: Counter[str] = Counter()
    per_hour: Counter[str] = Counter()
    bad = 0
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if not record.get("text"):
            bad += 1
            continue
        key = (record["source"], record["external_id"])
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        per_source[record["source"]] += 1
        per_hour[record["created_at"][:13]] += 1
    return {"lines": sum(per_source.values()) + duplicates + bad, "unique": sum(per_source.values()),
            "duplicates": duplicates, "malformed": bad, "per_source": dict(sorted(per_source.items())),
            "per_hour": dict(sorted(per_hour.items())), "bytes": path.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else HERE
    summary = generate(out)
    print(f"{out / DATA_FILE}: {summary['lines']} lines, {summary['unique']} unique mentions, "
          f"{summary['duplicates']} duplicates, {summary['malformed']} malformed, {summary['bytes']:,} bytes")
    print("per source: " + ", ".join(f"{k} {v}" for k, v in summary["per_source"].items()))
    for hour, count in summary["per_hour"].items():
        print(f"  {hour}:00Z {count:5d} {'█' * (count // 20)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
