"""The signed-in person: their profile and home address."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from bff.errors import not_found
from bff.tables import addresses, users
from commerce.platform.service import ServiceRuntime
from shopapi.schemas import AddressUpdate, UserPublic


async def profile(runtime: ServiceRuntime, user: str) -> UserPublic:
    """Name, e-mail, phone and home address."""
    async with runtime.db.sessions() as session:
        row = (
            (
                await session.execute(
                    select(users.c.user_id, users.c.email, users.c.name, users.c.phone).where(
                        users.c.user_id == user
                    )
                )
            )
            .mappings()
            .first()
        )
        home = await session.scalar(select(addresses.c.address).where(addresses.c.user_id == user))
    if row is None:
        raise not_found("user")
    return UserPublic.model_validate({**row, "address": home})


async def set_address(runtime: ServiceRuntime, user: str, body: AddressUpdate) -> UserPublic:
    """Replace the person's home address (the body is validated already); the profile
    with the new address."""
    address = body.model_dump(mode="json", exclude_none=True)
    async with runtime.db.transaction() as session:
        known = await session.scalar(select(users.c.user_id).where(users.c.user_id == user))
        if known is None:
            raise not_found("user")
        await session.execute(
            insert(addresses)
            .values(user_id=user, address=address)
            .on_conflict_do_update(
                index_elements=[addresses.c.user_id],
                set_={"address": address, "updated_at": func.now()},
            )
        )
    return await profile(runtime, user)
