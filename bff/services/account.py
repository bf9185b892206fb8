"""The signed-in person: their profile and home address."""

from __future__ import annotations

from sqlalchemy import select

from bff.errors import not_found
from bff.tables import addresses, users
from commerce.platform.service import ServiceRuntime
from shopapi.schemas import UserPublic


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
