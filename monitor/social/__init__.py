"""Social sources: Weibo JSON, message boards, generic JSON APIs and RSS bridges that keep
the account and engagement. Each parser takes fetched bytes and returns a ParsedFeed of
SocialEntry (a FeedEntry with the social fields), so polling and storage stay one path.

`parser_for(kind, config)` picks the parser for a source: by its kind, and by what the body
is (JSON or XML), because one kind ("weibo") arrives both ways — from the platform's JSON
API or through an RSS bridge.

The parsers import `monitor.social.base`, never this package, which imports the registry and
so all of them.
"""

from __future__ import annotations

from monitor.social.base import SocialEntry, social_fields
from monitor.social.registry import parser_for

__all__ = ["SocialEntry", "parser_for", "social_fields"]
