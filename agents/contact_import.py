"""CSV (and other tablib formats) import and export of contacts, for the admin (django-import-export).

One row per contact: name, company, email, notes, external_id, tags and numbers (several
separated by ";" or ","). A row with an existing external id, or a number of an existing
contact, updates that contact. Every row goes through agents.desk.contact_save, so numbers
are E.164 and unique in the organization; a row that breaks a rule is reported with its
line and message, and the whole file is rolled back.
"""

import re

from django.core.exceptions import ValidationError
from import_export import fields

from agents import desk
from agents.models import Contact, ContactNumber
from calls.phone import InvalidPhoneNumber, to_e164
from tenants.errors import ServiceError
from tenants.scoping import OrganizationResource

SPLIT = re.compile(r"[;,|]")


def _split(value) -> list[str]:
    return [part.strip() for part in SPLIT.split(str(value or "")) if part.strip()]


class ContactResource(OrganizationResource):
    numbers = fields.Field(column_name="numbers")
    tags = fields.Field(column_name="tags")

    class Meta:
        model = Contact
        fields = ("name", "company", "email", "notes", "external_id", "tags", "numbers")
        export_order = ("name", "numbers", "company", "email", "external_id", "tags", "notes")
        import_id_fields = ()
        use_transactions = True
        skip_unchanged = False

    def get_queryset(self):
        return self.scoped(Contact.objects.prefetch_related("numbers"))

    def dehydrate_numbers(self, contact):
        return "; ".join(row.number for row in contact.numbers.all())

    def dehydrate_tags(self, contact):
        return "; ".join(contact.tags or [])

    def _row_numbers(self, row) -> list[str]:
        raw = _split(row.get("numbers"))
        if not raw:
            raise ValidationError({"numbers": "At least one phone number is required."})
        try:
            return [to_e164(value) for value in raw]
        except InvalidPhoneNumber as exc:
            raise ValidationError({"numbers": str(exc)}) from None

    def get_instance(self, instance_loader, row):
        self.require_organization()
        external_id = str(row.get("external_id") or "").strip()
        if external_id:
            found = Contact.objects.filter(organization=self.organization, external_id=external_id).first()
            if found:
                return found
        numbers = self._row_numbers(row)
        match = ContactNumber.objects.filter(organization=self.organization, number__in=numbers).first()
        return match.contact if match else None

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.column_name in ("numbers", "tags"):
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            saved = desk.contact_save(
                organization=self.organization,
                contact=None if is_create else instance,
                name=str(row.get("name") or ""),
                numbers=self._row_numbers(row),
                company=str(row.get("company") or ""),
                email=str(row.get("email") or ""),
                notes=str(row.get("notes") or ""),
                external_id=str(row.get("external_id") or "").strip(),
                tags=_split(row.get("tags")),
            )
        except ServiceError as exc:
            raise ValidationError(exc.message) from None
        instance.pk = saved.pk
