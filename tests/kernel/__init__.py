# A package, so that its conftest and modules do not take the top-level names
# "conftest" and "oracle" (tests/*.py import tests/conftest.py as "conftest").
