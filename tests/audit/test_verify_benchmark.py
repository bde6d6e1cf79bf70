"""The audit-verify benchmark's own machinery, at a small N (the 1M run is `python -m benchmarks
audit_verify`, never a test): the trail it COPYs in verifies against its checkpoints, and the floor
streams the same rows."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.anchoring.sinks import DirectorySink
from audit.anchoring.verify import verify_anchored

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="COPY into PostgreSQL"),
]


def test_the_benchmark_trail_verifies_against_its_checkpoints_and_the_floor_streams_it(tmp_path):
    from benchmarks.audit_verify import _fill, _stream_floor

    assert connection.vendor == "postgresql"
    checkpoints = _fill(250, 100, tmp_path)

    result = verify_anchored(sink=DirectorySink(tmp_path))

    assert checkpoints == 3  # at 100, 200 and the tip (250)
    assert result.ok, result.report()
    assert result.checked == 250
    assert result.chain.anchors_matched == 3
    assert _stream_floor()[0] == 250
