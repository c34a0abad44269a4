"""Conversion side: a fitted scikit-learn pipeline becomes a verified PMML model in the store."""
