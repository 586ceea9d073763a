"""The `weibo` scorer a worker uses, following the registry's pointer (issue 19).

A worker asks `ModelWatch.current()` once per batch (the runtime's `scorer`, read once per
analysis task) and scores the whole batch with the scorer it got. When the pointer changed
since the last batch, the new version is verified and loaded in full first, and only then
does one reference change: a batch is scored by the old model or by the new one, never by
a mix, and the version each scorer carries is the one recorded on the items it scored.

A version that cannot be loaded (damaged since `models use` checked it, or a pointer edited
by hand) is refused with its reason in the log, and the worker keeps the model it has; the
same pointer is not retried every batch, only when it changes again. At start there is no
model to keep, so the error stops the process, as a broken taxonomy does.
"""

from __future__ import annotations

import logging
from pathlib import Path

from monitor.errors import ConfigError, InputError
from monitor.sentiment.registry import SHIPPED, load_version, pointer_stamp, read_pointer
from monitor.sentiment.weibo import WeiboScorer

log = logging.getLogger(__name__)


class ModelWatch:
    """The active version's scorer, reloaded when the pointer file changes (one stat())."""

    def __init__(self, root: Path, max_chars: int) -> None:
        self.root = root
        self.max_chars = max_chars
        self._stamp: tuple[int, int, int] | None = None
        self._scorer: WeiboScorer | None = None

    def current(self) -> WeiboScorer:
        stamp = pointer_stamp(self.root)
        if self._scorer is not None and stamp == self._stamp:
            return self._scorer
        try:
            name = read_pointer(self.root) or SHIPPED
            if self._scorer is not None and name == self._scorer.version:
                self._stamp = stamp
                return self._scorer
            model = load_version(self.root, name)
        except (ConfigError, InputError) as exc:  # damaged, or a name that is no version
            return self._keep(stamp, exc)
        scorer = WeiboScorer(model, max_chars=self.max_chars, version=name)
        if self._scorer is not None:
            log.info("sentiment model %s in use from this batch (was %s)", name,
                     self._scorer.version)
        self._scorer, self._stamp = scorer, stamp  # the swap: one reference
        return scorer

    def _keep(self, stamp: tuple[int, int, int] | None, exc: Exception) -> WeiboScorer:
        if self._scorer is None:
            raise ConfigError(f"cannot load the active sentiment model: {exc}") from exc
        log.error("keeping sentiment model %s: %s", self._scorer.version, exc)
        self._stamp = stamp
        return self._scorer
