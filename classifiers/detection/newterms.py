"""New-term detector: a hashtag or phrase never (or rarely) seen before that suddenly gathers mentions
from several authors.

Why: a new hashtag (#effondrementpontneuf) is often the first trace of an incident, before any volume
counter moves. Requiring several distinct authors keeps one account's repetition out; requiring the
term to be rare before the window keeps everyday vocabulary out. Pure state machine, no I/O.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from classifiers.detection.settings import NewTermSettings

_PRUNE_EVERY = 720  # minutes between two clean-ups of one-off terms


@dataclass
class TermEvent:
    key: str  # "hashtag:<folded>" or "term:<folded phrase>"
    episode: str  # start | update | end
    minute: int
    started: int
    mentions: int
    authors: int
    sample_ids: list[int]


@dataclass
class _Window:
    hits: deque = field(default_factory=deque)  # (minute, mention id, author)
    active: bool = False
    started: int = 0
    reported: int = 0
    ids: set[int] = field(default_factory=set)


def term_key(term: str) -> str:
    return f"hashtag:{term[1:]}" if term.startswith("#") else f"term:{term}"


class NewTermDetector:
    """Feed it (minute, mention id, author, terms) as mentions arrive; `evaluate(minute)` each minute."""

    def __init__(self, settings: NewTermSettings | None = None) -> None:
        self.settings = settings or NewTermSettings()
        self.history: dict[str, int] = {}  # term -> mentions seen before its current window
        self.last_seen: dict[str, int] = {}
        self.windows: dict[str, _Window] = {}
        self.word_history: dict[str, int] = {}  # word -> mentions before the window (phrases need a new word)
        # Words inside the window, as runs of one minute in arrival order: [minute, Counter of words]
        # (one tuple per word and mention was ~50 MB a minute at 1,000 mentions/s).
        self.word_window: deque[tuple[int, Counter[str]]] = deque()
        self.phrase_starts: deque = deque()  # minutes phrase episodes started (budget per window)
        self.first_minute: int | None = None
        self.last_prune = 0

    def tracked(self, term: str) -> bool:
        return term.startswith("#") or (self.settings.phrases and " " in term)

    def observe(self, minute: int, mention_id: int, author: str | None, terms: Iterable[str]) -> None:
        if self.first_minute is None or minute < self.first_minute:
            self.first_minute = minute
        run: Counter[str] | None = None
        for term in terms:
            if not self.tracked(term):
                if " " not in term and not term.startswith("#"):
                    if run is None:
                        run = self._word_run(minute)
                    run[term] += 1
                continue
            window = self.windows.get(term)
            if window is None:
                window = self.windows[term] = _Window()
            window.hits.append((minute, mention_id, author or f"#{mention_id}"))
            self.last_seen[term] = max(minute, self.last_seen.get(term, minute))

    def _word_run(self, minute: int) -> Counter[str]:
        """The run words of `minute` go to: the last one if it is that minute's, else a new one (a run is
        only opened for a word, so the window drains exactly as one entry per word would)."""
        words = self.word_window
        if not words or words[-1][0] != minute:
            words.append((minute, Counter()))
        return words[-1][1]

    def seed(self, minute: int, terms: Iterable[str]) -> None:
        """History only (mentions older than the window, e.g. read from the store at start-up)."""
        if self.first_minute is None or minute < self.first_minute:
            self.first_minute = minute
        for term in terms:
            if self.tracked(term):
                self.history[term] = self.history.get(term, 0) + 1
                self.last_seen[term] = max(minute, self.last_seen.get(term, minute))
            elif " " not in term:
                self.word_history[term] = self.word_history.get(term, 0) + 1

    def evaluate(self, minute: int) -> list[TermEvent]:
        s = self.settings
        horizon = minute - s.window_minutes
        warm = self.first_minute is not None and minute - self.first_minute >= s.warmup_minutes
        events: list[TermEvent] = []
        candidates: list[tuple[str, _Window, int, int]] = []
        for term, window in list(self.windows.items()):
            hits = window.hits
            while hits and hits[0][0] <= horizon:
                hits.popleft()
                if not window.active:
                    self.history[term] = self.history.get(term, 0) + 1
            count = len(hits)
            if window.active:
                window.ids.update(hit[1] for hit in hits)
                if count == 0:
                    window.active = False
                    events.append(TermEvent(term_key(term), "end", minute, window.started, 0, 0, []))
                    self.history[term] = self.history.get(term, 0) + window.reported
                elif count >= 2 * window.reported:
                    window.reported = count
                    events.append(self._event(term, window, "update", minute))
                continue
            if count == 0:
                del self.windows[term]
                continue
            if not warm or count < s.min_mentions or self.history.get(term, 0) > s.max_prior_mentions:
                continue
            authors = len({hit[2] for hit in hits})
            scale = 2 if " " in term else 1
            if authors >= scale * s.min_authors and count >= scale * s.min_mentions:
                candidates.append((term, window, count, authors))
        words = self.word_window
        history = self.word_history
        while words and words[0][0] <= horizon:
            for word, n in words.popleft()[1].items():
                history[word] = history.get(word, 0) + n
        # One story, one signal: hashtags first; a phrase needs a word that is itself new, and is skipped
        # when its mentions mostly belong to open terms or its new word already carries an open term.
        candidates.sort(key=lambda item: (not item[0].startswith("#"), -item[2], item[0]))
        open_ids: set[int] = set()
        open_words: set[str] = set()
        for other, window in self.windows.items():
            if window.active:
                open_ids |= window.ids
                open_words.update(self._new_words(other))
        phrases_open = sum(1 for other, w in self.windows.items() if w.active and " " in other)
        phrases_open += sum(1 for start in self.phrase_starts if start > horizon)
        for term, window, count, _authors in candidates:
            if " " in term and phrases_open >= s.max_phrases:
                continue
            ids = {hit[1] for hit in window.hits}
            if len(ids & open_ids) >= 0.5 * len(ids):
                continue
            new_words = self._new_words(term)
            if " " in term and (not new_words or new_words & open_words):
                continue
            window.active, window.started, window.reported, window.ids = True, minute, count, ids
            open_ids |= ids
            open_words |= new_words
            if " " in term:
                phrases_open += 1
                self.phrase_starts.append(minute)
            events.append(self._event(term, window, "start", minute))
        while self.phrase_starts and self.phrase_starts[0] <= horizon:
            self.phrase_starts.popleft()
        if minute - self.last_prune >= _PRUNE_EVERY:
            self._prune(minute)
        return events

    def _new_words(self, term: str) -> set[str]:
        """Words of a phrase (or the tag of a hashtag) that were rare before the window."""
        if term.startswith("#"):
            return {term}
        limit = self.settings.max_prior_mentions
        return {word for word in term.split(" ") if self.word_history.get(word, 0) <= limit}

    def _event(self, term: str, window: _Window, episode: str, minute: int) -> TermEvent:
        hits = window.hits
        window.ids.update(hit[1] for hit in hits)
        sample = [hit[1] for hit in list(hits)[:5]]
        return TermEvent(term_key(term), episode, minute, window.started, len(hits),
                         len({hit[2] for hit in hits}), sample)

    def _prune(self, minute: int) -> None:
        """Forget one-off terms not seen for a week: memory stays bounded on a busy stream."""
        self.last_prune = minute
        stale = [t for t, n in self.history.items() if n <= 1 and minute - self.last_seen.get(t, 0) > 10080]
        for term in stale:
            self.history.pop(term, None)
            self.last_seen.pop(term, None)
