"""CSV (and other tablib formats) import and export of the do-not-call list, for the admin
(django-import-export).

Compliance teams keep these lists in spreadsheets: one row per number, with an optional
reason. Every row goes through calls.services.do_not_call_add, so numbers are stored in
E.164 and a number already listed keeps its first entry; a row that breaks a rule is
reported with its line and message, and the whole file is rolled back.
"""

from django.core.exceptions import ValidationError

from calls import services
from calls.models import DoNotCallNumber
from calls.phone import InvalidPhoneNumber, to_e164
from tenants.errors import ServiceError
from tenants.scoping import OrganizationResource


class DoNotCallResource(OrganizationResource):
    class Meta:
        model = DoNotCallNumber
        fields = ("number", "reason")
        export_order = ("number", "reason")
        import_id_fields = ()
        use_transactions = True
        skip_unchanged = False

    def get_queryset(self):
        return self.scoped(DoNotCallNumber.objects.order_by("number"))

    def get_instance(self, instance_loader, row):
        self.require_organization()
        try:
            number = to_e164(str(row.get("number") or ""))
        except InvalidPhoneNumber as exc:
            raise ValidationError({"number": str(exc)}) from None
        return DoNotCallNumber.objects.filter(organization=self.organization, number=number).first()

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            saved = services.do_not_call_add(
                organization_id=self.organization.pk, number=str(row.get("number") or ""),
                source=DoNotCallNumber.Source.ADMIN, reason=str(row.get("reason") or "").strip(),
            )
        except ServiceError as exc:
            raise ValidationError(exc.message) from None
        instance.pk = saved.pk
