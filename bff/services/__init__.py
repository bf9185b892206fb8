"""The BFF's application layer: what the shop does for one signed-in person (the catalog,
the cart, quotes and checkouts, orders and refunds), as plain functions of the runtime
and the person's user id.

The `/v1` routes call them after authentication and rate limiting; the assistant's shop
(`bff.assistant_shop.InProcessShop`) calls the same functions directly, so the assistant
goes through the same ownership checks and rules without a second HTTP pass. They answer
the public API's models (`shopapi.schemas`) and refuse with `ApiError`.
"""
