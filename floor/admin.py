"""Links the floor from the admin index (the floor's pages are in floor/views.py)."""

from django.contrib import admin

admin.site.index_template = "floor/admin_index.html"
