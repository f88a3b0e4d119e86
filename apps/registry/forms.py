from __future__ import annotations

from django import forms

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
