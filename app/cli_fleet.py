"""Command-line set-up of the fleet: ``flask asset-types|make-models|assets|locations|detail-sets …``
and the CSV import/export ``flask fleet template|import|export``.

Every command calls the same service the admin pages call, as the system user; a refusal
prints the service's message on stderr, exits with status 1 and changes nothing.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli import as_system
from app.extensions import db


def plain_text(command):
    """Refuse a control character in any argument before a service (or a query) sees it.

    The text rule is checked again when the record is written; this also covers the names
    used to look records up, which PostgreSQL refuses to compare when they hold a NUL.
    """
    import functools

    from app.services.text import control_character

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        for name, value in kwargs.items():
            problem = control_character(value) if isinstance(value, str) else None
            if problem is not None:
                db.session.rollback()  # nothing of the command (not even the system user) is kept
                raise click.ClickException(f"The value of {name.replace('_', '-')} contains {problem}; "
                                           "remove it and try again.")
        return command(*args, **kwargs)

    return wrapped


def _inactive_note(active: bool) -> str:
    return "" if active else "  (inactive)"


# --- Asset types -------------------------------------------------------------------------

asset_types_cli = AppGroup("asset-types", help="Asset types: the kinds of asset, each with its checklists.")


@asset_types_cli.command("add")
@click.argument("name")
@click.option("--description")
@click.option("--skill", "default_skill", help="The skill its dispatches need by default (an existing skill).")
@as_system
@plain_text
def asset_type_add(name, description, default_skill):
    """Add an asset type."""
    from app.services import assets

    asset_type = assets.create_asset_type(name, description, default_skill=default_skill)
    click.echo(f"Added the asset type {asset_type.name}.")


@asset_types_cli.command("list")
def asset_type_list():
    """Asset types with their default skill and checklists."""
    from app.models import AssetType
    from app.services import detail_sets

    for asset_type in db.session.scalars(select(AssetType).order_by(AssetType.name)):
        keys = [row.dispatch_detail_table_type for row in detail_sets.rows_of(asset_type) if row.is_active]
        click.echo(f"{asset_type.name:<24} skill: {asset_type.default_skill or '-':<16} "
                   f"checklists: {', '.join(keys) or '-'}{_inactive_note(asset_type.is_active)}")


@asset_types_cli.command("rename")
@click.argument("name")
@click.argument("new_name")
@as_system
@plain_text
def asset_type_rename(name, new_name):
    """Rename an asset type (its description and skill stay)."""
    from app.services import assets

    asset_type = assets.asset_type_named(name)
    old = asset_type.name
    assets.update_asset_type(asset_type, name=new_name, description=asset_type.description,
                             default_skill=asset_type.default_skill)
    click.echo(f"Renamed the asset type {old} to {asset_type.name}.")


@asset_types_cli.command("deactivate")
@click.argument("name")
@click.option("--reactivate", is_flag=True, help="Make it active again instead.")
@as_system
@plain_text
def asset_type_deactivate(name, reactivate):
    """Deactivate an asset type (refused while active models or assets are of it)."""
    from app.services import assets

    asset_type = assets.asset_type_named(name)
    assets.set_asset_type_active(asset_type, reactivate)
    click.echo(f"The asset type {asset_type.name} is {'active again' if reactivate else 'deactivated'}.")


# --- Makes and models --------------------------------------------------------------------

make_models_cli = AppGroup("make-models", help="Makes and models, each of one asset type.")


@make_models_cli.command("add")
@click.argument("make")
@click.argument("model")
@click.option("--type", "type_name", required=True, help="Its asset type, by name.")
@as_system
@plain_text
def make_model_add(make, model, type_name):
    """Add a make and model of an asset type."""
    from app.services import assets

    make_model = assets.create_make_model(make, model, assets.asset_type_named(type_name))
    click.echo(f"Added {make_model.display_name} ({make_model.asset_type.name}).")


@make_models_cli.command("list")
def make_model_list():
    """Makes and models with their type and additional checklists."""
    from app.models import MakeModel
    from app.services import detail_sets

    for make_model in db.session.scalars(select(MakeModel).order_by(MakeModel.make, MakeModel.model)):
        keys = [row.dispatch_detail_table_type for row in detail_sets.rows_of(make_model) if row.is_active]
        click.echo(f"{make_model.display_name:<30} {make_model.asset_type.name:<20} "
                   f"adds: {', '.join(keys) or '-'}{_inactive_note(make_model.is_active)}")


# --- Locations ---------------------------------------------------------------------------

locations_cli = AppGroup("locations", help="Major locations: depots, yards and sites.")


@locations_cli.command("add")
@click.argument("name")
@click.option("--address")
@click.option("--lat", "latitude", type=float, help="Latitude, -90 to 90.")
@click.option("--lon", "longitude", type=float, help="Longitude, -180 to 180.")
@as_system
@plain_text
def location_add(name, address, latitude, longitude):
    """Add a major location."""
    from app.services import assets

    location = assets.create_location(name, (address or "").strip() or None, latitude, longitude)
    click.echo(f"Added the location {location.name}.")


@locations_cli.command("list")
def location_list():
    """Locations with their address and coordinates."""
    from app.models import MajorLocation

    for location in db.session.scalars(select(MajorLocation).order_by(MajorLocation.name)):
        where = f"{location.latitude},{location.longitude}" if location.latitude is not None else "-"
        click.echo(f"{location.name:<28} {where:<22} {location.address or ''}{_inactive_note(location.is_active)}")


# --- Assets ------------------------------------------------------------------------------

assets_cli = AppGroup("assets", help="The asset register.")


def _make_model(assets, make: str | None, model: str | None):
    if not make and not model:
        return None
    if not (make and model):
        from app.services.errors import ValidationError

        raise ValidationError("Give both --make and --model, or neither.")
    return assets.make_model_named(make, model)


@assets_cli.command("add")
@click.argument("asset_tag")
@click.option("--name", required=True)
@click.option("--type", "type_name", required=True, help="Asset type, by name.")
@click.option("--make")
@click.option("--model")
@click.option("--location", "location_name", help="Major location, by name.")
@click.option("--odometer", type=float)
@as_system
@plain_text
def asset_add(asset_tag, name, type_name, make, model, location_name, odometer):
    """Add an asset (it starts In Service)."""
    from app.services import assets

    asset = assets.create_asset(
        asset_tag=asset_tag, name=name, asset_type=assets.asset_type_named(type_name),
        make_model=_make_model(assets, make, model),
        location=assets.location_named(location_name) if location_name else None, odometer=odometer,
    )
    click.echo(f"Added {asset.asset_tag} ({asset.name}), In Service.")


@assets_cli.command("list")
@click.option("--type", "type_name", help="Only assets of this type.")
@click.option("--all", "show_all", is_flag=True, help="Include inactive assets.")
@plain_text
def asset_list(type_name, show_all):
    """Assets with type, model, location and status."""
    from app.services import assets

    asset_type_id = assets.asset_type_named(type_name).id if type_name else None
    page_number, shown = 1, 0
    while True:
        page = assets.asset_page(asset_type_id=asset_type_id, show="all" if show_all else "active",
                                 page=page_number, per_page=500)
        for asset in page.items:
            model = asset.make_model.display_name if asset.make_model else "-"
            location = asset.major_location.name if asset.major_location else "-"
            click.echo(f"{asset.asset_tag:<14} {asset.name:<28} {asset.asset_type.name:<16} {model:<24} "
                       f"{location:<20} {asset.status}{_inactive_note(asset.is_active)}")
        shown += len(page.items)
        if shown >= page.total or not page.items:
            break
        page_number += 1


@assets_cli.command("move")
@click.argument("asset_tag")
@click.argument("location_name")
@as_system
@plain_text
def asset_move(asset_tag, location_name):
    """Base an asset at another location."""
    from app.services import assets

    asset = assets.asset_tagged(asset_tag)
    location = assets.location_named(location_name)
    assets.update_asset(asset, asset_tag=asset.asset_tag, name=asset.name, asset_type=asset.asset_type,
                        make_model=asset.make_model, location=location, odometer=asset.odometer)
    click.echo(f"{asset.asset_tag} is now based at {location.name}.")


@assets_cli.command("deactivate")
@click.argument("asset_tag")
@click.option("--reactivate", is_flag=True, help="Make it active again instead.")
@as_system
@plain_text
def asset_deactivate(asset_tag, reactivate):
    """Deactivate an asset (it keeps its history; no new dispatches)."""
    from app.services import assets

    asset = assets.asset_tagged(asset_tag)
    assets.set_asset_active(asset, reactivate)
    click.echo(f"{asset.asset_tag} is {'active again' if reactivate else 'deactivated'}.")


# --- Detail sets -------------------------------------------------------------------------

detail_sets_cli = AppGroup("detail-sets", help="Which checklists an asset type gives and a make/model adds.")

_owner_options = [
    click.option("--type", "type_name", help="The asset type, by name."),
    click.option("--make", help="With --model: the make/model."),
    click.option("--model"),
]


def _with_owner(command):
    for option in reversed(_owner_options):
        command = option(command)
    return command


def _owner(type_name, make, model):
    from app.services import assets
    from app.services.errors import ValidationError

    if type_name and (make or model):
        raise ValidationError("Give either --type or --make with --model, not both.")
    if type_name:
        return assets.asset_type_named(type_name)
    if make and model:
        return assets.make_model_named(make, model)
    raise ValidationError("Say whose set: --type NAME, or --make MAKE --model MODEL.")


def _owner_name(owner) -> str:
    from app.models import AssetType

    return f"the asset type {owner.name}" if isinstance(owner, AssetType) else owner.display_name


@detail_sets_cli.command("show")
@_with_owner
@plain_text
def detail_set_show(type_name, make, model):
    """The configured checklists and what a new dispatch gets."""
    from app.models import AssetType
    from app.models.dispatching.build import detail_types
    from app.services import detail_sets
    from app.services.errors import DomainError

    try:
        owner = _owner(type_name, make, model)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    registry = detail_types()
    click.echo(f"Checklists of {_owner_name(owner)}:")
    rows = detail_sets.rows_of(owner)
    for row in rows:
        detail_type = registry.get(row.dispatch_detail_table_type)
        label = detail_type.label if detail_type else "no enabled plugin provides it"
        click.echo(f"  {row.dispatch_detail_table_type:<28} {label}{_inactive_note(row.is_active)}")
    if not rows:
        click.echo("  none")
    asset_type, make_model = (owner, None) if isinstance(owner, AssetType) else (owner.asset_type, owner)
    try:
        planned = ", ".join(t.label for t in detail_sets.planned_detail_types(asset_type, make_model)) or "none"
    except DomainError as error:
        planned = error.message
    click.echo(f"A new dispatch gets: {planned}")


@detail_sets_cli.command("add")
@click.argument("detail_type")
@_with_owner
@as_system
@plain_text
def detail_set_add(detail_type, type_name, make, model):
    """Add a checklist (detail type, by key or label) to a set."""
    from app.services import detail_sets

    owner = _owner(type_name, make, model)
    row = detail_sets.add_to_set(owner, detail_type)
    click.echo(f"{_owner_name(owner)} now gives {row.dispatch_detail_table_type}.")


@detail_sets_cli.command("remove")
@click.argument("detail_type")
@_with_owner
@as_system
@plain_text
def detail_set_remove(detail_type, type_name, make, model):
    """Remove a checklist from a set (dispatches already created keep theirs)."""
    from app.services import detail_sets

    owner = _owner(type_name, make, model)
    key = detail_sets.remove_from_set(owner, detail_type)
    click.echo(f"Removed {key} from {_owner_name(owner)}.")


def register(app: Flask) -> None:
    for group in (asset_types_cli, make_models_cli, locations_cli, assets_cli, detail_sets_cli, fleet_cli):
        app.cli.add_command(group)


# --- CSV import and export ---------------------------------------------------------------

fleet_cli = AppGroup("fleet", help="CSV templates, import (all or nothing) and export of the fleet.")

_KIND_CHOICE = click.Choice(["locations", "asset-types", "make-models", "assets"])


@fleet_cli.command("template")
@click.argument("kind", type=_KIND_CHOICE)
def fleet_template(kind):
    """Print the empty CSV template of KIND (its header row), e.g. > assets.csv."""
    from app.services import fleet_import

    click.echo(fleet_import.template(kind), nl=False)


@fleet_cli.command("export")
@click.option("--kind", required=True, type=_KIND_CHOICE)
def fleet_export(kind):
    """Print every record of a kind as CSV, in the import format."""
    from app.services import fleet_import

    click.echo(fleet_import.export(kind), nl=False)


@fleet_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=_KIND_CHOICE, help="The kind of a single FILE (otherwise read from its header row).")
@click.option("--dry-run", is_flag=True, help="Check every row and report every problem; write nothing.")
@as_system
@plain_text
def fleet_import_command(files, kind, dry_run):
    """Import CSV files (one per kind, in any order): all rows or none.

    Several files are imported together, so assets may refer to asset types, models and
    locations that are new in the other files.
    """
    from pathlib import Path

    from app.services import fleet_import

    if kind and len(files) > 1:
        raise click.UsageError("--kind names the kind of a single file; give several files without it.")
    uploads = []
    for path in files:
        data = Path(path).read_bytes()
        file_kind = kind or fleet_import.detect_kind(data)
        if file_kind is None:
            raise click.ClickException(
                f"{path}: its first row does not name the columns of any kind; pass --kind, or start from "
                "a template (flask fleet template KIND).")
        uploads.append(fleet_import.Upload(file_kind, Path(path).name, data))
    report = fleet_import.import_files(uploads, dry_run=dry_run)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if not report.ok:
        raise click.ClickException(report.summary())
    click.echo(report.summary())
