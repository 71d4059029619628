"""The asset register: types, makes/models, locations and assets, with validated input."""

from __future__ import annotations


from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Asset, AssetStatus, AssetType, MajorLocation, MakeModel, Skill
from app.services.queries import Page
from app.services.errors import NotFound, Problems, ValidationError
from app.services.transaction import transaction
from app.services.text import same_text


def _required(value: str | None, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{what} is required.", field=field)
    return value


def _known_skill(name: str | None) -> str | None:
    """The skill's own spelling ("refrigeration" gives "Refrigeration"), or None for no skill."""
    name = (name or "").strip() or None
    if name is None:
        return None
    stored = db.session.scalar(select(Skill.name).where(same_text(Skill.name, name)))
    if stored is None:
        raise ValidationError(f"There is no skill {name!r}; add it first or leave this empty.", field="default_skill")
    return stored


def _unique(model: type, column, value, field: str, message: str) -> None:
    _unique_except(model, column, value, None, field, message)


def create_asset_type(name: str, description: str | None = None, default_skill: str | None = None) -> AssetType:
    problems = Problems()
    name = problems.check(_required, name, "name", "A name")
    if name:
        problems.check(_unique, AssetType, AssetType.name, name, "name", "An asset type named {!r} already exists.")
    default_skill = problems.check(_known_skill, default_skill)
    problems.raise_any()
    with transaction():
        asset_type = AssetType(name=name, description=(description or "").strip() or None, default_skill=default_skill)
        db.session.add(asset_type)
    return asset_type


def create_make_model(make: str, model: str, asset_type: AssetType) -> MakeModel:
    problems = Problems()
    make = problems.check(_required, make, "make", "A make")
    model = problems.check(_required, model, "model", "A model")
    if asset_type is None:
        problems.errors.append(ValidationError("Choose the asset type.", field="asset_type_id"))
    if make and model:
        problems.check(_unique_make_model, make, model, None)
    problems.raise_any()
    with transaction():
        make_model = MakeModel(make=make, model=model, asset_type=asset_type)
        db.session.add(make_model)
    return make_model


def create_location(
    name: str, address: str | None = None, latitude: float | None = None, longitude: float | None = None
) -> MajorLocation:
    problems = Problems()
    name = problems.check(_required, name, "name", "A name")
    problems.check(_check_coordinates, latitude, longitude)
    if name:
        problems.check(_unique, MajorLocation, MajorLocation.name, name, "name", "A location named {!r} already exists.")
    problems.raise_any()
    with transaction():
        location = MajorLocation(name=name, address=address, latitude=latitude, longitude=longitude)
        db.session.add(location)
    return location


def _checked_asset_fields(asset_tag: str, name: str, asset_type: AssetType, make_model: MakeModel | None,
                          odometer: float | None, problems: Problems) -> tuple[str | None, str | None]:
    """The trimmed tag and name; a missing one, a model of another type or a bad odometer goes to ``problems``."""
    asset_tag = problems.check(_required, asset_tag, "asset_tag", "An asset tag")
    name = problems.check(_required, name, "name", "A name")
    if asset_type is None:
        problems.errors.append(ValidationError("Choose the asset type.", field="asset_type_id"))
    elif make_model is not None and make_model.asset_type is not asset_type \
            and make_model.asset_type_id != asset_type.id:
        problems.errors.append(ValidationError(
            f"{make_model.display_name} is a {make_model.asset_type.name} model, not a {asset_type.name}; "
            "choose a model of the asset's type.",
            field="make_model_id",
        ))
    if odometer is not None and not 0 <= odometer < 1e9:  # NaN and infinity are refused too
        problems.errors.append(
            ValidationError("The odometer reading must be a number from 0 up to 1,000,000,000.", field="odometer"))
    return asset_tag, name


def create_asset(
    *,
    asset_tag: str,
    name: str,
    asset_type: AssetType,
    make_model: MakeModel | None = None,
    location: MajorLocation | None = None,
    odometer: float | None = None,
) -> Asset:
    problems = Problems()
    asset_tag, name = _checked_asset_fields(asset_tag, name, asset_type, make_model, odometer, problems)
    if asset_type is not None:
        # The pages offer only active records; the API and the command line name any by id or name.
        problems.check(_check_asset_refs, None, asset_type, make_model, location)
    if asset_tag:
        problems.check(_unique, Asset, Asset.asset_tag, asset_tag, "asset_tag", "An asset tagged {!r} already exists.")
    problems.raise_any()
    with transaction():
        asset = Asset(
            asset_tag=asset_tag,
            name=name,
            asset_type=asset_type,
            make_model=make_model,
            major_location=location,
            odometer=odometer,
            status=AssetStatus.IN_SERVICE.value,
        )
        db.session.add(asset)
    return asset


# --- Changes (admin) ---------------------------------------------------------------------
#
# An active record only refers to active records: a type cannot be deactivated while
# active models or assets are of it, and an asset cannot be reactivated onto an inactive
# type, model or location. Deactivated records stay in the database (dispatches and events
# refer to them) and are simply no longer offered for new work.


def _unique_except(model: type, column, value, own_id: int | None, field: str, message: str) -> None:
    """Refuse ``value`` when another row holds it in any case; ``message`` gets that row's spelling.

    Names are unique whatever their case (a unique index on lower() holds it in the database).
    """
    query = select(column).where(same_text(column, value)).limit(1)
    if own_id is not None:
        query = query.where(model.id != own_id)
    existing = db.session.scalar(query)
    if existing is not None:
        raise ValidationError(message.format(existing), field=field)


def _unique_make_model(make: str, model: str, own_id: int | None) -> None:
    query = select(MakeModel).where(same_text(MakeModel.make, make),
                                    same_text(MakeModel.model, model)).limit(1)
    if own_id is not None:
        query = query.where(MakeModel.id != own_id)
    existing = db.session.scalar(query)
    if existing is not None:
        raise ValidationError(f"{existing.make} {existing.model} already exists.", field="model")


def _count(model: type, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def _check_coordinates(latitude: float | None, longitude: float | None) -> None:
    # NaN fails both comparisons, so it is refused like any other out-of-range value.
    problems = Problems()
    if latitude is not None and not -90 <= latitude <= 90:
        problems.errors.append(ValidationError(f"Latitude {latitude} is outside -90 to 90.", field="latitude"))
    if longitude is not None and not -180 <= longitude <= 180:
        problems.errors.append(ValidationError(f"Longitude {longitude} is outside -180 to 180.", field="longitude"))
    problems.raise_any()


def update_asset_type(
    asset_type: AssetType, *, name: str, description: str | None = None, default_skill: str | None = None
) -> AssetType:
    problems = Problems()
    name = problems.check(_required, name, "name", "A name")
    if name:
        problems.check(_unique_except, AssetType, AssetType.name, name, asset_type.id, "name",
                       "An asset type named {!r} already exists.")
    default_skill = problems.check(_known_skill, default_skill)
    problems.raise_any()
    with transaction():
        asset_type.name = name
        asset_type.description = (description or "").strip() or None
        asset_type.default_skill = default_skill
    return asset_type


def set_asset_type_active(asset_type: AssetType, active: bool) -> None:
    if not active:
        models = _count(MakeModel, MakeModel.asset_type_id == asset_type.id, MakeModel.is_active.is_(True))
        assets = _count(Asset, Asset.asset_type_id == asset_type.id, Asset.is_active.is_(True))
        if models or assets:
            raise ValidationError(
                f"{asset_type.name} still has {assets} active asset(s) and {models} active make/model(s); "
                "deactivate them or give them another type first."
            )
    with transaction():
        asset_type.is_active = active


def update_make_model(make_model: MakeModel, *, make: str, model: str, asset_type: AssetType) -> MakeModel:
    problems = Problems()
    make = problems.check(_required, make, "make", "A make")
    model = problems.check(_required, model, "model", "A model")
    if make and model:
        problems.check(_unique_make_model, make, model, make_model.id)
    if asset_type is None:
        problems.errors.append(ValidationError("Choose the asset type.", field="asset_type_id"))
    elif asset_type.id != make_model.asset_type_id:
        used = _count(Asset, Asset.make_model_id == make_model.id)
        if not asset_type.is_active:
            problems.errors.append(ValidationError(
                f"The asset type {asset_type.name} is inactive; reactivate it first.", field="asset_type_id"))
        elif used:
            problems.errors.append(ValidationError(
                f"{used} asset(s) are {make_model.display_name}s, so its asset type cannot change; "
                "create a new make/model instead.",
                field="asset_type_id",
            ))
    problems.raise_any()
    with transaction():
        make_model.make = make
        make_model.model = model
        make_model.asset_type = asset_type
    return make_model


def set_make_model_active(make_model: MakeModel, active: bool) -> None:
    if active and not make_model.asset_type.is_active:
        raise ValidationError(
            f"{make_model.display_name} is a {make_model.asset_type.name}, which is inactive; reactivate the type first."
        )
    if not active:
        assets = _count(Asset, Asset.make_model_id == make_model.id, Asset.is_active.is_(True))
        if assets:
            raise ValidationError(
                f"{assets} active asset(s) are {make_model.display_name}s; deactivate them or change their model first."
            )
    with transaction():
        make_model.is_active = active


def update_location(
    location: MajorLocation,
    *,
    name: str,
    address: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> MajorLocation:
    problems = Problems()
    name = problems.check(_required, name, "name", "A name")
    problems.check(_check_coordinates, latitude, longitude)
    if name:
        problems.check(_unique_except, MajorLocation, MajorLocation.name, name, location.id, "name",
                       "A location named {!r} already exists.")
    problems.raise_any()
    with transaction():
        location.name = name
        location.address = (address or "").strip() or None
        location.latitude = latitude
        location.longitude = longitude
    return location


def set_location_active(location: MajorLocation, active: bool) -> None:
    if not active:
        assets = _count(Asset, Asset.major_location_id == location.id, Asset.is_active.is_(True))
        if assets:
            raise ValidationError(
                f"{assets} active asset(s) are based at {location.name}; move or deactivate them first."
            )
    with transaction():
        location.is_active = active


def _check_asset_refs(
    asset: Asset | None, asset_type: AssetType, make_model: MakeModel | None, location: MajorLocation | None
) -> None:
    """A changed (or, for ``asset=None``, any) reference must be to an active record."""
    if not asset_type.is_active and (asset is None or asset.asset_type_id != asset_type.id):
        raise ValidationError(f"The asset type {asset_type.name} is inactive.", field="asset_type_id")
    if make_model is not None and not make_model.is_active and (asset is None or asset.make_model_id != make_model.id):
        raise ValidationError(f"{make_model.display_name} is inactive.", field="make_model_id")
    if location is not None and not location.is_active and (asset is None or asset.major_location_id != location.id):
        raise ValidationError(f"The location {location.name} is inactive.", field="major_location_id")


def update_asset(
    asset: Asset,
    *,
    asset_tag: str,
    name: str,
    asset_type: AssetType,
    make_model: MakeModel | None = None,
    location: MajorLocation | None = None,
    odometer: float | None = None,
) -> Asset:
    """Change an asset's register entry. Its status (In/Out of Service) is not changed here."""
    problems = Problems()
    asset_tag, name = _checked_asset_fields(asset_tag, name, asset_type, make_model, odometer, problems)
    if asset_type is not None:
        problems.check(_check_asset_refs, asset, asset_type, make_model, location)
    if asset_tag:
        problems.check(_unique_except, Asset, Asset.asset_tag, asset_tag, asset.id, "asset_tag",
                       "An asset tagged {!r} already exists.")
    problems.raise_any()
    with transaction():
        asset.asset_tag = asset_tag
        asset.name = name
        asset.asset_type = asset_type
        asset.make_model = make_model
        asset.major_location = location
        asset.odometer = odometer
    return asset


def set_asset_active(asset: Asset, active: bool) -> None:
    if active:
        inactive = [
            what for what, record in (
                (f"its type {asset.asset_type.name}", asset.asset_type),
                (f"its model {asset.make_model.display_name}" if asset.make_model else "", asset.make_model),
                (f"its location {asset.major_location.name}" if asset.major_location else "", asset.major_location),
            )
            if record is not None and not record.is_active
        ]
        if inactive:
            raise ValidationError(f"{asset.asset_tag} cannot be reactivated: {', '.join(inactive)} is inactive.")
    with transaction():
        asset.is_active = active


# --- Reading (admin list) ----------------------------------------------------------------


def asset_page(
    *, q: str = "", asset_type_id: int | None = None, make_model_id: int | None = None,
    location_id: int | None = None, show: str = "active", page: int = 1, per_page: int = 50,
    clamp: bool = True,
) -> Page[Asset]:
    """One page of the register with type, model and location: two queries whatever the size.

    ``clamp`` shows the last page for a number past it (a page's pager); without it such a page
    is empty (the API says there is no such page).
    """
    query = select(Asset)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            func.lower(Asset.asset_tag).like(pattern, escape="\\") | func.lower(Asset.name).like(pattern, escape="\\")
        )
    if asset_type_id:
        query = query.where(Asset.asset_type_id == asset_type_id)
    if make_model_id:
        query = query.where(Asset.make_model_id == make_model_id)
    if location_id:
        query = query.where(Asset.major_location_id == location_id)
    if show in {"active", "inactive"}:
        query = query.where(Asset.is_active.is_(show == "active"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    if clamp:
        page = min(page, max(1, -(-total // per_page)))
    items = db.session.scalars(
        query.options(joinedload(Asset.asset_type), joinedload(Asset.make_model), joinedload(Asset.major_location))
        .order_by(Asset.asset_tag, Asset.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


# --- Lookups by name (command line, import) ----------------------------------------------
#
# Names are unique whatever their case, so a name typed in any case finds its record.


def _hint(column, what: str) -> str:
    some = db.session.scalars(select(column).order_by(column).limit(5)).all()
    return f" Known {what} include: {', '.join(some)}." if some else f" There are no {what} yet."


def asset_type_named(name: str) -> AssetType:
    name = (name or "").strip()
    found = db.session.scalar(select(AssetType).where(same_text(AssetType.name, name)))
    if found is None:
        raise NotFound(f"There is no asset type {name!r}.{_hint(AssetType.name, 'asset types')}", field="asset_type")
    return found


def make_model_named(make: str, model: str) -> MakeModel:
    make, model = (make or "").strip(), (model or "").strip()
    found = db.session.scalar(select(MakeModel).where(same_text(MakeModel.make, make),
                                                      same_text(MakeModel.model, model)))
    if found is None:
        raise NotFound(f"There is no make/model {make} {model!r}; add it first (make-models add).", field="model")
    return found


def location_named(name: str) -> MajorLocation:
    name = (name or "").strip()
    found = db.session.scalar(select(MajorLocation).where(same_text(MajorLocation.name, name)))
    if found is None:
        raise NotFound(f"There is no location {name!r}.{_hint(MajorLocation.name, 'locations')}", field="location")
    return found


def asset_tagged(tag: str) -> Asset:
    tag = (tag or "").strip()
    found = db.session.scalar(select(Asset).where(same_text(Asset.asset_tag, tag)))
    if found is None:
        raise NotFound(f"There is no asset tagged {tag!r}.{_hint(Asset.asset_tag, 'asset tags')}", field="asset_tag")
    return found


def location_with_address(address: str) -> MajorLocation:
    """The active location whose address is ``address`` (ignoring case and spacing).

    Addresses are not geocoded (that would need a service on the internet), so a typed
    address only finds the coordinates of a known location.
    """
    wanted = " ".join((address or "").split()).lower()
    if not wanted:
        raise ValidationError("Type the address of a known location.", field="home_address")
    for location in db.session.scalars(select(MajorLocation).where(MajorLocation.is_active.is_(True),
                                                                   MajorLocation.address.is_not(None))):
        if " ".join(location.address.split()).lower() == wanted:
            if location.latitude is None or location.longitude is None:
                raise ValidationError(f"{location.name} has that address but no coordinates; add them to the "
                                      "location, or type the latitude and longitude.", field="home_address")
            return location
    raise ValidationError(
        f"No known location has the address {address.strip()!r}. Addresses cannot be looked up on a map here: "
        "choose a location from the list, add the address as a location first, or type the latitude and longitude.",
        field="home_address",
    )
