from django import template

from tenants.display import clock as clock_text

register = template.Library()


@register.filter
def clock(seconds):
    return clock_text(seconds) or "–"


@register.filter
def percent(ratio):
    return "–" if ratio is None else f"{ratio * 100:.1f}%"


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
