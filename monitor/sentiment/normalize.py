"""The text normalization the Weibo model's featurizer and the weighted lexicon share.

The lexicon's words go through it when the shipped file is built, and texts go through it
before they are featurized, so a word matches however the post spelled it. It has a module of
its own so that the lexicon (which the model imports) need not import the model for it.
"""

from __future__ import annotations

import re

from monitor.nfkc import nfkc

_URL = re.compile(r"https?://[^\s\u3000-\u9fff]*|www\.[^\s\u3000-\u9fff]*")
# @mentions name a user, not a feeling; they are reduced to one marker so that no user's name
# becomes a sentiment feature ("//@name:" marks a repost chain, which is itself informative).
_MENTION = re.compile(r"@[^\s@:：,，。!！?？/]{1,30}")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
# "哈哈哈哈哈哈" and "！！！！！！" carry intensity, not new information past three repeats.
_REPEAT = re.compile(r"(.)\1{3,}")


def normalize(text: str) -> str:
    """Fold the surface variation that carries no sentiment.

    NFKC turns full-width Latin letters, digits and punctuation into their ASCII forms, so
    "！" and "!" are one feature; digits collapse to "0" (dates and counts are not opinions).
    """
    text = nfkc(text).lower()
    text = _URL.sub(" ", text)
    text = _MENTION.sub("@", text)
    text = _DIGITS.sub("0", text)
    text = _REPEAT.sub(r"\1\1\1", text)
    return text
