"""Contacts from CSV: per-row errors, nothing half-imported, and export."""

import tablib

from agents.contact_import import ContactResource
from agents.models import Contact
from agents.selectors import contact_for_number


def _import(organization, csv_text, dry_run=False):
    dataset = tablib.Dataset().load(csv_text, format="csv")
    return ContactResource(organization=organization).import_data(
        dataset, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True, raise_errors=False
    )


def test_a_clean_file_imports_every_contact_with_e164_numbers(tenant):
    result = _import(tenant.organization, "name,company,numbers,tags,external_id\n"
                                          "Priya Shah,Kite,+91 98765 43210; 022 1234 5678,vip;gold,C-1\n"
                                          "Ravi Rao,,+919812345678,,\n")
    assert not result.has_errors() and not result.has_validation_errors()
    priya = contact_for_number(organization_id=tenant.organization.pk, number="+919876543210")
    assert priya.name == "Priya Shah" and priya.tags == ["vip", "gold"]
    assert sorted(n.number for n in priya.numbers.all()) == ["+912212345678", "+919876543210"]


def test_one_bad_row_reports_its_line_and_nothing_is_imported(tenant):
    result = _import(tenant.organization, "name,numbers\nGood One,+919876543210\nBad One,not a phone\n"
                                          "No Number,\n")
    assert result.has_validation_errors()
    lines = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(lines) == {2, 3}
    assert "not a phone" in str(lines[2])
    assert Contact.objects.filter(organization=tenant.organization).count() == 0


def test_a_row_with_a_known_number_updates_that_contact(tenant):
    _import(tenant.organization, "name,numbers\nPriya,+919876543210\n")
    result = _import(tenant.organization, "name,numbers,company\nPriya Shah,+919876543210,Kite\n")
    assert not result.has_validation_errors()
    assert Contact.objects.filter(organization=tenant.organization).get().company == "Kite"


def test_export_writes_the_organizations_contacts_only(tenant, other_tenant):
    _import(tenant.organization, "name,numbers\nPriya,+919876543210\n")
    _import(other_tenant.organization, "name,numbers\nTheirs,+919812345678\n")
    exported = ContactResource(organization=tenant.organization).export().csv
    assert "Priya" in exported and "+919876543210" in exported and "Theirs" not in exported
