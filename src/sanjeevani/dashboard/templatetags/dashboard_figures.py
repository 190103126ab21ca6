"""``count``: a figure with thousands separators, as the charts write it; ``my_dashboard_url``:
the signed-in person's own dashboard, for the menus of the overview and the hub desk."""

from __future__ import annotations

from django import template

from sanjeevani.dashboard.access import dashboard_url_for
from sanjeevani.dashboard.charts import number

register = template.Library()


@register.filter
def count(value: object) -> str:
    try:
        return number(float(value)) if value is not None else "0"
    except (TypeError, ValueError):
        return str(value)


@register.simple_tag(takes_context=True)
def my_dashboard_url(context: template.Context) -> str:
    """The signed-in person's own dashboard (empty when they have none), for menus."""
    request = context.get("request")
    return dashboard_url_for(getattr(request, "user", None)) or ""
