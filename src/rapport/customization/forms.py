"""Forms: the Settings form that defines a field, and the custom inputs of record forms and
list filters (built from the workspace's definitions by the field-type registry).

As everywhere in the UI, forms render inputs and turn the POST into the service's ``data``;
the service judges the input, and its field errors are put back beside the fields.
"""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.core.errors import ValidationFailed

from .models import CustomField, FieldType, ObjectType
from .selectors import fields_for
from .types import get_type

# --- Settings → Custom fields ----------------------------------------------------------------

OPTIONS_HELP = (
    "One option per line. Write “value | Label” to choose the stored value; a line with "
    "only a label gets its value made from it."
)
TYPE_DETAILS = {
    "options": ("select", "multi_select"),
    "regex": ("text",),
    "bounds": ("text", "long_text", "number", "decimal", "currency", "date", "datetime"),
}


def options_to_text(options: list[dict]) -> str:
    return "\n".join(
        o["label"] if o["value"] == _slug(o["label"]) else f"{o['value']} | {o['label']}"
        for o in options or []
    )


def _slug(label: str) -> str:
    from django.utils.text import slugify

    return slugify(label)[:64].strip("-_")


def text_to_options(text: str) -> list[dict[str, str]]:
    options = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if "|" in line:
            value, _, label = line.partition("|")
            options.append({"value": value.strip(), "label": label.strip()})
        else:
            options.append({"label": line})
    return options


class FieldDefinitionForm(forms.Form):
    object_type = forms.ChoiceField(label="Record type", choices=ObjectType.choices)
    label = forms.CharField(label="Label", max_length=100, required=False)
    key = forms.CharField(
        label="Key",
        required=False,
        max_length=50,
        help_text="Its name in the API, imports and exports, e.g. contract_end. Made from the "
        "label when left empty; it cannot change later.",
    )
    type = forms.ChoiceField(label="Type", choices=FieldType.choices)
    help_text = forms.CharField(
        label="Help text", required=False, max_length=300, help_text="Shown under the input."
    )
    required = forms.BooleanField(label="Required when a record is created", required=False)
    show_in_list = forms.BooleanField(label="Show as a column in the list", required=False)
    options = forms.CharField(
        label="Options",
        required=False,
        help_text=OPTIONS_HELP,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    minimum = forms.CharField(
        label="Minimum",
        required=False,
        help_text="Least value, date or (text) number of characters.",
    )
    maximum = forms.CharField(
        label="Maximum",
        required=False,
        help_text="Greatest value, date or (text) number of characters.",
    )
    regex = forms.CharField(
        label="Pattern",
        required=False,
        max_length=200,
        help_text="A regular expression the whole text must match, e.g. [A-Z]{2}-\\d{4}.",
    )
    default = forms.CharField(
        label="Default",
        required=False,
        help_text="Filled in when a record is created without a value (for a select, an option).",
    )
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, actor, instance: CustomField | None = None, **kwargs):
        self.actor = actor
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", self.initial_for(instance))
        super().__init__(*args, **kwargs)
        for name in ("minimum", "maximum", "default", "regex", "options"):
            self.fields[name].widget.attrs["data-type-detail"] = name
        for name, types in TYPE_DETAILS.items():
            for target in ("minimum", "maximum") if name == "bounds" else (name,):
                self.fields[target].widget.attrs["data-types"] = " ".join(types)
        self.fields["type"].widget.attrs["data-type-select"] = ""
        if instance is not None:
            # Fixed after creation: shown, not sent.
            for name in ("object_type", "key", "type"):
                self.fields[name].disabled = True
                self.fields[name].required = False
            kind = instance.kind
            if not kind.has_options:
                del self.fields["options"]
            if not kind.has_regex:
                del self.fields["regex"]
            if not kind.bounds:
                del self.fields["minimum"]
                del self.fields["maximum"]

    @staticmethod
    def initial_for(field: CustomField) -> dict[str, Any]:
        kind = field.kind
        return {
            "object_type": field.object_type,
            "label": field.label,
            "key": field.key,
            "type": field.type,
            "help_text": field.help_text,
            "required": field.required,
            "show_in_list": field.show_in_list,
            "options": options_to_text(field.options),
            "minimum": "" if field.minimum is None else str(field.minimum),
            "maximum": "" if field.maximum is None else str(field.maximum),
            "regex": field.regex,
            "default": "" if field.default is None else kind.format_text(field.default, field),
            "version": field.version,
        }

    @property
    def expected_version(self) -> int | None:
        try:
            return int(self.data.get("version", ""))
        except (TypeError, ValueError):
            return None

    def to_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        names = ["label", "help_text", "required", "show_in_list", "regex", "minimum", "maximum"]
        if self.instance is None:
            names += ["object_type", "key", "type"]
        data = {name: cd[name] for name in names if name in self.fields}
        for name in ("minimum", "maximum"):
            if name in data:
                data[name] = data[name].strip() or None
        type_name = self.instance.type if self.instance else cd.get("type")
        kind = get_type(type_name) if type_name else None
        if "options" in self.fields:
            data["options"] = text_to_options(cd["options"]) if kind and kind.has_options else []
        if kind and not kind.has_regex:
            data.pop("regex", None)
        if kind and not kind.bounds:
            data.pop("minimum", None)
            data.pop("maximum", None)
        raw_default = (cd.get("default") or "").strip()
        if self.instance is None or "default" in self.changed_data:
            data["default"] = self._default(kind, raw_default, data)
        return data

    def _default(self, kind, raw: str, data: dict) -> Any:
        """The default typed as the field's values (the service checks it once more)."""
        if not raw or kind is None:
            return None
        from rapport.customization.types import clean_options

        spec = CustomField(
            key="default",
            label="Default",
            type=kind.name,
            options=self.instance.options if self.instance else [],
        )
        if "options" in data:
            try:
                spec.options = clean_options(data["options"])
            except ValidationFailed:
                return raw  # the options' own error is reported
        try:
            return kind.from_text(raw, spec, workspace=self.actor.workspace)
        except ValidationFailed as exc:
            raise ValidationFailed.one("default", exc.errors[0].message if exc.errors else "")

    def add_domain_error(self, exc) -> None:
        for err in exc.errors or []:
            name = err.field.split(".")[0]
            self.add_error(name if name in self.fields else None, err.message)
        if not exc.errors:
            self.add_error(None, exc.detail)


# --- record forms --------------------------------------------------------------------------


def add_record_fields(form, object_type: str) -> list[CustomField]:
    """Adds an input named ``custom.<key>`` per field of ``object_type`` to ``form``.

    The service names its errors ``custom.<key>``, so they land beside the inputs. The record's
    current values come in ``form.initial["custom"]`` (see ``initial_for``).
    """
    workspace = form.actor.workspace
    definitions = fields_for(workspace, object_type)
    current = form.initial.get("custom")
    for field in definitions:
        name = field.param
        form.fields[name] = field.kind.form_field(field, workspace=workspace)
        if current is not None:
            value = current.get(field.key)
            form.initial[name] = field.kind.form_initial(value, field) if value is not None else ""
        elif field.default is not None:
            form.initial[name] = field.kind.form_initial(field.default, field)
    form.custom_fields = definitions
    return definitions


def custom_data(form) -> dict[str, Any] | None:
    """The ``custom`` object a record form sends: what the user changed, typed by the
    registry's text parsing (its errors are put on the inputs). None when nothing changed."""
    values: dict[str, Any] = {}
    for field in getattr(form, "custom_fields", []):
        name = field.param
        if name not in form.cleaned_data or not form.changed(name):
            continue
        raw = form.cleaned_data[name]
        try:
            values[field.key] = field.kind.parse_text(
                raw if raw not in ("", []) else None, field, workspace=form.actor.workspace
            )
        except ValidationFailed as exc:
            for err in exc.errors:
                form.add_error(name, err.message)
    if form.partial and not values:
        return None
    # A new record: blank inputs are left out so the field's default applies.
    return {k: v for k, v in values.items() if v is not None or form.partial}


def bound_fields(form) -> list:
    return [form[f.param] for f in getattr(form, "custom_fields", [])]


# --- list filters ---------------------------------------------------------------------------


def add_filter_fields(form, object_type: str) -> list[str]:
    """Inputs for the custom fields under "More filters": one per field, a from/to pair for
    numbers, amounts and dates. Their names are the API's query parameters."""
    workspace = form.actor.workspace
    names = []
    for field in fields_for(workspace, object_type):
        kind = field.kind
        if "gte" in kind.lookups and kind.name not in ("text", "long_text"):
            input_type = {"date": "date", "datetime": "date"}.get(kind.name, "text")
            for suffix, word in (("gte", "from"), ("lte", "to")):
                name = f"{field.param}__{suffix}"
                form.fields[name] = forms.CharField(
                    label=f"{field.label} {word}",
                    required=False,
                    widget=forms.TextInput(
                        attrs={"type": input_type}
                        if input_type == "date"
                        else {"inputmode": "decimal"}
                    ),
                )
                names.append(name)
            continue
        if kind.name == "long_text":
            name = f"{field.param}__contains"
            form.fields[name] = forms.CharField(label=f"{field.label} contains", required=False)
        elif kind.has_options or kind.name in ("boolean", "user"):
            name = field.param
            widget = kind.form_field(field, workspace=workspace).widget
            choices = list(getattr(widget, "choices", []))
            if kind.name == "multi_select":
                choices = [("", "—"), *[(o["value"], o["label"]) for o in field.options]]
            form.fields[name] = forms.CharField(
                label=field.label,
                required=False,
                widget=forms.Select(choices=[("", "Any"), *choices[1:]]),
            )
        elif "eq" in kind.lookups:
            name = field.param
            form.fields[name] = forms.CharField(label=field.label, required=False)
        else:
            continue
        names.append(name)
    return names


def sort_choices(object_type: str, workspace) -> list[tuple[str, str]]:
    choices = []
    for field in fields_for(workspace, object_type):
        if field.kind.sortable:
            choices.append((field.param, f"{field.label} ↑"))
            choices.append((f"-{field.param}", f"{field.label} ↓"))
    return choices
