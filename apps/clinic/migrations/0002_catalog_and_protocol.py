from django.db import migrations

# The nerve codes of docs/data-exchange.md; admins may add more.
NERVES = [
    ("superior_cluneal", "Superior cluneal"),
    ("middle_cluneal", "Middle cluneal"),
    ("genicular_superior_lateral", "Genicular, superior lateral"),
    ("genicular_superior_medial", "Genicular, superior medial"),
    ("genicular_inferior_medial", "Genicular, inferior medial"),
    ("medial_branch", "Medial branch"),
    ("suprascapular", "Suprascapular"),
    ("tibial", "Tibial (tarsal tunnel)"),
    ("other", "Other"),
]

# outcome-definitions.md: follow-up time points, in days after the ablation, with their windows.
TIME_POINTS = [
    ("2w", "2 weeks", 14, 10, 21),
    ("1m", "1 month", 30, 22, 45),
    ("3m", "3 months", 90, 75, 120),
    ("6m", "6 months", 182, 150, 210),
    ("12m", "12 months", 365, 330, 400),
]


def seed(apps, schema_editor):
    Nerve = apps.get_model("clinic", "Nerve")
    Protocol = apps.get_model("clinic", "Protocol")
    TimePoint = apps.get_model("clinic", "TimePoint")
    for order, (code, name) in enumerate(NERVES):
        Nerve.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order * 10})
    protocol, _ = Protocol.objects.get_or_create(pk=1)
    for code, label, target, start, end in TIME_POINTS:
        TimePoint.objects.get_or_create(
            protocol=protocol,
            code=code,
            defaults={"label": label, "target_day": target, "window_start_day": start, "window_end_day": end},
        )


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
