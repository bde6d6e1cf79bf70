"""Auditor pages: search the trail, read one event with its place in the hash chain,
verify integrity, see how fresh the external anchoring is, and download exports and
evidence packs. Auditors and catalog admins read; nobody changes anything here (the only
POSTs verify, export and make evidence packs — auditors only — and all are audited)."""

from __future__ import annotations

import json
import tempfile

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit import integrity, selectors, services
from audit.anchoring import services as anchoring
from audit.anchoring.packs import EvidencePackError
from audit.anchoring.selectors import anchor_status
from audit.exporting import CONTENT_TYPES, FORMATS
from audit.filters import EventFilterForm
from audit.forms import EvidencePackForm
from core.permissions import role_required
from core.roles import Role

READERS = services.READER_ROLES


def _cursor(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _limit(value: str | None) -> int:
    """``?limit=``: 50 by default, at most 200; anything but a positive whole number is a 400."""
    if not value:
        return selectors.PAGE_SIZE
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise BadRequest(f"limit must be a whole number from 1 to {selectors.MAX_PAGE_SIZE}")
    return min(int(value), selectors.MAX_PAGE_SIZE)


@role_required(*READERS)
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    """The trail, newest first, filtered by time, actor, action, outcome, target and request id."""
    form = EventFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    flt = form.to_filter()
    page = selectors.event_page(
        flt,
        before=_cursor(request.GET.get("before")),
        after=_cursor(request.GET.get("after")),
        size=_limit(request.GET.get("limit")),
    )
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    context = {
        "form": form,
        "valid": valid,
        "page": page,
        "filter_query": query.urlencode(),
        "filter_items": [(k, v) for k, v in query.items() if v],
        "latest": services.latest_verification(),
        "anchoring": anchor_status(),
        "evidence_form": EvidencePackForm(),
        "tip": services.tip_seq(),
        "bound": services.PAGE_VERIFY_BOUND,
        "formats": FORMATS,
    }
    return render(request, "audit/events.html", context)


@role_required(*READERS)
@require_GET
def event(request: HttpRequest, seq: int) -> HttpResponse:
    """One event, every field, and its link in the chain (hash recomputed on the spot)."""
    link = selectors.chain_link(seq)
    if link is None:
        raise Http404("No such event")
    details = json.dumps(link.event.details, indent=2, sort_keys=True, ensure_ascii=False)
    context = {"link": link, "ev": link.event, "details": details, "anchoring": anchor_status()}
    return render(request, "audit/event_detail.html", context)


@role_required(*READERS)
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Verify now: the whole chain if it is within the page's bound, otherwise its newest
    ``PAGE_VERIFY_BOUND`` events (the hourly task walks all of it). Shows the recorded result."""
    tip = services.tip_seq()
    bound = services.PAGE_VERIFY_BOUND
    from_seq = max(1, tip - bound + 1)
    scope = "full" if from_seq == 1 else f"newest {bound} events"
    result, recorded = integrity.verify_and_record(actor=request.user, from_seq=from_seq, scope=scope)
    if result.ok:
        messages.success(request, f"Integrity verified ({scope}): " + "; ".join(result.report()))
    else:
        messages.error(request, "Integrity FAILED: " + "; ".join(result.report()))
    return redirect("audit:event", seq=recorded.seq)


@role_required(*READERS)  # type: ignore[type-var]  # a streaming response is not an HttpResponse subclass
@require_POST
def export(request: HttpRequest) -> HttpResponseBase:
    """Download the filtered trail as JSON Lines or CSV (streamed; recorded as audit.exported)."""
    fmt = request.POST.get("format", "")
    form = EventFilterForm(request.POST)
    if fmt not in FORMATS or not form.is_valid():
        messages.error(request, "Choose JSON Lines or CSV and a valid filter to export.")
        return redirect("audit:events")
    _, chunks = services.export_events(actor=request.user, flt=form.to_filter(), fmt=fmt, via="page")
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="enclave-audit-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


EVIDENCE_SPOOL_BYTES = 16 * 1024 * 1024  # larger packs spill from memory to a temporary file


@role_required(Role.AUDITOR)  # type: ignore[type-var]  # a file response is streamed
@require_POST
def evidence(request: HttpRequest) -> HttpResponseBase:
    """Download an evidence pack for a period (recorded as audit.evidence_pack_created)."""
    form = EvidencePackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid period (and optionally a dataset or user) for the evidence pack.")
        return redirect("audit:events")
    since, until = form.period()
    name = f"enclave-evidence-{since:%Y%m%d}-{until:%Y%m%d}.zip"
    spool = tempfile.SpooledTemporaryFile(max_size=EVIDENCE_SPOOL_BYTES)  # noqa: SIM115 - FileResponse closes it
    try:
        anchoring.create_evidence_pack(
            actor=request.user, since=since, until=until, out=spool, via="page", name=name,
            dataset=form.cleaned_data["dataset"], user=form.cleaned_data["user"],
        )  # fmt: skip
    except EvidencePackError as exc:
        spool.close()
        messages.error(request, str(exc))
        return redirect("audit:events")
    spool.seek(0)
    response = FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response
