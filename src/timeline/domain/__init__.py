"""The pure domain: events, value objects, EDTF dates and decisions.

Nothing here knows about SQL or HTTP; it imports only the standard library,
msgspec and the EDTF parser.
"""
