"""Call-list (호출자료) import: phone number normalisation, file reading and import plans.

- :mod:`server.contacts.phone_numbers` turns whatever a spreadsheet holds into a
  canonical Korean number (``01012345678``), one value at a time or a whole
  pandas Series at once.
- :mod:`server.contacts.reader` reads an uploaded .csv/.txt/.xlsx/.xls into a
  DataFrame of strings and finds the phone, name and address columns.
- :mod:`server.contacts.importer` builds an import plan (valid rows, rejects with
  reasons, counts) and writes it into the ``contact`` table in one transaction.
"""
