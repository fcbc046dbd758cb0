"""Reading a year's document and storing its plan.

Document shapes, tables, columns, spreadsheets, the deadline and unit parsers, the unit
directory and the store that writes a parsed plan to the database.
"""
