"""The HTTP API (``finpulse api``): the dashboard's reads, and a few of its writes, for other
systems, behind API keys with scopes. Reads go only through the query functions in
``store/queries``."""
