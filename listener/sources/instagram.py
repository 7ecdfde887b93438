"""Instagram collector: the institution's professional account through the Instagram Graph API.

Streams (Graph conventions, see sources/graph.py):
- comments (and their replies) on the account's recent media: `/{ig-user-id}/media` lists them, then
  `/{ig-media-id}/comments?fields=...,replies{...}` for each of the last `watched_media`;
- media that tag the account: `/{ig-user-id}/tags`;
- hashtags: `/ig_hashtag_search?user_id&q` gives a hashtag's id, `/{ig-hashtag-id}/recent_media?user_id`
  its media of the last 24 hours. Instagram allows 30 unique hashtags per rolling 7 days (a hashtag
  counts from its first query; asking again within the week is free). The collector keeps the first-
  query time of every hashtag in its cursor, never asks a 31st, and shows the budget in health
  (`hashtag_budget`: used, limit, the hashtags waiting for room).
Comments carry `username` and `timestamp`; hashtag media carry no author (the API does not give one).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from listener.models import Mention
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.graph import GraphSource, GraphSourceSettings, graph_error, graph_time
from listener.sources.http import ApiVerdict, FetchError, run_streams

MEDIA_FIELDS = "id,caption,timestamp,permalink,username,media_type,like_count,comments_count"
COMMENT_FIELDS = "id,text,timestamp,username,like_count,replies{id,text,timestamp,username,like_count}"
HASHTAG_MEDIA_FIELDS = "id,caption,timestamp,permalink,media_type,like_count,comments_count"
HASHTAG_LIMIT = 30
HASHTAG_WINDOW = 7 * 86400


class InstagramSourceSettings(GraphSourceSettings):
    type: Literal["instagram"] = "instagram"
    # Graph API host and version (tests point it at a fake).
    base_url: str = "https://graph.facebook.com/v23.0"
    # Instagram user id of the institution's professional (business or creator) account.
    ig_user_id: str
    # Comments are read on this many of the account's most recent media.
    watched_media: int = Field(default=20, ge=0)
    # Read media that tag the account (/{ig-user-id}/tags).
    tagged: bool = True
    # Hashtags whose recent media are read (without '#'); at most 30 new ones per 7 days.
    hashtags: list[str] = Field(default_factory=list)
    # Unique hashtags the collector may query per rolling 7 days (Instagram's limit is 30; keep some
    # room if another tool uses the same account).
    hashtag_budget: int = Field(default=HASHTAG_LIMIT, ge=0, le=HASHTAG_LIMIT)


class InstagramSource(GraphSource):
    type = "instagram"
    settings: InstagramSourceSettings

    def __init__(self, settings: InstagramSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.health.extra["hashtag_budget"] = {"used": 0, "limit": settings.hashtag_budget, "window_days": 7,
                                               "waiting": []}

    async def poll(self, sink: MentionSink) -> None:
        user = self.settings.ig_user_id
        streams: list[tuple[str, Any]] = [("comments", lambda: self._comments(sink))]
        if self.settings.tagged:
            streams.append(("tags", lambda: self._edge(sink, "tags", f"/{user}/tags", {"fields": MEDIA_FIELDS},
                                                       "instagram:identification")))
        for tag in self.settings.hashtags:
            tag = tag.lstrip("#").strip().lower()
            streams.append((f"#{tag}", lambda tag=tag: self._hashtag(sink, tag)))
        await run_streams(self, streams)

    # -- comments on the account's media ---------------------------------------------------------

    async def _comments(self, sink: MentionSink) -> None:
        if not self.settings.watched_media:
            return
        media, _ = await self.edge_page(f"/{self.settings.ig_user_id}/media", {"fields": MEDIA_FIELDS}, None)
        watched = [m for m in media if isinstance(m, dict) and isinstance(m.get("id"), str)]
        watched = watched[: self.settings.watched_media]
        ids = {m["id"] for m in watched}
        for key in [k for k in self.cursors if k.startswith("comments:") and k[9:] not in ids]:
            self.cursors.pop(key)
        for item in watched:
            # Comments have no permalink of their own: they link to their media. The account's own
            # answers are not mentions.
            await self._edge(sink, f"comments:{item['id']}", f"/{item['id']}/comments", {"fields": COMMENT_FIELDS},
                             "instagram:commentaire", whole=True, media=item)

    # -- a newest-first edge ---------------------------------------------------------------------

    async def _edge(self, sink: MentionSink, key: str, path: str, params: dict[str, str], label: str,
                    whole: bool = False, media: dict[str, Any] | None = None) -> None:
        async def fetch_page(token: str | None, floor: float | None) -> tuple[list[Any], str | None]:
            return await self.edge_page(path, params, token)

        def item_time(item: Any) -> float | None:
            moment = graph_time(item.get("timestamp")) if isinstance(item, dict) else None
            return moment.timestamp() if moment else None

        def to_mentions(items: list[Any]) -> list[Mention]:
            mentions: list[Mention] = []
            for item in items:
                mention = self._mention(item, label, media)
                if mention is not None:
                    mentions.append(mention)
                replies = item.get("replies") if isinstance(item, dict) else None
                thread = replies.get("data") if isinstance(replies, dict) else None
                for reply in thread if isinstance(thread, list) else []:
                    answer = self._mention(reply, "instagram:réponse", media)
                    if answer is not None:
                        mentions.append(answer)
            return mentions

        await self.page_backwards(sink, key, fetch_page, item_time, to_mentions, self.settings.overlap_seconds,
                                  initial_pages=self.settings.max_pages if whole else None)

    # -- hashtags within the 30-per-7-days budget ----------------------------------------------------

    def _budget(self) -> dict[str, float]:
        """First-query time of each hashtag still counted (rolling 7 days), kept in the cursor."""
        now = self.context.clock.now().timestamp()
        queried = {tag: t for tag, t in (self.cursors.get("hashtags_queried") or {}).items()
                   if now - t < HASHTAG_WINDOW}
        self.cursors["hashtags_queried"] = queried
        return queried

    async def _hashtag(self, sink: MentionSink, tag: str) -> None:
        queried = self._budget()
        ids: dict[str, str] = self.cursors.setdefault("hashtag_ids", {})
        budget = self.health.extra["hashtag_budget"]
        if tag not in queried and len(queried) >= self.settings.hashtag_budget:
            budget.update(used=len(queried), waiting=sorted({*budget["waiting"], tag}))
            self.log.info("%s: #%s waits: %d of %d hashtags queried in the last 7 days", self.name, tag,
                          len(queried), self.settings.hashtag_budget)
            return
        if tag not in ids or tag not in queried:
            data = await self.graph_get("/ig_hashtag_search", {"user_id": self.settings.ig_user_id, "q": tag})
            found = data.get("data")
            if not isinstance(found, list) or not found or not isinstance(found[0], dict) or "id" not in found[0]:
                raise FetchError(f"#{tag}: no hashtag id in the answer", retryable=False)
            ids[tag] = str(found[0]["id"])
            queried.setdefault(tag, self.context.clock.now().timestamp())
            # Stored at once: a hashtag counts from its first query even if nothing follows.
            await self.emit(sink, [])
        budget.update(used=len(queried), waiting=[t for t in budget["waiting"] if t != tag])
        await self._edge(sink, f"hashtag:{tag}", f"/{ids[tag]}/recent_media",
                         {"user_id": self.settings.ig_user_id, "fields": HASHTAG_MEDIA_FIELDS}, f"#{tag}")

    def api_error(self, status: int, body: bytes, headers: Any) -> ApiVerdict | None:
        error = graph_error(body)
        if error.get("code") == 24 or error.get("error_subcode") == 2207051:
            return ApiVerdict("quota", message="30 hashtags per 7 days reached")
        return super().api_error(status, body, headers)

    # -- items -----------------------------------------------------------------------------------

    def _mention(self, item: Any, label: str, media: dict[str, Any] | None = None) -> Mention | None:
        try:
            if media is not None and media.get("username") and item.get("username") == media["username"]:
                return None  # the account answering on its own media
            text = (item.get("text") or item.get("caption") or "").strip()
            if not text:
                return None
            created = graph_time(item.get("timestamp"))
            if created is None:
                self.log.warning("%s: %s skipped: unreadable timestamp %r", self.name, item.get("id"),
                                 item.get("timestamp"))
                self.context.store.reject(self.name, "undated Instagram item", item)
                return None
            username = item.get("username")
            url = item.get("permalink") or (media or {}).get("permalink")
            mention = Mention(
                source=self.name,
                external_id=str(item["id"]),
                text=text,
                created_at=created,
                url=url,
                author_handle=f"@{username}" if username else None,
                likes=_count(item.get("like_count")),
                replies=_count(item.get("comments_count")),
                matched=[label],
            )
            return self.finish(mention, {k: v for k, v in item.items() if k != "replies"})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            self.log.warning("%s: item skipped (%s: %s)", self.name, type(exc).__name__, exc)
            self.context.store.reject(self.name, f"invalid Instagram item: {type(exc).__name__}: {exc}", item)
            return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


EXAMPLE = """
[[sources]]
name = "instagram-ville"
type = "instagram"
enabled = false                    # activer une fois le compte professionnel relié
base_url = "https://graph.facebook.com/v23.0"
ig_user_id = "17841400000000000"   # identifiant du compte Instagram professionnel
token_env = "VIGIE_INSTAGRAM_TOKEN"
watched_media = 20                 # commentaires des 20 dernières publications
hashtags = ["maville"]             # au plus 30 hashtags différents par 7 jours
"""

PLUGIN = SourcePlugin(
    type="instagram",
    description="Instagram : commentaires du compte professionnel, identifications, hashtags (30 par 7 jours).",
    settings=InstagramSourceSettings,
    example=EXAMPLE,
    create=InstagramSource,
)
