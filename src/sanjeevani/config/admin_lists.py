"""Admin lists over tables that grow for years (the audit trail, accounts, device tokens).

Django's admin counts the filtered list on every page, even with ``show_full_result_count``
off: a ``COUNT(*)`` over the whole table when nothing is filtered, one second at 10 million
audit rows and proportional to the table (``bench/audit_at_scale.py``). These lists count
at most ``list_count_cap`` rows instead and say "more than N"; a narrower filter (a date, a
patient, a role) brings the exact figure back. Pages past the cap are reached by filtering,
which is how an administrator looks for something in tens of millions of rows anyway.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

#: Rows counted at most: 100 pages of 100, a bounded read through an index.
LIST_COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """A paginator that stops counting at ``count_cap`` rows; ``count_capped`` says so."""

    def __init__(self, object_list: Any, per_page: int, *args: Any, count_cap: int, **kwargs: Any):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_cap = count_cap

    @cached_property
    def _counted(self) -> int:
        return self.object_list[: self.count_cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.count_cap)

    @property
    def count_capped(self) -> bool:
        return self._counted > self.count_cap


class CappedCountList:
    """For a ``ModelAdmin`` whose list counts at most ``list_count_cap`` rows (see the module).

    The pagination and search templates (``templates/admin/``) print "more than N", and the
    actions bar offers no "select all N" while the count is capped: an action on the whole
    filtered list would reach rows nobody was shown a count of. A crafted request asking for
    it anyway is refused the same way."""

    list_count_cap = LIST_COUNT_CAP
    show_full_result_count = False

    def _count_cap(self, per_page: int) -> int:
        # A cap within one page, or within "Show all", would list the whole table at once
        # (Django's change list shows every row when the count fits).
        return max(self.list_count_cap, per_page + 1, self.list_max_show_all + 1)

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """Django's action on "all" of the filtered list, refused while it counts past the cap."""
        across = forms.BooleanField(required=False).clean(request.POST.get("select_across"))
        if across:
            cap = self._count_cap(self.list_per_page)
            if queryset[: cap + 1].count() > cap:
                self.message_user(
                    request,
                    _(
                        "More than %(cap)d rows match: filter the list to fewer, or tick the "
                        "rows to act on."
                    )
                    % {"cap": cap},
                    messages.WARNING,
                )
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: Any,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> CappedCountPaginator:
        return CappedCountPaginator(
            queryset, per_page, orphans, allow_empty_first_page, count_cap=self._count_cap(per_page)
        )
