import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_one_index_answers_an_mrn_prefix():
    # when
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'patients_patient' AND indexdef LIKE %s",
            ["%(mrn varchar_pattern_ops)%"],
        )
        names = [row[0] for row in cursor.fetchall()]

    # then: the one the search's plan names (tests/patients/test_views.py), not a second identical one
    assert names == ["patient_mrn_prefix"]
