"""The shipped instruments, PEG-3, PHQ-2 and GAD-2 (apps/instruments/definitions/*.json), version 1 of each."""

from django.db import migrations

from apps.instruments.definitions import SHIPPED_CODES, Definition, definition_problems, shipped_definition


def load(apps, schema_editor):
    Instrument = apps.get_model("instruments", "Instrument")
    InstrumentVersion = apps.get_model("instruments", "InstrumentVersion")
    for code in SHIPPED_CODES:
        data = shipped_definition(code)
        problems = definition_problems(data)
        if problems:
            raise ValueError(f"{code}.json: " + "; ".join(problems))
        definition = Definition(data)
        instrument, _ = Instrument.objects.get_or_create(
            code=code, defaults={"name": definition.name, "time_points": definition.time_points}
        )
        if not InstrumentVersion.objects.filter(instrument=instrument, version=definition.version).exists():
            InstrumentVersion.objects.create(
                instrument=instrument, version=definition.version, definition=data, **definition.columns()
            )


class Migration(migrations.Migration):
    dependencies = [("instruments", "0001_answers_and_definitions")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
