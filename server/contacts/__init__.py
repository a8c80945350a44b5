"""Call lists (호출자료): phone numbers, reading files, and the import.

- :mod:`server.contacts.phone_numbers` turns whatever a spreadsheet holds into a
  canonical Korean number (``01012345678``), one value at a time or a whole
  pandas Series at once.
- :mod:`server.contacts.reader` reads an uploaded .csv/.txt/.xlsx/.xls into a
  DataFrame of strings and finds the phone, name and address columns.
- :mod:`server.contacts.plan` builds an import plan (valid rows, rejects with
  reasons, counts); nothing is written.
- :mod:`server.contacts.importer` is the one way an import goes: check, plan,
  then store the plan through ``server.db`` in one transaction.
"""
