"""The outbox tests of tests/unit/test_outbox.py again, on PostgreSQL.

The unit tests stay server-free (``make test-fast``); here the same test functions run with
``outbox_file`` replaced by the URL of a new empty PostgreSQL database. Only the SQLite-only
tests (WAL mode, the file path from the environment) are left out.
"""

import pytest

from tests.unit.test_outbox import (  # noqa: F401 (collected by pytest from here)
    outbox,
    test_a_crash_right_after_add_keeps_the_request,
    test_a_late_failure_cannot_undo_a_delivery,
    test_a_lease_stops_a_second_outbox_on_the_same_file,
    test_add_stores_a_pending_request,
    test_claims_in_parallel_processes_never_overlap,
    test_due_skips_requests_waiting_for_their_retry_time,
    test_failed_attempts_then_giving_up_then_retrying,
    test_invalid_requests_are_refused_and_nothing_is_stored,
    test_list_filters_by_state_oldest_first,
    test_missing_payload_fields_are_filled_in,
    test_only_the_lease_holder_records_a_failure,
    test_unknown_ids_and_naive_times,
)


@pytest.fixture
def outbox_file(postgres_server) -> str:
    """Not a file here: the URL of a new empty database (Outbox takes either)."""
    return postgres_server.new_database()
