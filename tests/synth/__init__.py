"""Tests of the sample-data generator."""
