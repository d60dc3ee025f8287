"""PostgreSQL restarted under a running action server: nothing is lost, nothing crashes.

A cluster of this module's own (the session one stays untouched) is stopped and started
again while an outbox, the unanswered records and a delivery worker are using it.
"""

import threading
import time
from typing import Iterator

import pytest
from sqlalchemy.exc import SQLAlchemyError

from clinic_requests import unanswered
from clinic_requests.delivery import WORKER_THREAD_NAME
from clinic_requests.outbox import DELIVERED, PENDING, Outbox
from clinic_scaled import local_postgres
from tests.integration.test_delivery import payload, wait_until, worker_for
from tests.pg_fixture import (
    TEST_SETTINGS,
    PgCluster,
    free_port,
    start_test_cluster,
    stop_test_cluster,
)
from tests.stored import stored


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    running = start_test_cluster()
    yield running
    stop_test_cluster(running)


def stop(cluster: PgCluster) -> None:
    assert local_postgres.stop(cluster.data_dir)


def start(cluster: PgCluster) -> None:
    local_postgres.start(cluster.data_dir, cluster.port, settings=TEST_SETTINGS)


def test_a_write_during_an_outage_fails_loudly_then_works_again(cluster: PgCluster) -> None:
    url = cluster.new_database()
    outbox = Outbox(url)
    before = outbox.add("booking", payload(1))  # the pool now holds a connection
    stop(cluster)
    try:
        # The caller (actions/forms.py) turns this into "your request was not sent". No stopwatch
        # here (it would measure this machine): the connect and lock timeouts that bound any
        # wait are set where the engine is made (actions/database.py, _create).
        with pytest.raises(SQLAlchemyError):
            outbox.add("booking", payload(2))
        unanswered.record("is there parking?", "out_of_scope", None, path=url)  # logged only
    finally:
        start(cluster)

    after = outbox.add("booking", payload(3))  # the dead pooled connection is replaced
    assert [r.id for r in outbox.list()] == [before.id, after.id]
    assert outbox.counts()[PENDING] == 2


def test_the_delivery_worker_recovers_by_itself(cluster: PgCluster, receivers) -> None:
    outbox = Outbox(cluster.new_database())
    receiver = receivers(free_port())
    worker = worker_for(outbox, receiver.url)
    first = outbox.add("booking", payload(1))
    worker.start()
    try:
        wait_until(lambda: stored(outbox, first.id).state == DELIVERED)
        stop(cluster)
        try:
            time.sleep(0.5)  # several failed passes (each logged once, not per poll)
            assert worker.running
        finally:
            start(cluster)
        second = outbox.add("consultation", payload(2))
        worker.wake()
        wait_until(lambda: stored(outbox, second.id).state == DELIVERED)
    finally:
        worker.stop()
    assert receiver.keys == [first.id, second.id]
    assert WORKER_THREAD_NAME not in {t.name for t in threading.enumerate()}
