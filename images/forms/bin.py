"""The recycle bin: choosing the tags to delete."""

from __future__ import annotations

from django import forms


class TagsDeleteForm(forms.Form):
    """The tags ticked on an image page (or the one a row's Delete names)."""

    tag = forms.CharField(required=False)

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.chosen = [t.strip() for t in data.getlist("tag") if t.strip()]

    def clean_tag(self) -> list[str]:
        if not self.chosen:
            raise forms.ValidationError("Tick the tags to delete first; nothing was deleted.")
        if len(self.chosen) > 100:
            raise forms.ValidationError("Delete at most 100 tags at once; nothing was deleted.")
        return list(dict.fromkeys(self.chosen))
