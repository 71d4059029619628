"""CSV import and export of the fleet: upload, dry-run report, confirmed import, templates."""

from __future__ import annotations

import base64
import binascii

from flask import Response, abort, flash, redirect, render_template, request, url_for

from app.blueprints.admin import bp
from app.blueprints.security import roles_required
from app.services import fleet_import as service


def _csv(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _kind_or_404(kind: str) -> str:
    if kind not in service.KINDS:
        abort(404, f"There is no kind {kind!r}; choose one of: {', '.join(service.KINDS)}.")
    return kind


@bp.get("/fleet/template/<kind>.csv")
@roles_required("admin")
def fleet_template(kind: str):
    return _csv(service.template(_kind_or_404(kind)), f"{kind}.csv")


@bp.get("/fleet/export/<kind>.csv")
@roles_required("admin")
def fleet_export(kind: str):
    return _csv(service.export(_kind_or_404(kind)), f"{kind}-export.csv")


def _uploads() -> list[service.Upload]:
    """The files chosen, or (on the confirming form) the files already checked, carried back."""
    uploads = []
    for kind in service.KINDS:
        storage = request.files.get(kind)
        if storage is not None and storage.filename:
            # One byte more than the limit is read, so that the service can say it is too big.
            uploads.append(service.Upload(kind, storage.filename, storage.read(service.WEB_MAX_FILE_BYTES + 1)))
            continue
        carried = request.form.get(f"checked-{kind}")
        if carried:
            name, _, encoded = carried.partition(":")
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                abort(400, "The checked file could not be read back; choose the file again.")
            uploads.append(service.Upload(kind, name or f"{kind}.csv", data))
    return uploads


def _page(report, carried, status=200):
    limits = {"kb": service.WEB_MAX_FILE_BYTES // 1024, "total_kb": service.WEB_MAX_TOTAL_BYTES // 1024,
              "rows": service.max_rows()}
    return render_template("admin/fleet_import.html", kinds=service.KINDS, report=report, carried=carried,
                           limits=limits), status


@bp.route("/fleet/import", methods=["GET", "POST"])
@roles_required("admin")
def fleet_import():
    if request.method == "GET":
        return _page(None, {})
    uploads = _uploads()
    confirm = request.form.get("action") == "import"
    report = service.import_files(uploads, dry_run=not confirm, max_bytes=service.WEB_MAX_FILE_BYTES,
                                  max_total_bytes=service.WEB_MAX_TOTAL_BYTES)
    if confirm and report.ok:
        flash(report.summary(), "info")
        return redirect(url_for("admin.fleet_import"))
    # A clean dry run carries the checked files to the confirming form, so they need not be chosen again.
    carried = {u.kind: f"{u.name}:{base64.b64encode(u.data).decode()}" for u in uploads} if report.ok else {}
    return _page(report, carried, 200 if report.ok else 422)
