"""Load tests: Locust scenarios through the BFF, and the runner behind `agentshop load`.

The scenario modules (`read_heavy`, `checkout_flow`, `surge`) import Locust, which
patches the standard library with gevent; they are only ever loaded by the Locust
process. `runner`, `floor` and `report` do not import Locust and run in the
`agentshop load` process.
"""
