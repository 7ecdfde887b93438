"""A fake Microsoft Teams Workflows webhook (Power Automate « When a Teams webhook request is received »
→ « Post card in a chat or channel »), after learn.microsoft.com (webhooks-and-connectors/how-to/
connectors-using: "Send Adaptive Cards using an Incoming Webhook", Workflows known issues and rate limits):

- `POST /workflows/{id}/triggers/manual/paths/invoke?api-version=…&sp=…&sv=1.0&sig=…`; a wrong `sig`
  is 401, an unknown or disabled workflow 404, both as `{"error": {"code", "message"}}`;
- the body must be `{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "version", "body"}}]}`
  (Workflows take Adaptive Cards only, no MessageCard): otherwise 400 with the reason;
- accepted: `202` with `x-ms-workflow-run-id`;
- throttled (`inject("429")`): 429 with `Retry-After`;
- `legacy_429=True`: the retired connectors' habit of answering 200 with
  "Microsoft Teams endpoint returned HTTP error 429" in the body.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import web

from tests.fakes import FakeServer

ELEMENTS = {"TextBlock", "FactSet", "Container", "ColumnSet", "Column", "Image", "ActionSet", "RichTextBlock"}
ACTIONS = {"Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility", "Action.Execute"}


class FakeTeams(FakeServer):
    def __init__(self, workflows: tuple[str, ...] = ("a1b2c3d4e5f6",), sig: str = "s1gn4ture",
                 delay: float = 0.0) -> None:
        self.workflows = set(workflows)
        self.sig = sig
        self.delay = delay
        self.legacy_429 = 0
        self.cards: list[dict[str, Any]] = []  # accepted (202 written back)
        self.started: list[dict[str, Any]] = []
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/workflows/{id}/triggers/manual/paths/invoke", self.invoke)]

    def webhook_url(self, workflow: str | None = None, sig: str | None = None) -> str:
        wid = workflow or next(iter(sorted(self.workflows)))
        return (f"{self.url}/workflows/{wid}/triggers/manual/paths/invoke?api-version=1"
                f"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig or self.sig}")

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    def _check_card(self, body: Any) -> str | None:
        if not isinstance(body, dict) or body.get("type") != "message":
            return "the request body must be a message with attachments"
        attachments = body.get("attachments")
        if not isinstance(attachments, list) or not attachments:
            return "attachments are required"
        for attachment in attachments:
            if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
                return "only Adaptive Cards are supported"
            card = attachment.get("content") or {}
            if card.get("type") != "AdaptiveCard" or not card.get("version") or not isinstance(card.get("body"), list):
                return "invalid Adaptive Card"
            stack = list(card["body"])
            while stack:
                element = stack.pop()
                if element.get("type") not in ELEMENTS:
                    return f"unknown element {element.get('type')}"
                if element["type"] == "TextBlock" and not isinstance(element.get("text"), str):
                    return "TextBlock.text is required"
                if element["type"] == "FactSet" and not all({"title", "value"} <= set(f) for f in element["facts"]):
                    return "Fact.title and Fact.value are required"
                stack += element.get("items", []) + element.get("columns", [])
                select = element.get("selectAction")
                if select and select.get("type") not in ACTIONS:
                    return "selectAction type not supported"
            for action in card.get("actions", []):
                if action.get("type") not in ACTIONS:
                    return f"action {action.get('type')} is not supported"
                if action["type"] == "Action.OpenUrl" and not str(action.get("url", "")).startswith("http"):
                    return "Action.OpenUrl needs an absolute url"
        return None

    async def invoke(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        self.started.append(body)
        if request.query.get("sig") != self.sig:
            return self._error(401, "DirectApiInvalidAuthorizationSignature",
                               "The provided authorization signature is not valid.")
        if request.match_info["id"] not in self.workflows:
            return self._error(404, "WorkflowNotFound", "The workflow could not be found.")
        problem = self._check_card(body)
        if problem:
            return self._error(400, "TriggerInputSchemaMismatch", problem)
        if self.legacy_429 > 0:
            self.legacy_429 -= 1
            return web.Response(text="Microsoft Teams endpoint returned HTTP error 429 with ContextId …")
        if self.delay:
            await asyncio.sleep(self.delay)
        self.cards.append(body["attachments"][0]["content"])
        return web.Response(status=202, headers={"x-ms-workflow-run-id": secrets.token_hex(12)})

    def texts(self, card: dict[str, Any]) -> list[str]:
        """Every rendered string of a card: TextBlocks and fact values."""
        found: list[str] = []
        stack = list(card["body"])
        while stack:
            element = stack.pop(0)
            if element["type"] == "TextBlock":
                found.append(element["text"])
            elif element["type"] == "FactSet":
                found += [f["value"] for f in element["facts"]] + [f["title"] for f in element["facts"]]
            stack += element.get("items", [])
        return found
