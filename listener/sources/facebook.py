"""Facebook collector: the institution's Page through the Graph API (a Page access token).

Streams, each read newest first with the shared backward pager (time floor = the stored high-water
mark minus an overlap, `after` cursors page after page, a stored resume token while a backlog is read):
- `/{page-id}/feed`: posts on the Page; visitors' posts are mentions, the Page's own are kept only with
  `own_posts` but are always watched for comments;
- `/{page-id}/tagged`: public posts that tag or mention the Page;
- `/{post-id}/comments?filter=stream&order=reverse_chronological`: comments and replies (a reply has a
  `parent`) on the Page's posts of the last `comments_days` (at most `watched_posts` of them); the
  Page's own replies are not mentions.
Throttling (codes 4/17/32/613/80001) waits for the announced time; an expired token (code 190) pauses
the source and is shown in health. Webhooks (`feed` field) are optional and not needed: polling is
exact thanks to the cursors.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from listener.models import Mention
from listener.sources.base import MentionSink, SourceContext, SourcePlugin
from listener.sources.graph import GraphSource, GraphSourceSettings, graph_time
from listener.sources.http import run_streams

POST_FIELDS = "id,message,story,created_time,permalink_url,from{id,name}"
COMMENT_FIELDS = "id,message,created_time,permalink_url,from{id,name},parent{id},like_count,comment_count"


class FacebookSourceSettings(GraphSourceSettings):
    type: Literal["facebook"] = "facebook"
    # Graph API host and version (tests point it at a fake).
    base_url: str = "https://graph.facebook.com/v23.0"
    # Numeric id of the institution's Page.
    page_id: str
    # Also store the Page's own posts (they are always read to find their comments).
    own_posts: bool = False
    # Read posts that tag or mention the Page (/{page-id}/tagged).
    tagged: bool = True
    # Comments are read on the Page's posts of the last N days...
    comments_days: float = Field(default=7.0, gt=0)
    # ...and on at most this many of them (the most recent).
    watched_posts: int = Field(default=25, ge=0)


class FacebookSource(GraphSource):
    type = "facebook"
    settings: FacebookSourceSettings

    def __init__(self, settings: FacebookSourceSettings, context: SourceContext) -> None:
        super().__init__(settings, context)

    async def poll(self, sink: MentionSink) -> None:
        page = self.settings.page_id
        streams: list[tuple[str, Any]] = [("feed", lambda: self._edge(sink, "feed", f"/{page}/feed", POST_FIELDS))]
        if self.settings.tagged:
            streams.append(("tagged", lambda: self._edge(sink, "tagged", f"/{page}/tagged", POST_FIELDS)))
        await run_streams(self, streams)
        watched = self._watched()
        await run_streams(self, [(f"comments:{post_id}", lambda post_id=post_id: self._edge(
            sink, f"comments:{post_id}", f"/{post_id}/comments", COMMENT_FIELDS,
            {"filter": "stream", "order": "reverse_chronological"})) for post_id in watched])

    def _watched(self) -> list[str]:
        """The Page's recent posts whose comments are read; older ones (and their cursors) are dropped."""
        watch: dict[str, float] = self.cursors.get("watch") or {}
        floor = self.context.clock.now().timestamp() - self.settings.comments_days * 86400
        keep = sorted((t, post) for post, t in watch.items() if t >= floor)[-self.settings.watched_posts:] \
            if self.settings.watched_posts else []
        kept = {post for _, post in keep}
        for post in set(watch) - kept:
            self.cursors.pop(f"comments:{post}", None)
        self.cursors["watch"] = {post: t for t, post in keep}
        return [post for _, post in reversed(keep)]

    async def _edge(self, sink: MentionSink, key: str, path: str, fields: str,
                    extra: dict[str, str] | None = None) -> None:
        params = {"fields": fields, **(extra or {})}

        async def fetch_page(token: str | None, floor: float | None) -> tuple[list[Any], str | None]:
            query = dict(params)
            if floor is not None and not key.startswith("comments:"):
                query["since"] = str(int(floor))
            return await self.edge_page(path, query, token)

        def item_time(item: Any) -> float | None:
            moment = graph_time(item.get("created_time")) if isinstance(item, dict) else None
            return moment.timestamp() if moment else None

        def to_mentions(items: list[Any]) -> list[Mention]:
            mentions = []
            for item in items:
                if key == "feed":
                    self._watch(item)
                mention = self._mention(item, key)
                if mention is not None:
                    mentions.append(mention)
            return mentions

        await self.page_backwards(sink, key, fetch_page, item_time, to_mentions, self.settings.overlap_seconds,
                                  initial_pages=self.settings.max_pages if key.startswith("comments:") else None)

    def _watch(self, item: Any) -> None:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            moment = graph_time(item.get("created_time"))
            if moment is not None:
                self.cursors.setdefault("watch", {})[item["id"]] = moment.timestamp()

    def _mention(self, item: Any, key: str) -> Mention | None:
        try:
            author = item.get("from") or {}
            own = author.get("id") == self.settings.page_id
            if own and (key.startswith("comments:") or not self.settings.own_posts):
                return None
            text = (item.get("message") or item.get("story") or "").strip()
            if not text:
                return None
            created = graph_time(item.get("created_time"))
            if created is None:
                self.log.warning("%s: %s skipped: unreadable created_time %r", self.name, item.get("id"),
                                 item.get("created_time"))
                self.context.store.reject(self.name, "undated Graph item", item)
                return None
            label = {"feed": "page", "tagged": "identification"}.get(key, "commentaire")
            if key.startswith("comments:") and isinstance(item.get("parent"), dict):
                label = "réponse"
            mention = Mention(
                source=self.name,
                external_id=str(item["id"]),
                text=text,
                created_at=created,
                url=item.get("permalink_url") or f"https://www.facebook.com/{item['id']}",
                author_handle=f"facebook:{author['id']}" if author.get("id") else None,
                author_name=author.get("name") or None,
                likes=_count(item.get("like_count")),
                replies=_count(item.get("comment_count")),
                matched=[f"facebook:{label}"],
            )
            return self.finish(mention, item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.context.metrics.invalid_payloads.labels(source=self.name).inc()
            self.log.warning("%s: item skipped (%s: %s)", self.name, type(exc).__name__, exc)
            self.context.store.reject(self.name, f"invalid Graph item: {type(exc).__name__}: {exc}", item)
            return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


EXAMPLE = """
[[sources]]
name = "facebook-ville"
type = "facebook"
enabled = false                    # activer une fois le jeton de Page en place
base_url = "https://graph.facebook.com/v23.0"
page_id = "123456789012345"        # identifiant numérique de la Page de l'institution
token_env = "VIGIE_FACEBOOK_PAGE_TOKEN"
tagged = true                      # publications qui mentionnent la Page
comments_days = 7                  # commentaires des publications des 7 derniers jours
"""

PLUGIN = SourcePlugin(
    type="facebook",
    description="Facebook : publications, commentaires et réponses de la Page, publications qui la mentionnent.",
    settings=FacebookSourceSettings,
    example=EXAMPLE,
    create=FacebookSource,
)
