"""Tests of the catalog, the views, the SQL sandbox."""
