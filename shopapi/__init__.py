"""The shop's public API (the BFF's `/v1`): its models (`schemas`) and its one client
(`client`). Below the BFF and its users: it imports only pydantic, httpx and
`commerce.contracts`."""
