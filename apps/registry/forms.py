from __future__ import annotations

from typing import Any, cast

from django import forms

from apps.clinic.models import Site
from apps.clinic.selectors import site_list, site_network

from .parsing import FILES


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)) and data:
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data or self.required else []


class RegistryUploadForm(forms.Form):
    # A declared field: the form's metaclass moves it into base_fields, so it never hides BaseForm.files.
    files = MultipleFileField(  # type: ignore[assignment]
        label="Registry files",
        help_text=f"The CSV files ({', '.join(FILES)}; ablations.csv or treatments.csv, adverse events and opioid "
        "statements if any), "
        "or one .zip holding them.",
    )
    site = forms.ModelChoiceField(
        Site.objects.none(),
        label="Site",
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="The site the new patients are at.",
        error_messages={
            "required": "Choose the site to import into.",
            "invalid_choice": "Choose one of the active sites.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The site is chosen in a network only: a single clinic's patients are at its only site."""
        super().__init__(*args, **kwargs)
        if site_network():
            cast(forms.ModelChoiceField, self.fields["site"]).queryset = site_list()
        else:
            del self.fields["site"]
