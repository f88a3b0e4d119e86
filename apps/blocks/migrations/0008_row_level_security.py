"""Row-level security (apps.clinic.row_security) on the blocks, their diaries and peak reliefs: those of a visible
patient; the peak relief rule's view reads as its reader, so that the policies apply through it."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy, view_as_invoker

OF_A_VISIBLE_BLOCK = "EXISTS (SELECT FROM blocks_diagnosticblock b WHERE b.id = block_id)"


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0007_row_level_security"),
        ("blocks", "0007_diary_source_sms"),
    ]

    operations = [
        site_scope_policy("blocks_diagnosticblock", "painreg_patient_visible(patient_id)"),
        site_scope_policy("blocks_diaryentry", OF_A_VISIBLE_BLOCK),
        site_scope_policy("blocks_blockpeakrelief", OF_A_VISIBLE_BLOCK),
        view_as_invoker("blocks_peak_relief_rule"),
    ]
