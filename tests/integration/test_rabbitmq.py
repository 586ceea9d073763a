"""The worker tests again on RabbitMQ (production's other broker), when
YUQING_TEST_AMQP_URL names one (.ci/run sets it). RabbitMQ hands an unacknowledged task back
as soon as the killed worker's connection drops."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.integration.conftest import _purge
from tests.integration.test_worker_pipeline import (
    test_sigkill_mid_batch_then_restart_stores_and_scores_each_item_once as test_sigkill_on_rabbitmq,  # noqa: E501
)
from tests.integration.test_worker_pipeline import (
    test_worker_polls_scores_and_flags as test_pipeline_on_rabbitmq,
)

AMQP_URL = os.environ.get("YUQING_TEST_AMQP_URL", "")

pytestmark = pytest.mark.skipif(not AMQP_URL, reason="YUQING_TEST_AMQP_URL is not set")

__all__ = ["test_pipeline_on_rabbitmq", "test_sigkill_on_rabbitmq"]


@pytest.fixture
def broker_url() -> Iterator[str]:
    _purge(AMQP_URL)
    yield AMQP_URL
    _purge(AMQP_URL)
