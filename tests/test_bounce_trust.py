"""Delivery reports cannot be forged into a stopped clock or a mail bomb (branch
bounce-trust): the service's Message-IDs cannot be computed by a stranger; a report whose
sender the receiving server did not confirm is recorded and told, never acted on, and
quotes nothing of its own words; one report, or many, costs a bounded number of mails."""
from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from tests.helpers.harness import LONDON
from tests.helpers.scenarios import Scenario

OTHER = "drew.sample@health.example.test"


@pytest.fixture
def s(tmp_path):
    scenario = Scenario(tmp_path, "wolverhampton", datetime(2026, 11, 23, 10, tzinfo=LONDON))
    yield scenario
    scenario.close()


def test_a_message_id_cannot_be_computed_from_what_anyone_knows_and_is_kept_for_a_resend(s):
    s.raise_case()
    [notice] = [r for r in s.rows() if r.kind == "notice"]
    token = notice.message_id.split("@")[0].rsplit(".", 1)[1]
    assert notice.message_id.startswith("ESC-2026-0001.notice.") and len(token) == 16
    assert token != hashlib.sha256(notice.idem_key.encode()).hexdigest()[:16]
    # composed again (a resend after a crash), the mail carries the ID its row holds
    assert s.mail("notice", OTHER)["Message-ID"].strip("<>") == notice.message_id
    assert s.mail("notice", OTHER)["Message-ID"] == s.mail("notice", OTHER)["Message-ID"]
    ids = [r.message_id for r in s.rows()]
    assert len(set(ids)) == len(ids)
