from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.audit.admin import AccessLoggedAdmin
from apps.clinic.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.clinic.models import TimePoint

from .definitions import BASELINE
from .models import Instrument, InstrumentAnswer, InstrumentVersion
from .services import instrument_answer_rescore


class InstrumentForm(forms.ModelForm):
    class Meta:
        model = Instrument
        fields = ["time_points"]

    def clean_time_points(self):
        codes = self.cleaned_data["time_points"]
        known = {BASELINE, *TimePoint.objects.values_list("code", flat=True)}
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ValidationError(
                f"Not a time point of the protocol: {', '.join(unknown)}. Known: {', '.join(sorted(known))}."
            )
        return codes


class InstrumentVersionInline(ReadOnlyInline):
    model = InstrumentVersion
    fields = readonly_fields = (
        "version",
        "scoring_method",
        "min_items",
        "better",
        "responder_rule",
        "languages",
        "loaded_at",
    )


# The schedule (which time points an instrument is asked at) is the clinic's setting, edited here. Definitions are
# loaded by `manage.py instrument_load` (and the shipped ones by migration), never typed in the admin.
@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    form = InstrumentForm
    list_display = ["name", "code", "time_points"]
    readonly_fields = ["code", "name"]
    fields = ["code", "name", "time_points"]
    inlines = [InstrumentVersionInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.action(description="Re-score with the instrument's current version")
def rescore(modeladmin, request, queryset):
    changed, refused = 0, 0
    for answer in queryset.select_related("instrument", "version"):
        try:
            changed += instrument_answer_rescore(answer=answer)
        except ValidationError:
            refused += 1
    modeladmin.message_user(request, f"{changed} answers re-scored; the others already had the current version.")
    if refused:
        modeladmin.message_user(
            request, f"{refused} answers cannot be scored by the current version and kept theirs.", messages.WARNING
        )


# Read-only: answers are recorded through the survey link, the staff form, the API and the import
# (instrument_answer_record). Re-scoring is the one change made here, an action recorded in the change history.
@admin.register(InstrumentAnswer)
class InstrumentAnswerAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["treatment", "instrument", "completed_at", "score_text", "version"]
    list_filter = ["instrument"]
    list_select_related = ["treatment__patient", "treatment__nerve", "instrument", "version__instrument"]
    actions = [rescore]

    def has_change_permission(self, request, obj=None):
        # The action needs the change permission; the form itself stays read-only (ReadOnlyAdmin's fields).
        return obj is None and request.user.has_perm("instruments.change_instrumentanswer")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def audit_patient(self, obj):
        return obj.treatment.patient
